// The guest-physical memory map, e820 style: every byte of RAM exactly once, as usable or as
// reserved (what the VMM keeps for itself). Guests ask for it with a hypercall; Linux's boot
// parameters take the same entries.
import { hex } from "../binary/hex";

export const E820_RAM = 1;
export const E820_RESERVED = 2;
export type MemMapType = typeof E820_RAM | typeof E820_RESERVED;

export interface MemMapEntry { base: number; length: number; type: MemMapType }

interface Span { start: number; end: number }

/**
 * RAM ranges split around the reserved spans (clipped to RAM), in address order, adjacent
 * entries of one type merged.
 */
export function buildMemoryMap(ram: ReadonlyArray<{ gpa: number; size: number }>, reserved: readonly Span[]): MemMapEntry[] {
  const out: MemMapEntry[] = [];
  const push = (start: number, end: number, type: MemMapType) => {
    if (end <= start) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.type === type && last.base + last.length === start) last.length += end - start;
    else out.push({ base: start, length: end - start, type });
  };
  const holes = [...reserved].sort((a, b) => a.start - b.start);
  for (const r of [...ram].sort((a, b) => a.gpa - b.gpa)) {
    const end = r.gpa + r.size;
    let at = r.gpa;
    for (const h of holes) {
      const s = Math.max(h.start, at);
      const e = Math.min(h.end, end);
      if (e <= s) continue;
      push(at, s, E820_RAM);
      push(s, e, E820_RESERVED);
      at = e;
    }
    push(at, end, E820_RAM);
  }
  return out;
}

export function formatMemoryMap(map: readonly MemMapEntry[]): string[] {
  return map.map((e) => `${hex(e.base, 16)}-${hex(e.base + e.length - 1, 16)} ${e.type === E820_RAM ? "usable" : "reserved"}`);
}
