// Where things live in guest-physical memory. Every address the VMM itself chooses is here; the
// boards say which device sits at which port, and nothing else names a guest address.

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

/** virtio-mmio devices (Linux board): one register page each from here, in the MMIO hole (never RAM). */
export const VIRTIO_MMIO_BASE = 0xd000_0000;
export const VIRTIO_MMIO_STRIDE = 0x1000;

/** The local APIC (each vCPU's, at its architectural reset base) and the IOAPIC KVM emulates. */
export const LAPIC_ADDR = 0xfee0_0000;
export const IOAPIC_ADDR = 0xfec0_0000;

/**
 * Three pages Intel's KVM needs for real-mode emulation (KVM_SET_TSS_ADDR) and the page below them
 * for its identity map (KVM_SET_IDENTITY_MAP_ADDR): in the MMIO hole, never RAM.
 */
export const TSS_ADDR = 0xfffb_d000;
export const IDENTITY_MAP_ADDR = 0xfffb_c000;

// Linux's low pages (all below 1 MiB, identity-mapped, given back to Linux after boot):
/** The boot GDT (64-bit protocol and PVH). */
export const LINUX_GDT = 0x500;
/** struct hvm_start_info, its module list and memory map (PVH): one page. */
export const PVH_START_INFO = 0x6000;
/** struct boot_params, the "zero page" (64-bit protocol). */
export const ZERO_PAGE = 0x7000;
export const LINUX_STACK_TOP = 0x8ff0;
/** PML4, PDPT and page directories identity-mapping the first 4 GiB (64-bit protocol). */
export const LINUX_PAGE_TABLES = 0x9000;
export const LINUX_CMDLINE = 0x20000;
export const LINUX_CMDLINE_MAX = 0x10000;
/** Everything the Linux boot protocols write in low memory lies below this (from 0). */
export const LINUX_BOOT_PAGES_END = LINUX_CMDLINE + LINUX_CMDLINE_MAX;
/** The PC's legacy hole: VGA memory and BIOS ROMs. RAM here is marked reserved for Linux. */
export const LEGACY_HOLE_START = 0xa0000;
export const LEGACY_HOLE_END = 0x100000;
/** The ACPI tables, in the BIOS area the kernel scans for the RSDP (0xE0000-0xFFFFF). */
export const ACPI_BASE = 0xe0000;
/** The MP floating pointer and table, where a kernel's search of the BIOS area finds them (PC board). */
export const MP_TABLE_BASE = 0xf0000;
/** The BIOS data area (PC board): COM ports, EBDA segment, base memory size, video state. */
export const BDA_BASE = 0x400;
/** The real-mode interrupt vector table and the BDA end here: a kernel is never loaded below. */
export const BDA_END = 0x500;
/** The extended BIOS data area: the last KiB of conventional memory (PC board). */
export const EBDA_BASE = 0x9fc00;
/** Where a bzImage's protected-mode kernel goes: 1 MiB, the protocol's traditional high load address. */
export const LINUX_KERNEL_ADDR = 0x100000;

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
