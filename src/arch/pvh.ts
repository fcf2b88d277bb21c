// PVH boot (xen/include/public/arch-x86/hvm/start_info.h): the kernel is entered at its
// PHYS32_ENTRY in 32-bit protected mode with paging off, EBX pointing at struct hvm_start_info,
// which gives the command line, the memory map, the ACPI RSDP and the initrd as module 0.
import type { KvmRegs, KvmSregs } from "../kvm/bindings";
import type { GuestMemory } from "../memory/guest-memory";
import { CODE32, DATA, gdtDescriptor, SEL_CODE32, SEL_DATA } from "./cpu-modes";
import type { MemMapEntry } from "./memmap";
import * as X from "./x86";
import { CMDLINE_ADDR, LINUX_GDT, LINUX_STACK_TOP, type Initrd } from "./zero-page";

export const HVM_START_MAGIC = 0x336ec578;
export const START_INFO = 0x6000; // struct hvm_start_info (56 bytes)
const MODLIST = START_INFO + 0x40; // one struct hvm_modlist_entry (32 bytes)
const MEMMAP = START_INFO + 0x80; // struct hvm_memmap_table_entry[] (24 bytes each)
const MEMMAP_MAX = (0x1000 - 0x80) / 24;
/** TSS type 11: a busy 32-bit TSS, which the PVH entry state asks TR to be. */
const TSS_BUSY_32 = 11;

export function writeStartInfo(memory: GuestMemory, cmdline: string, initrd: Initrd | undefined, memmap: readonly MemMapEntry[], rsdp: number): void {
  if (memmap.length > MEMMAP_MAX) throw new Error(`memory map has ${memmap.length} entries, the start info page holds ${MEMMAP_MAX}`);
  const page = new Uint8Array(0x1000);
  const dv = new DataView(page.buffer);
  dv.setUint32(0, HVM_START_MAGIC, true);
  dv.setUint32(4, 1, true); // version 1: has the memory map
  dv.setUint32(12, initrd === undefined ? 0 : 1, true); // nr_modules
  dv.setBigUint64(16, BigInt(initrd === undefined ? 0 : MODLIST), true);
  dv.setBigUint64(24, BigInt(CMDLINE_ADDR), true);
  dv.setBigUint64(32, BigInt(rsdp), true);
  dv.setBigUint64(40, BigInt(MEMMAP), true);
  dv.setUint32(48, memmap.length, true);
  if (initrd !== undefined) {
    dv.setBigUint64(MODLIST - START_INFO, BigInt(initrd.gpa), true);
    dv.setBigUint64(MODLIST - START_INFO + 8, BigInt(initrd.size), true);
  }
  memmap.forEach((e, i) => {
    const at = MEMMAP - START_INFO + i * 24;
    dv.setBigUint64(at, BigInt(e.base), true);
    dv.setBigUint64(at + 8, BigInt(e.length), true);
    dv.setUint32(at + 16, e.type, true);
  });
  memory.write(START_INFO, page, "PVH start info");
  memory.write(CMDLINE_ADDR, new TextEncoder().encode(cmdline + "\0"), "kernel command line");
  const gdt = new Uint8Array(3 * 8);
  const g = new DataView(gdt.buffer);
  g.setBigUint64(SEL_CODE32, gdtDescriptor(CODE32), true);
  g.setBigUint64(SEL_DATA, gdtDescriptor(DATA), true);
  memory.write(LINUX_GDT, gdt, "PVH GDT");
}

export function pvhSregs(reset: KvmSregs): KvmSregs {
  const s: KvmSregs = structuredClone(reset);
  s.gdt = { base: BigInt(LINUX_GDT), limit: 3 * 8 - 1, padding: [0, 0, 0] };
  s.idt = { base: 0n, limit: 0, padding: [0, 0, 0] };
  s.cs = CODE32;
  s.ds = s.es = s.fs = s.gs = s.ss = DATA;
  s.tr = { ...s.tr, base: 0n, limit: 0x67, type: TSS_BUSY_32, present: 1, s: 0, unusable: 0 };
  s.cr0 = X.CR0_PE | X.CR0_ET;
  s.cr3 = 0n;
  s.cr4 = 0n;
  s.efer = 0n;
  return s;
}

export function pvhRegs(entry: number): KvmRegs {
  return {
    rax: 0n, rbx: BigInt(START_INFO), rcx: 0n, rdx: 0n, rsi: 0n, rdi: 0n, rsp: BigInt(LINUX_STACK_TOP), rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: BigInt(entry), rflags: X.RFLAGS_RESERVED_1,
  };
}
