// The vCPU state as text, one register a line (`rax=0x000000000000002a`), for crash reports and --regs.
import { hex } from "../binary/hex";
import type { KvmRegs, KvmSregs } from "../kvm/bindings";

const GPRS = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"] as const;
const SEGMENTS = ["cs", "ds", "es", "fs", "gs", "ss"] as const;
const CONTROL = ["cr0", "cr2", "cr3", "cr4", "efer"] as const;

const hex64 = (v: bigint) => hex(v, 16);

export function formatRegisters(regs: KvmRegs, sregs: KvmSregs): string[] {
  const lines: string[] = [];
  for (const r of GPRS) lines.push(`${r}=${hex64(regs[r])}`);
  for (const s of SEGMENTS) {
    const seg = sregs[s];
    lines.push(`${s}=0x${seg.selector.toString(16).padStart(4, "0")} base=${hex64(seg.base)} limit=0x${seg.limit.toString(16)}`);
  }
  for (const c of CONTROL) lines.push(`${c}=${hex64(sregs[c])}`);
  lines.push(`gdt=${hex64(sregs.gdt.base)} limit=0x${sregs.gdt.limit.toString(16)}`);
  lines.push(`idt=${hex64(sregs.idt.base)} limit=0x${sregs.idt.limit.toString(16)}`);
  return lines;
}
