// Breakpoints and watchpoints on the x86 debug registers (Intel SDM vol. 3, 18.2; AMD APM vol. 2,
// 13.1): DR0-DR3 hold four linear addresses, DR7 says for each what it watches (execution, writes,
// reads or writes) and how many bytes (1, 2, 4 or 8, aligned), DR6 says which one hit.
//
// Why software breakpoints (Z0) go here first: on KVMs that do not intercept INT3 the guest would
// take our INT3 through its own IDT, and an INT3 written before paging is on sits at an address
// that means something else once it is; a debug register breakpoint needs no write to guest
// memory and hits in every mode. Only when all four are taken does a Z0 become an INT3 written
// into guest memory (and only where KVM intercepts INT3: see int3Intercepted in kvm-target.ts).
// This file is the bookkeeping only: pure, no KVM.

/** The Z packet types: 0 software breakpoint, 1 hardware breakpoint, 2 write, 3 read, 4 access watchpoint. */
export type BreakKind = "sw" | "hw" | "write" | "read" | "access";
export const BREAK_KINDS: readonly BreakKind[] = ["sw", "hw", "write", "read", "access"];

export const DEBUG_REGISTERS = 4;

// DR7 (SDM 18.2.4): G0-G3 (global enable, bit 2n + 1), RW (bits 16 + 4n: 00 execute, 01 write,
// 11 read or write), LEN (bits 18 + 4n: 00 1 byte, 01 2, 11 4, 10 8). Bit 10 reads as 1; GE (bit
// 9) asks for exact data breakpoints, as QEMU sets it.
const DR7_FIXED = 0x400n;
const DR7_GE = 0x200n;
const RW_EXECUTE = 0n;
const RW_WRITE = 1n;
const RW_ACCESS = 3n;
const LEN_CODE: Record<number, bigint> = { 1: 0n, 2: 1n, 4: 3n, 8: 2n };
/** DR6 bits 0-3: which of DR0-DR3 matched. Bit 14 (BS): a single step. */
export const DR6_HIT_MASK = 0xfn;
export const DR6_BS = 1n << 14n;

interface Slot {
  kind: BreakKind;
  /** The range gdb asked for (a watchpoint may take several slots). */
  addr: bigint;
  length: number;
  /** This slot's aligned piece. */
  at: bigint;
  size: number;
}

export type InsertResult = "ok" | "no-room" | "bad";

/** Splits [addr, addr + length) into aligned pieces of 8, 4, 2 or 1 bytes, as debug registers watch. */
export function alignedPieces(addr: bigint, length: number): Array<{ at: bigint; size: number }> {
  const out: Array<{ at: bigint; size: number }> = [];
  let at = addr;
  let left = length;
  while (left > 0) {
    let size = 8;
    while (size > 1 && (at % BigInt(size) !== 0n || size > left)) size >>= 1;
    out.push({ at, size });
    at += BigInt(size);
    left -= size;
  }
  return out;
}

export class DebugRegisterFile {
  private readonly slots: Array<Slot | undefined> = new Array(DEBUG_REGISTERS).fill(undefined);

  /** Places a breakpoint (one slot) or a watchpoint (as many aligned pieces as it needs). */
  insert(kind: BreakKind, addr: bigint, length: number): InsertResult {
    if (addr < 0n || addr >= 1n << 64n) return "bad";
    if (this.find(kind, addr, length).length > 0) return "ok"; // gdb may insert twice: once is enough
    const pieces = kind === "sw" || kind === "hw" ? [{ at: addr, size: 1 }] : alignedPieces(addr, length);
    if (pieces.length === 0 || length > 64) return "bad";
    const free = this.slots.flatMap((s, i) => (s === undefined ? [i] : []));
    if (pieces.length > free.length) return "no-room";
    pieces.forEach((p, i) => { this.slots[free[i]!] = { kind, addr, length, at: p.at, size: p.size }; });
    return "ok";
  }

  /** Removes what insert placed; false if there was none. */
  remove(kind: BreakKind, addr: bigint, length: number): boolean {
    const found = this.find(kind, addr, length);
    for (const i of found) this.slots[i] = undefined;
    return found.length > 0;
  }

  clear(): void {
    this.slots.fill(undefined);
  }

  get used(): number {
    return this.slots.filter((s) => s !== undefined).length;
  }

  /** An execution breakpoint (Z0 or Z1) at this linear address: its slot, or -1. */
  executionSlotAt(addr: bigint): number {
    return this.slots.findIndex((s) => s !== undefined && (s.kind === "sw" || s.kind === "hw") && s.at === addr);
  }

  /** DR0-DR3 and DR7 for KVM_SET_GUEST_DEBUG; `masked` slots are left disabled (stepping off a breakpoint). */
  registers(masked = -1): { dr: bigint[]; dr7: bigint } {
    let dr7 = DR7_FIXED;
    const dr = [0n, 0n, 0n, 0n];
    this.slots.forEach((s, i) => {
      if (s === undefined || i === masked) return;
      dr[i] = s.at;
      const rw = s.kind === "sw" || s.kind === "hw" ? RW_EXECUTE : s.kind === "write" ? RW_WRITE : RW_ACCESS;
      const len = rw === RW_EXECUTE ? 0n : LEN_CODE[s.size]!;
      dr7 |= (2n << BigInt(2 * i)) | (rw << BigInt(16 + 4 * i)) | (len << BigInt(18 + 4 * i));
      if (rw !== RW_EXECUTE) dr7 |= DR7_GE;
    });
    return { dr, dr7 };
  }

  /** What DR6 says hit: the breakpoint or watchpoint gdb set (kind and its address), or undefined. */
  hit(dr6: bigint): { kind: BreakKind; addr: bigint } | undefined {
    for (let i = 0; i < DEBUG_REGISTERS; i++) {
      const s = this.slots[i];
      if (s !== undefined && (dr6 & (1n << BigInt(i))) !== 0n) return { kind: s.kind, addr: s.addr };
    }
    return undefined;
  }

  /** One line per slot, for `monitor breakpoints`. */
  describe(): string[] {
    return this.slots.map((s, i) => s === undefined ? `DR${i}: free`
      : `DR${i}: ${s.kind === "sw" ? "breakpoint (Z0)" : s.kind === "hw" ? "hardware breakpoint" : `${s.kind} watchpoint`} at 0x${s.at.toString(16)}` +
        (s.kind === "sw" || s.kind === "hw" ? "" : `, ${s.size} byte${s.size > 1 ? "s" : ""}${s.length !== s.size ? ` (of 0x${s.addr.toString(16)}, ${s.length} bytes)` : ""}`));
  }

  private find(kind: BreakKind, addr: bigint, length: number): number[] {
    const sameKind = (s: Slot) => s.kind === kind && s.addr === addr && (kind === "sw" || kind === "hw" || s.length === length);
    return this.slots.flatMap((s, i) => (s !== undefined && sameKind(s) ? [i] : []));
  }
}
