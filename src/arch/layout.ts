// Where things live in guest-physical memory. Every address the VMM itself chooses is here.

/** Default guest RAM. Cheap: RAM is MAP_NORESERVE, so untouched pages cost nothing. */
export const DEFAULT_MEMORY_SIZE = 128 << 20;
/** Smallest guest RAM accepted: room for a tiny image plus the boot structures. */
export const MIN_MEMORY_SIZE = 64 << 10;
/** Largest guest RAM: one PDPT of 1 GiB entries (512 GiB) identity-maps it in long mode. */
export const MAX_MEMORY_SIZE = 512 * 2 ** 30;

/**
 * With more RAM than fits below it, [3 GiB, 4 GiB) is left out of RAM, as on a PC, for MMIO
 * (the LAPIC at 0xfee00000, the IOAPIC at 0xfec00000, PCI BARs) and the rest of RAM starts at 4 GiB.
 */
export const MMIO_HOLE_START = 0xc000_0000;
export const MMIO_HOLE_END = 0x1_0000_0000;

/** Real mode reaches 1 MiB (segment:offset); the real-mode boot area must sit below it. */
export const REAL_MODE_LIMIT = 0x10_0000;
/** 32-bit modes reach 4 GiB; their GDT, page directory and stack must sit below it. */
export const LOW_4G = 0x1_0000_0000;

/** Bytes of stack the VMM gives the guest at entry (the top of the boot area). */
export const BOOT_STACK_SIZE = 16 << 10;

export interface RamRange { gpa: number; size: number }

/** The guest-physical RAM ranges for a RAM size. */
export function ramLayout(size: number): RamRange[] {
  if (size <= MMIO_HOLE_START) return [{ gpa: 0, size }];
  return [
    { gpa: 0, size: MMIO_HOLE_START },
    { gpa: MMIO_HOLE_END, size: size - MMIO_HOLE_START },
  ];
}

export interface Range { start: number; end: number }

/**
 * The highest `size`-byte, `align`-aligned range inside RAM and below `limit` that overlaps
 * none of `taken`, or undefined. The VMM's own structures go there so that they never overlap
 * the guest image, wherever it was loaded.
 */
export function placeHighest(ram: readonly RamRange[], taken: readonly Range[], size: number, align: number, limit: number): number | undefined {
  // Candidate tops: the top of each RAM range (capped by limit) and the start of each taken range.
  const tops = new Set<number>();
  for (const r of ram) tops.add(Math.min(r.gpa + r.size, limit));
  for (const t of taken) tops.add(t.start);
  const sorted = [...tops].sort((a, b) => b - a);
  for (const top of sorted) {
    const start = Math.floor((top - size) / align) * align;
    if (start < 0) continue;
    const end = start + size;
    if (end > limit) continue;
    if (!ram.some((r) => start >= r.gpa && end <= r.gpa + r.size)) continue;
    if (taken.some((t) => start < t.end && t.start < end)) continue;
    return start;
  }
  return undefined;
}
