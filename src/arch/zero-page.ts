// The Linux boot parameters ("zero page", struct boot_params in ./boot-params.ts) for the 64-bit
// boot protocol, and where the initrd goes. The low pages it uses are in ./layout.ts.
import { BadInputError } from "../errors";
import type { BzImage } from "../loaders/bzimage";
import type { GuestMemory } from "../memory/guest-memory";
import { boot_params, E820_MAX_ENTRIES_ZEROPAGE } from "./boot-params";
import { LINUX_CMDLINE, LINUX_CMDLINE_MAX, ZERO_PAGE } from "./layout";
import type { MemMapEntry } from "./memmap";

/** type_of_loader 0xFF: a boot loader with no assigned ID. */
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

/** The command line as the kernel reads it (NUL-terminated); refused when longer than `max` bytes. */
export function encodeCmdline(cmdline: string, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(cmdline + "\0");
  const limit = Math.min(max, LINUX_CMDLINE_MAX - 1);
  if (bytes.length - 1 > limit) throw new BadInputError(`kernel command line is ${bytes.length - 1} bytes; this kernel takes at most ${limit}`);
  return bytes;
}

export function writeZeroPage(memory: GuestMemory, bz: BzImage, cmdline: string, initrd: Initrd | undefined,
  e820: readonly MemMapEntry[], rsdp?: number): void {
  const cmd = encodeCmdline(cmdline, bz.cmdlineSize || 255);
  if (e820.length > E820_MAX_ENTRIES_ZEROPAGE) throw new Error(`memory map has ${e820.length} entries, boot_params holds ${E820_MAX_ENTRIES_ZEROPAGE}`);
  const zp = boot_params.encode({
    acpi_rsdp_addr: BigInt(rsdp ?? 0),
    ext_ramdisk_image: Math.floor((initrd?.gpa ?? 0) / 2 ** 32),
    ext_ramdisk_size: Math.floor((initrd?.size ?? 0) / 2 ** 32),
    e820_entries: e820.length,
    e820_table: e820.map((e) => ({ addr: BigInt(e.base), size: BigInt(e.length), type: e.type })),
  });
  // The kernel's own setup header, then what the boot loader fills in (boot protocol, "the real-mode kernel header").
  const hdr = boot_params.offsetOf("hdr");
  zp.set(bz.setupHeader, hdr);
  const dv = new DataView(zp.buffer);
  dv.setUint8(boot_params.offsetOf("hdr.type_of_loader"), UNDEFINED_LOADER);
  dv.setUint32(boot_params.offsetOf("hdr.cmd_line_ptr"), LINUX_CMDLINE, true);
  dv.setUint32(boot_params.offsetOf("hdr.ramdisk_image"), (initrd?.gpa ?? 0) % 2 ** 32, true);
  dv.setUint32(boot_params.offsetOf("hdr.ramdisk_size"), (initrd?.size ?? 0) % 2 ** 32, true);
  memory.write(ZERO_PAGE, zp, "zero page");
  memory.write(LINUX_CMDLINE, cmd, "kernel command line");
}
