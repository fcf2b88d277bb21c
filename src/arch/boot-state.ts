// The pieces every boot protocol builds its entry state from: flat segments and a GDT holding
// them, identity-mapping page tables, and the registers (Intel SDM vol. 3A ch. 3-4). Each boot
// protocol (plain CPU modes, Linux's 64-bit protocol, PVH, multiboot) picks its selectors, where
// the tables go and what the registers hold; the encoding lives here once.
import type { KvmRegs, KvmSegment, KvmSregs } from "../kvm/bindings";
import * as X from "./x86";

export const NULL_SEGMENT: KvmSegment = {
  base: 0n, limit: 0, selector: 0, type: 0, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1, padding: 0,
};

/** A flat (base 0, 4 GiB, ring 0) code or data segment of the given width at `selector`. */
export function flatSegment(selector: number, type: number, bits: 16 | 32 | 64): KvmSegment {
  return {
    base: 0n, limit: 0xffffffff, selector, type, present: 1, dpl: 0,
    db: bits === 32 ? 1 : 0, s: 1, l: bits === 64 ? 1 : 0, g: 1, avl: 0, unusable: 0, padding: 0,
  };
}

export const flatCode = (selector: number, bits: 32 | 64) => flatSegment(selector, X.SEG_TYPE_CODE_XR_ACCESSED, bits);
export const flatData = (selector: number) => flatSegment(selector, X.SEG_TYPE_DATA_RW_ACCESSED, 32);

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

/** A GDT holding `segments`, each at its selector; entry 0 (and any gap) is the null descriptor. */
export function gdtBytes(segments: readonly KvmSegment[]): Uint8Array {
  const entries = Math.max(1, ...segments.map((s) => (s.selector >> 3) + 1));
  const gdt = new Uint8Array(entries * 8);
  const dv = new DataView(gdt.buffer);
  for (const s of segments) dv.setBigUint64(s.selector & ~7, gdtDescriptor(s), true);
  return gdt;
}

/** Page-table pages that identity-map [0, end) with 2 MiB pages: PML4, a PDPT per 512 GiB, a page directory per GiB. */
export function longModeTablePages(end: number): number {
  const gib = Math.max(1, Math.ceil(end / X.PAGE_1G));
  return 1 + Math.ceil(gib / 512) + gib;
}

/**
 * 4-level page tables, to be placed at `base`, identity-mapping [0, end) with 2 MiB pages
 * (SDM 4.5): PML4[p] → PDPT p; PDPT entries → one page directory per GiB. Entries are written as
 * two 32-bit halves with plain number arithmetic (addresses stay below 2^52), into a Uint32Array
 * in one loop: this runs once per VM before anything is compiled, where each call costs.
 */
export function longModeIdentityTables(base: number, end: number): Uint8Array {
  const gib = Math.max(1, Math.ceil(end / X.PAGE_1G));
  const pdpts = Math.ceil(gib / 512);
  const words = new Uint32Array(longModeTablePages(end) * (X.PAGE_SIZE / 4));
  const table = Number(X.PTE_PRESENT | X.PTE_WRITABLE);
  const leaf = Number(X.PTE_PRESENT | X.PTE_WRITABLE | X.PTE_PAGE_SIZE);
  const WORDS = X.PAGE_SIZE / 4;
  const pdptAt = (p: number) => (1 + p) * WORDS;
  const pdAt = (g: number) => (1 + pdpts + g) * WORDS;
  const entry = (at: number, addr: number, flags: number) => {
    words[at] = (addr % 2 ** 32) + flags;
    words[at + 1] = Math.floor(addr / 2 ** 32);
  };
  for (let p = 0; p < pdpts; p++) entry(p * 2, base + pdptAt(p) * 4, table);
  for (let g = 0; g < gib; g++) {
    entry(pdptAt(Math.floor(g / 512)) + (g % 512) * 2, base + pdAt(g) * 4, table);
    // The 512 leaves of GiB g: low halves g·1 GiB mod 4 GiB + i·2 MiB, high halves g / 4.
    const at = pdAt(g);
    const low = (g % 4) * X.PAGE_1G + leaf;
    const high = Math.floor(g / 4);
    for (let i = 0; i < 512; i++) {
      words[at + 2 * i] = low + i * X.PAGE_2M;
      words[at + 2 * i + 1] = high;
    }
  }
  return new Uint8Array(words.buffer);
}

/** A 32-bit page directory with CR4.PSE 4 MiB pages identity-mapping all 4 GiB (SDM 4.3, table 4-4). */
export function pagedIdentityDirectory(): Uint8Array {
  const bytes = new Uint8Array(X.PAGE_SIZE);
  const dv = new DataView(bytes.buffer);
  const leaf = Number(X.PTE_PRESENT | X.PTE_WRITABLE | X.PTE_PAGE_SIZE);
  for (let i = 0; i < 1024; i++) dv.setUint32(i * 4, i * X.PAGE_4M + leaf, true);
  return bytes;
}

/** The general registers at entry: zero but for what the protocol passes; RFLAGS with only its fixed bit (IF off). */
export function bootRegs(set: Partial<KvmRegs>): KvmRegs {
  return {
    rax: 0n, rbx: 0n, rcx: 0n, rdx: 0n, rsi: 0n, rdi: 0n, rsp: 0n, rbp: 0n,
    r8: 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
    rip: 0n, rflags: X.RFLAGS_RESERVED_1, ...set,
  };
}

export interface ProtectedState {
  gdtBase: number;
  gdtLimit: number;
  code: KvmSegment;
  data: KvmSegment;
  cr0: bigint;
  cr3?: bigint;
  cr4?: bigint;
  efer?: bigint;
}

/**
 * Special registers for a protected-mode or long-mode entry, from the vCPU's reset state: the GDT,
 * CS and every data segment, the control registers. No IDT until the guest loads one: an
 * exception before that is a triple fault, which microvmm reports with the registers.
 */
export function protectedSregs(reset: KvmSregs, p: ProtectedState): KvmSregs {
  const s: KvmSregs = structuredClone(reset);
  s.gdt = { base: BigInt(p.gdtBase), limit: p.gdtLimit, padding: [0, 0, 0] };
  s.idt = { base: 0n, limit: 0, padding: [0, 0, 0] };
  s.cs = p.code;
  s.ds = s.es = s.fs = s.gs = s.ss = p.data;
  s.cr0 = p.cr0;
  s.cr3 = p.cr3 ?? 0n;
  s.cr4 = p.cr4 ?? 0n;
  s.efer = p.efer ?? 0n;
  return s;
}
