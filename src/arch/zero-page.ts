// The Linux boot parameters ("zero page", struct boot_params) and where Linux's boot data goes.
// Layout of the low pages (all below 1 MiB, identity-mapped, given back to Linux after boot):
//   0x0500  GDT         0x7000  zero page        0x9000  PML4, PDPT, page directories
//   0x8ff0  stack top   0x20000 command line
import type { MemMapEntry } from "./memmap";
import { E820_RAM, E820_RESERVED } from "./memmap";
import { BadInputError } from "../errors";
import type { GuestMemory } from "../memory/guest-memory";
import { CMD_LINE_PTR, RAMDISK_IMAGE, RAMDISK_SIZE, SETUP_SECTS, type BzImage } from "../loaders/bzimage";

export const LINUX_GDT = 0x500;
export const ZERO_PAGE = 0x7000;
export const LINUX_STACK_TOP = 0x8ff0;
export const LINUX_PAGE_TABLES = 0x9000;
export const CMDLINE_ADDR = 0x20000;
export const CMDLINE_MAX = 0x10000;
/** The PC's legacy hole: VGA memory and BIOS ROMs. RAM here is marked reserved for Linux. */
export const LEGACY_HOLE_START = 0xa0000;
export const LEGACY_HOLE_END = 0x100000;

// struct boot_params fields (arch/x86/include/uapi/asm/bootparam.h).
const ACPI_RSDP_ADDR = 0x070;
const EXT_RAMDISK_IMAGE = 0x0c0;
const EXT_RAMDISK_SIZE = 0x0c4;
const E820_ENTRIES = 0x1e8;
const TYPE_OF_LOADER = 0x210;
const E820_TABLE = 0x2d0;
const E820_MAX = 128;
const E820_ENTRY_SIZE = 20;
const UNDEFINED_LOADER = 0xff;

export interface Initrd { gpa: number; size: number }

/** Where the initrd goes: page-aligned, as high as allowed (below initrd_addr_max and 4 GiB). */
export function placeInitrd(size: number, memory: GuestMemory, initrdAddrMax: number, above: number): number {
  const limit = Math.min(initrdAddrMax + 1, 2 ** 32);
  for (const r of [...memory.regions].reverse()) {
    const top = Math.min(r.gpa + r.size, limit);
    const gpa = Math.floor((top - size) / 0x1000) * 0x1000;
    if (gpa >= Math.max(r.gpa, above)) return gpa;
  }
  throw new BadInputError(`initrd (${size} bytes) does not fit in guest RAM below ${(limit / 2 ** 20).toFixed(0)} MiB beside the kernel — raise --memory`);
}

export function writeZeroPage(memory: GuestMemory, bz: BzImage, cmdline: string, initrd: Initrd | undefined,
  e820: readonly MemMapEntry[], rsdp?: number): void {
  const cmd = new TextEncoder().encode(cmdline + "\0");
  const max = Math.min(bz.cmdlineSize || 255, CMDLINE_MAX - 1);
  if (cmd.length - 1 > max) throw new BadInputError(`kernel command line is ${cmd.length - 1} bytes; this kernel takes at most ${max}`);
  if (e820.length > E820_MAX) throw new Error(`memory map has ${e820.length} entries, boot_params holds ${E820_MAX}`);
  const zp = new Uint8Array(0x1000);
  const dv = new DataView(zp.buffer);
  zp.set(bz.setupHeader, SETUP_SECTS);
  dv.setUint8(TYPE_OF_LOADER, UNDEFINED_LOADER);
  dv.setUint32(CMD_LINE_PTR, CMDLINE_ADDR, true);
  if (rsdp !== undefined) dv.setBigUint64(ACPI_RSDP_ADDR, BigInt(rsdp), true);
  if (initrd !== undefined) {
    dv.setUint32(RAMDISK_IMAGE, initrd.gpa % 2 ** 32, true);
    dv.setUint32(RAMDISK_SIZE, initrd.size % 2 ** 32, true);
    dv.setUint32(EXT_RAMDISK_IMAGE, Math.floor(initrd.gpa / 2 ** 32), true);
    dv.setUint32(EXT_RAMDISK_SIZE, Math.floor(initrd.size / 2 ** 32), true);
  }
  dv.setUint8(E820_ENTRIES, e820.length);
  e820.forEach((e, i) => {
    const at = E820_TABLE + i * E820_ENTRY_SIZE;
    dv.setBigUint64(at, BigInt(e.base), true);
    dv.setBigUint64(at + 8, BigInt(e.length), true);
    dv.setUint32(at + 16, e.type, true);
  });
  memory.write(ZERO_PAGE, zp, "zero page");
  memory.write(CMDLINE_ADDR, cmd, "kernel command line");
}

export { E820_RAM, E820_RESERVED };
