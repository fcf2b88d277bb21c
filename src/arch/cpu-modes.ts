// The CPU state a guest starts in, for each mode microvmm offers, and the structures that state
// needs in guest RAM (GDT, page tables, stack): the "boot area", placed where the image is not.
//   real       16-bit, CS:IP = entry, like a boot sector or a BIOS jump
//   protected  flat 32-bit segments, no paging
//   paged      flat 32-bit segments, 32-bit paging, 4 MiB PSE pages identity-mapping 4 GiB
//   long       64-bit, 4-level paging, 2 MiB pages identity-mapping all of RAM
import { BadInputError } from "../errors";
import type { KvmRegs, KvmSegment, KvmSregs } from "../kvm/bindings";
import type { GuestMemory } from "../memory/guest-memory";
import { BOOT_STACK_SIZE, LOW_4G, placeHighest, REAL_MODE_LIMIT, type Range } from "./layout";
import * as X from "./x86";

export const CPU_MODES = ["real", "protected", "paged", "long"] as const;
export type CpuMode = (typeof CPU_MODES)[number];

// GDT selectors (index << 3, TI=0, RPL=0).
export const SEL_CODE32 = 0x08;
export const SEL_DATA = 0x10;
export const SEL_CODE64 = 0x18;
const GDT_ENTRIES = 4; // null, code32, data, code64

/** What the VMM put in guest RAM for itself. All addresses are guest-physical. */
export interface BootArea {
  base: number;
  size: number;
  /** The GDT (one page). */
  gdt: number;
  /** A page the VMM writes replies into (hypercall results); never part of the image. */
  scratch: number;
  /** First page-table page (PML4 in long mode, the page directory in paged mode). */
  pageTables: number;
  pageTablePages: number;
  /** Initial stack pointer (the stack is the top BOOT_STACK_SIZE bytes of the area). */
  stackTop: number;
}

function pageTablePages(mode: CpuMode, memory: GuestMemory): number {
  switch (mode) {
    case "real":
    case "protected":
      return 0;
    case "paged":
      return 1; // one page directory: 1024 × 4 MiB = 4 GiB
    case "long":
      // PML4 + PDPT + one page directory (512 × 2 MiB) per GiB of address space up to RAM's end.
      return 2 + Math.ceil(memory.end / X.PAGE_1G);
  }
}

/** Chooses where the boot area goes: the highest free place in reach of the mode. */
export function planBootArea(mode: CpuMode, memory: GuestMemory, image: readonly Range[]): BootArea {
  const tables = pageTablePages(mode, memory);
  const size = 2 * X.PAGE_SIZE + tables * X.PAGE_SIZE + BOOT_STACK_SIZE;
  const limit = mode === "real" ? REAL_MODE_LIMIT : LOW_4G;
  const base = placeHighest(memory.regions, image, size, X.PAGE_SIZE, limit);
  if (base === undefined) {
    const where = mode === "real" ? " below 1 MiB" : " below 4 GiB";
    throw new BadInputError(`guest RAM too small: no room for the VMM's ${size >> 10} KiB of boot structures (GDT, page tables, stack)${where} beside the image — raise --memory`);
  }
  return {
    base, size,
    gdt: base,
    scratch: base + X.PAGE_SIZE,
    pageTables: base + 2 * X.PAGE_SIZE,
    pageTablePages: tables,
    stackTop: base + size,
  };
}

const NULL_SEGMENT: KvmSegment = {
  base: 0n, limit: 0, selector: 0, type: 0, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1, padding: 0,
};

function flat(selector: number, type: number, bits: 16 | 32 | 64): KvmSegment {
  return {
    base: 0n, limit: 0xffffffff, selector, type, present: 1, dpl: 0,
    db: bits === 32 ? 1 : 0, s: 1, l: bits === 64 ? 1 : 0, g: 1, avl: 0, unusable: 0, padding: 0,
  };
}

export const CODE32 = flat(SEL_CODE32, X.SEG_TYPE_CODE_XR_ACCESSED, 32);
export const DATA = flat(SEL_DATA, X.SEG_TYPE_DATA_RW_ACCESSED, 32);
export const CODE64 = flat(SEL_CODE64, X.SEG_TYPE_CODE_XR_ACCESSED, 64);

/** A segment as an 8-byte GDT descriptor (SDM 3.4.5). */
export function gdtDescriptor(s: KvmSegment): bigint {
  const limit = BigInt(s.g ? s.limit >>> 12 : s.limit);
  const base = s.base;
  return (limit & 0xffffn)
    | ((base & 0xffffffn) << 16n)
    | (BigInt(s.type & 0xf) << 40n)
    | (BigInt(s.s) << 44n)
    | (BigInt(s.dpl & 3) << 45n)
    | (BigInt(s.present) << 47n)
    | (((limit >> 16n) & 0xfn) << 48n)
    | (BigInt(s.avl) << 52n)
    | (BigInt(s.l) << 53n)
    | (BigInt(s.db) << 54n)
    | (BigInt(s.g) << 55n)
    | (((base >> 24n) & 0xffn) << 56n);
}

/** Writes the GDT and page tables the mode needs into the boot area (zeroed first). */
export function writeBootStructures(mode: CpuMode, memory: GuestMemory, area: BootArea): void {
  // Built in a local buffer and written with one checked copy.
  const bytes = new Uint8Array(area.size);
  const dv = new DataView(bytes.buffer);
  const at = (gpa: number) => gpa - area.base;
  [NULL_SEGMENT, CODE32, DATA, CODE64].forEach((seg, i) => {
    if (i > 0) dv.setBigUint64(at(area.gdt) + i * 8, gdtDescriptor(seg), true);
  });

  // Entries are written as two 32-bit halves with plain number arithmetic (addresses < 2^52).
  const entry = (off: number, addr: number, flags: number) => {
    dv.setUint32(off, (addr % 2 ** 32) + flags, true);
    dv.setUint32(off + 4, Math.floor(addr / 2 ** 32), true);
  };
  const leaf = Number(X.PTE_PRESENT | X.PTE_WRITABLE | X.PTE_PAGE_SIZE);
  const table = Number(X.PTE_PRESENT | X.PTE_WRITABLE);
  if (mode === "paged") {
    // 32-bit paging with CR4.PSE: each 4-byte PDE maps 4 MiB (SDM 4.3, table 4-4).
    for (let i = 0; i < 1024; i++) dv.setUint32(at(area.pageTables) + i * 4, i * X.PAGE_4M + leaf, true);
  } else if (mode === "long") {
    // PML4[0] → PDPT; PDPT[g] → page directory g; each PDE maps 2 MiB (SDM 4.5).
    const pml4 = area.pageTables;
    const pdpt = pml4 + X.PAGE_SIZE;
    const pds = pdpt + X.PAGE_SIZE;
    entry(at(pml4), pdpt, table);
    for (let g = 0; g < area.pageTablePages - 2; g++) {
      const pd = pds + g * X.PAGE_SIZE;
      entry(at(pdpt) + g * 8, pd, table);
      for (let i = 0; i < 512; i++) entry(at(pd) + i * 8, g * X.PAGE_1G + i * X.PAGE_2M, leaf);
    }
  }
  memory.write(area.base, bytes, "boot area");
}

/** The special registers for the mode, starting from the vCPU's reset state. */
export function initialSregs(mode: CpuMode, reset: KvmSregs, area: BootArea, entry: number): KvmSregs {
  const s: KvmSregs = structuredClone(reset);
  if (mode === "real") {
    if (entry >= REAL_MODE_LIMIT) throw new BadInputError(`entry 0x${entry.toString(16)} is out of reach of real mode (below 0x100000)`);
    // CS:IP with IP < 64 KiB; data segments at 0; SS:SP at the top of the boot area.
    const cs = entry < 0x10000 ? 0 : (entry >>> 4) & 0xf000;
    s.cs = { ...s.cs, selector: cs, base: BigInt(cs << 4) };
    for (const r of ["ds", "es", "fs", "gs"] as const) s[r] = { ...s[r], selector: 0, base: 0n };
    const ss = area.base >>> 4;
    s.ss = { ...s.ss, selector: ss, base: BigInt(ss << 4) };
    return s;
  }
  s.gdt = { base: BigInt(area.gdt), limit: GDT_ENTRIES * 8 - 1, padding: [0, 0, 0] };
  // No IDT until the guest loads one: an exception before that is a triple fault, which the VMM
  // reports with the registers, instead of a jump through whatever sits at address 0.
  s.idt = { base: 0n, limit: 0, padding: [0, 0, 0] };
  s.cs = mode === "long" ? CODE64 : CODE32;
  s.ds = s.es = s.fs = s.gs = s.ss = DATA;
  // x87/SSE usable from the first instruction (compilers emit SSE in ordinary code).
  s.cr0 = X.CR0_PE | X.CR0_MP | X.CR0_ET | X.CR0_NE;
  s.cr4 = X.CR4_OSFXSR | X.CR4_OSXMMEXCPT;
  if (mode === "paged") {
    s.cr3 = BigInt(area.pageTables);
    s.cr4 |= X.CR4_PSE;
    s.cr0 |= X.CR0_PG;
  } else if (mode === "long") {
    s.cr3 = BigInt(area.pageTables);
    s.cr4 |= X.CR4_PAE;
    s.cr0 |= X.CR0_PG;
    s.efer |= X.EFER_LME | X.EFER_LMA;
  }
  return s;
}

export function initialRegs(mode: CpuMode, area: BootArea, entry: number): KvmRegs {
  const csBase = mode === "real" && entry >= 0x10000 ? ((entry >>> 4) & 0xf000) << 4 : 0;
  return {
    rax: 0n, rbx: 0n, rcx: 0n, rdx: 0n, rsi: 0n, rdi: 0n,
    rsp: BigInt(mode === "real" ? area.size : area.stackTop), rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: BigInt(entry - csBase), rflags: X.RFLAGS_RESERVED_1,
  };
}
