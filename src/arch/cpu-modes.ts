// The CPU state a guest starts in, for each mode microvmm offers, and the structures that state
// needs in guest RAM (GDT, page tables, stack): the "boot area", placed where the image is not.
//   real       16-bit, CS:IP = entry, like a boot sector or a BIOS jump
//   protected  flat 32-bit segments, no paging
//   paged      flat 32-bit segments, 32-bit paging, 4 MiB PSE pages identity-mapping 4 GiB
//   long       64-bit, 4-level paging, 2 MiB pages identity-mapping all of RAM
import { BadInputError } from "../errors";
import type { KvmRegs, KvmSregs } from "../kvm/bindings";
import type { GuestMemory } from "../memory/guest-memory";
import {
  bootRegs, flatCode, flatData, gdtBytes, longModeIdentityTables, longModeTablePages, pagedIdentityDirectory, protectedSregs,
} from "./boot-state";
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
      // PML4, PDPTs and one page directory (512 × 2 MiB) per GiB of address space up to RAM's end.
      return longModeTablePages(memory.end);
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

export const CODE32 = flatCode(SEL_CODE32, 32);
export const DATA = flatData(SEL_DATA);
export const CODE64 = flatCode(SEL_CODE64, 64);

/** Writes the GDT and page tables the mode needs into the boot area (zeroed first). */
export function writeBootStructures(mode: CpuMode, memory: GuestMemory, area: BootArea): void {
  // Built in a local buffer and written with one checked copy.
  const bytes = new Uint8Array(area.size);
  bytes.set(gdtBytes([CODE32, DATA, CODE64]), area.gdt - area.base);
  if (mode === "paged") bytes.set(pagedIdentityDirectory(), area.pageTables - area.base);
  else if (mode === "long") bytes.set(longModeIdentityTables(area.pageTables, memory.end), area.pageTables - area.base);
  memory.write(area.base, bytes, "boot area");
}

/** The special registers for the mode, starting from the vCPU's reset state. */
export function initialSregs(mode: CpuMode, reset: KvmSregs, area: BootArea, entry: number): KvmSregs {
  const s: KvmSregs = structuredClone(reset);
  if (mode === "real") {
    // PlainBoot.place refuses such an entry before any VM exists; this guards other callers.
    if (entry >= REAL_MODE_LIMIT) throw new BadInputError(`entry 0x${entry.toString(16)} is out of reach of real mode (below 0x100000)`);
    // CS:IP with IP < 64 KiB; data segments at 0; SS:SP at the top of the boot area.
    const cs = entry < 0x10000 ? 0 : (entry >>> 4) & 0xf000;
    s.cs = { ...s.cs, selector: cs, base: BigInt(cs << 4) };
    for (const r of ["ds", "es", "fs", "gs"] as const) s[r] = { ...s[r], selector: 0, base: 0n };
    const ss = area.base >>> 4;
    s.ss = { ...s.ss, selector: ss, base: BigInt(ss << 4) };
    return s;
  }
  // x87/SSE usable from the first instruction (compilers emit SSE in ordinary code).
  const cr0 = X.CR0_PE | X.CR0_MP | X.CR0_ET | X.CR0_NE;
  const cr4 = X.CR4_OSFXSR | X.CR4_OSXMMEXCPT;
  const gdt = { gdtBase: area.gdt, gdtLimit: GDT_ENTRIES * 8 - 1, data: DATA };
  if (mode === "protected") return protectedSregs(reset, { ...gdt, code: CODE32, cr0, efer: reset.efer });
  if (mode === "paged") return protectedSregs(reset, { ...gdt, code: CODE32, cr0: cr0 | X.CR0_PG, cr3: BigInt(area.pageTables), cr4: cr4 | X.CR4_PSE, efer: reset.efer });
  return protectedSregs(reset, {
    ...gdt, code: CODE64, cr0: cr0 | X.CR0_PG, cr3: BigInt(area.pageTables), cr4: cr4 | X.CR4_PAE, efer: reset.efer | X.EFER_LME | X.EFER_LMA,
  });
}

export function initialRegs(mode: CpuMode, area: BootArea, entry: number): KvmRegs {
  const csBase = mode === "real" && entry >= 0x10000 ? ((entry >>> 4) & 0xf000) << 4 : 0;
  return bootRegs({ rsp: BigInt(mode === "real" ? area.size : area.stackTop), rip: BigInt(entry - csBase) });
}
