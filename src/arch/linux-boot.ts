// The CPU state for Linux's 64-bit boot protocol: long mode, paging on with the first 4 GiB
// identity-mapped (kernel, zero page, command line and initrd all sit there), a GDT whose
// selectors are the kernel's __BOOT_CS (0x10) and __BOOT_DS (0x18), RSI = the zero page,
// interrupts off, RIP = the kernel's 64-bit entry.
import type { KvmRegs, KvmSregs } from "../kvm/bindings";
import type { GuestMemory } from "../memory/guest-memory";
import { CODE64, DATA, gdtDescriptor } from "./cpu-modes";
import * as X from "./x86";
import { LINUX_GDT, LINUX_PAGE_TABLES, LINUX_STACK_TOP, ZERO_PAGE } from "./zero-page";

export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
const IDENTITY_GIB = 4;

/** Writes the boot GDT and page tables (PML4, PDPT, four page directories of 2 MiB pages). */
export function writeLinuxBootTables(memory: GuestMemory): void {
  const gdt = new Uint8Array(4 * 8);
  const g = new DataView(gdt.buffer);
  g.setBigUint64(BOOT_CS, gdtDescriptor({ ...CODE64, selector: BOOT_CS }), true);
  g.setBigUint64(BOOT_DS, gdtDescriptor({ ...DATA, selector: BOOT_DS }), true);
  memory.write(LINUX_GDT, gdt, "boot GDT");

  const tables = new Uint8Array((2 + IDENTITY_GIB) * X.PAGE_SIZE);
  const t = new DataView(tables.buffer);
  const pdpt = LINUX_PAGE_TABLES + X.PAGE_SIZE;
  const table = Number(X.PTE_PRESENT | X.PTE_WRITABLE);
  const leaf = Number(X.PTE_PRESENT | X.PTE_WRITABLE | X.PTE_PAGE_SIZE);
  t.setUint32(0, pdpt + table, true);
  for (let gib = 0; gib < IDENTITY_GIB; gib++) {
    const pd = pdpt + (gib + 1) * X.PAGE_SIZE;
    t.setUint32(X.PAGE_SIZE + gib * 8, pd + table, true);
    for (let i = 0; i < 512; i++) {
      const at = pd - LINUX_PAGE_TABLES + i * 8;
      const addr = gib * X.PAGE_1G + i * X.PAGE_2M;
      t.setUint32(at, (addr % 2 ** 32) + leaf, true);
      t.setUint32(at + 4, Math.floor(addr / 2 ** 32), true);
    }
  }
  memory.write(LINUX_PAGE_TABLES, tables, "boot page tables");
}

export function linuxSregs(reset: KvmSregs): KvmSregs {
  const s: KvmSregs = structuredClone(reset);
  s.gdt = { base: BigInt(LINUX_GDT), limit: 4 * 8 - 1, padding: [0, 0, 0] };
  s.idt = { base: 0n, limit: 0, padding: [0, 0, 0] };
  s.cs = { ...CODE64, selector: BOOT_CS };
  s.ds = s.es = s.fs = s.gs = s.ss = { ...DATA, selector: BOOT_DS };
  s.cr0 = X.CR0_PE | X.CR0_MP | X.CR0_ET | X.CR0_NE | X.CR0_PG;
  s.cr3 = BigInt(LINUX_PAGE_TABLES);
  s.cr4 = X.CR4_PAE;
  s.efer |= X.EFER_LME | X.EFER_LMA;
  return s;
}

export function linuxRegs(entry: number): KvmRegs {
  return {
    rax: 0n, rbx: 0n, rcx: 0n, rdx: 0n, rsi: BigInt(ZERO_PAGE), rdi: 0n, rsp: BigInt(LINUX_STACK_TOP), rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: BigInt(entry), rflags: X.RFLAGS_RESERVED_1,
  };
}
