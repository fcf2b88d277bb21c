// x86 architectural constants (Intel SDM vol. 3A ch. 2-4), grouped by register.

// CR0 (SDM 2.5)
export const CR0_PE = 1n << 0n; // protected mode
export const CR0_MP = 1n << 1n; // WAIT/FWAIT honour TS
export const CR0_ET = 1n << 4n; // x87 present (hard-wired 1)
export const CR0_NE = 1n << 5n; // native x87 error reporting
export const CR0_WP = 1n << 16n; // write-protect applies to ring 0
export const CR0_PG = 1n << 31n; // paging

// CR4 (SDM 2.5)
export const CR4_PSE = 1n << 4n; // 4 MiB pages in 32-bit paging
export const CR4_PAE = 1n << 5n; // PAE / 4-level paging
export const CR4_OSFXSR = 1n << 9n; // FXSAVE/FXRSTOR and SSE enabled
export const CR4_OSXMMEXCPT = 1n << 10n; // SSE exceptions as #XM

// IA32_EFER (SDM 2.2.1)
export const EFER_LME = 1n << 8n; // long mode enable
export const EFER_LMA = 1n << 10n; // long mode active

// RFLAGS
export const RFLAGS_RESERVED_1 = 1n << 1n; // bit 1 always reads 1

// Page-table entry bits (SDM 4.3, 4.5)
export const PTE_PRESENT = 1n << 0n;
export const PTE_WRITABLE = 1n << 1n;
export const PTE_PAGE_SIZE = 1n << 7n; // PS: this entry maps a large page

export const PAGE_SIZE = 0x1000;
export const PAGE_4M = 0x400000;
export const PAGE_2M = 0x200000;
export const PAGE_1G = 0x40000000;

// Segment descriptor types (SDM 3.4.5.1), S=1 (code/data)
export const SEG_TYPE_DATA_RW_ACCESSED = 0x3;
export const SEG_TYPE_CODE_XR_ACCESSED = 0xb;
