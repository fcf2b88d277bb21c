// PVH boot (xen/include/public/arch-x86/hvm/start_info.h): the kernel is entered at its
// PHYS32_ENTRY in 32-bit protected mode with paging off, EBX pointing at struct hvm_start_info,
// which gives the command line, the memory map, the ACPI RSDP and the initrd as module 0.
// The start info, its one module entry and the memory map share one page at PVH_START_INFO.
import { struct } from "../binary/struct";
import type { KvmRegs, KvmSregs } from "../kvm/bindings";
import type { GuestMemory } from "../memory/guest-memory";
import { bootRegs, flatCode, flatData, gdtBytes, protectedSregs } from "./boot-state";
import { LINUX_CMDLINE, LINUX_GDT, LINUX_STACK_TOP, PVH_START_INFO } from "./layout";
import type { MemMapEntry } from "./memmap";
import * as X from "./x86";
import { encodeCmdline, type Initrd } from "./zero-page";

export const hvm_start_info = struct("hvm_start_info", {
  magic: "u32", version: "u32", flags: "u32", nr_modules: "u32", modlist_paddr: "u64", cmdline_paddr: "u64",
  rsdp_paddr: "u64", memmap_paddr: "u64", memmap_entries: "u32", reserved: "u32",
});
export const hvm_modlist_entry = struct("hvm_modlist_entry", { paddr: "u64", size: "u64", cmdline_paddr: "u64", reserved: "u64" });
export const hvm_memmap_table_entry = struct("hvm_memmap_table_entry", { addr: "u64", size: "u64", type: "u32", reserved: "u32" });

export const HVM_START_MAGIC = 0x336ec578;
/** Version 1: the start info has the memory map. */
const HVM_START_VERSION = 1;
const MODLIST = PVH_START_INFO + 0x40;
const MEMMAP = PVH_START_INFO + 0x80;
const PAGE = 0x1000;
export const MEMMAP_MAX = (PAGE - (MEMMAP - PVH_START_INFO)) / hvm_memmap_table_entry.size;
/** The longest command line the PVH path passes; the same bound as the 64-bit protocol's (kernels take 2047). */
export const PVH_CMDLINE_MAX = 2047;
/** The PVH entry state's selectors: a flat 32-bit code and data segment. */
const PVH_CS = 0x08;
const PVH_DS = 0x10;
/** TSS type 11: a busy 32-bit TSS, which the PVH entry state asks TR to be. */
const TSS_BUSY_32 = 11;

export function writeStartInfo(memory: GuestMemory, cmdline: string, initrd: Initrd | undefined, memmap: readonly MemMapEntry[], rsdp: number): void {
  if (memmap.length > MEMMAP_MAX) throw new Error(`memory map has ${memmap.length} entries, the start info page holds ${MEMMAP_MAX}`);
  const cmd = encodeCmdline(cmdline, PVH_CMDLINE_MAX);
  const page = new Uint8Array(PAGE);
  const dv = new DataView(page.buffer);
  hvm_start_info.write(dv, {
    magic: HVM_START_MAGIC, version: HVM_START_VERSION, flags: 0,
    nr_modules: initrd === undefined ? 0 : 1, modlist_paddr: BigInt(initrd === undefined ? 0 : MODLIST),
    cmdline_paddr: BigInt(LINUX_CMDLINE), rsdp_paddr: BigInt(rsdp), memmap_paddr: BigInt(MEMMAP), memmap_entries: memmap.length,
  });
  if (initrd !== undefined) hvm_modlist_entry.write(dv, { paddr: BigInt(initrd.gpa), size: BigInt(initrd.size) }, MODLIST - PVH_START_INFO);
  memmap.forEach((e, i) => hvm_memmap_table_entry.write(dv, { addr: BigInt(e.base), size: BigInt(e.length), type: e.type },
    MEMMAP - PVH_START_INFO + i * hvm_memmap_table_entry.size));
  memory.write(PVH_START_INFO, page, "PVH start info");
  memory.write(LINUX_CMDLINE, cmd, "kernel command line");
  memory.write(LINUX_GDT, gdtBytes([flatCode(PVH_CS, 32), flatData(PVH_DS)]), "PVH GDT");
}

export function pvhSregs(reset: KvmSregs): KvmSregs {
  const s = protectedSregs(reset, { gdtBase: LINUX_GDT, gdtLimit: 3 * 8 - 1, code: flatCode(PVH_CS, 32), data: flatData(PVH_DS), cr0: X.CR0_PE | X.CR0_ET });
  s.tr = { ...s.tr, base: 0n, limit: 0x67, type: TSS_BUSY_32, present: 1, s: 0, unusable: 0 };
  return s;
}

export function pvhRegs(entry: number): KvmRegs {
  return bootRegs({ rbx: BigInt(PVH_START_INFO), rsp: BigInt(LINUX_STACK_TOP), rip: BigInt(entry) });
}
