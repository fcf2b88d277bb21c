// bzImage (Linux x86 boot protocol, Documentation/arch/x86/boot.rst): the setup header is read
// and checked; the protected-mode kernel is copied to LINUX_KERNEL_ADDR and entered at +0x200,
// its 64-bit entry point. The zero page (boot_params) is a separate step (src/arch/zero-page.ts).
import { hdrOffset, SETUP_HEADER_SPACE_END } from "../arch/boot-params";
import { LINUX_KERNEL_ADDR } from "../arch/layout";
import { BadInputError } from "../errors";
import type { GuestMemory } from "../memory/guest-memory";
import { hex, type LoadedImage } from "./image";

// Offsets in the file (and in boot_params, where the setup header is copied to the same place),
// worked out when a bzImage is first looked at.
let offsets: ReturnType<typeof headerOffsets> | undefined;
const headerOffsets = () => ({
  setupSects: hdrOffset("setup_sects"), bootFlag: hdrOffset("boot_flag"), header: hdrOffset("header"),
  version: hdrOffset("version"), loadflags: hdrOffset("loadflags"), syssize: hdrOffset("syssize"),
  initrdAddrMax: hdrOffset("initrd_addr_max"), kernelAlignment: hdrOffset("kernel_alignment"),
  xloadflags: hdrOffset("xloadflags"), cmdlineSize: hdrOffset("cmdline_size"), initSize: hdrOffset("init_size"),
});
const at = () => (offsets ??= headerOffsets());
/** The setup header ends at 0x202 + the byte at 0x201. */
export const SETUP_HEADER_END_BYTE = 0x201;

export const BOOT_FLAG_MAGIC = 0xaa55;
export const HEADER_MAGIC = 0x53726448; // "HdrS"
/** 2.12: xloadflags, and with XLF_KERNEL_64 a 64-bit entry at +0x200. */
export const MIN_VERSION = 0x020c;
/** The boot sector and the setup header up to init_size: the least a bzImage can be. */
const MIN_SIZE = 0x270;
export const XLF_KERNEL_64 = 1 << 0;
export const XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;
export const LOADED_HIGH = 1 << 0;

export const ENTRY_64_OFFSET = 0x200;

export function isBzImage(bytes: Uint8Array): boolean {
  if (bytes.length < MIN_SIZE) return false; // shorter than the setup header: not one, whatever it holds
  const { header } = at();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return dv.getUint32(header, true) === HEADER_MAGIC;
}

export interface BzImage {
  bytes: Uint8Array;
  version: number;
  /** The setup header, from 0x1f1 to its end: copied into the zero page as is. */
  setupHeader: Uint8Array;
  /** The protected-mode kernel (everything after the setup sectors). */
  kernel: Uint8Array;
  /** Bytes the kernel needs from its load address while it decompresses itself. */
  initSize: number;
  initrdAddrMax: number;
  cmdlineSize: number;
  xloadflags: number;
}

export function parseBzImage(bytes: Uint8Array): BzImage {
  if (bytes.length < MIN_SIZE) throw new BadInputError(`truncated bzImage: ${bytes.length} bytes, the setup header alone needs 0x270`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const o = at();
  if (dv.getUint32(o.header, true) !== HEADER_MAGIC || dv.getUint16(o.bootFlag, true) !== BOOT_FLAG_MAGIC) {
    throw new BadInputError(`not a bzImage: no "HdrS" at 0x202 and 0xAA55 at 0x1fe`);
  }
  const version = dv.getUint16(o.version, true);
  const xloadflags = version >= MIN_VERSION ? dv.getUint16(o.xloadflags, true) : 0;
  const v = `${version >> 8}.${String(version & 0xff).padStart(2, "0")}`;
  if (version < MIN_VERSION) throw new BadInputError(`boot protocol ${v} is too old: microvmm needs 2.12 or later with a 64-bit entry`);
  if ((xloadflags & XLF_KERNEL_64) === 0) throw new BadInputError(`the kernel has no 64-bit entry point (xloadflags 0x${xloadflags.toString(16)}): a 64-bit kernel is needed`);
  if ((dv.getUint8(o.loadflags) & LOADED_HIGH) === 0) throw new BadInputError("not a bzImage: the kernel does not load high (zImage)");
  const setupSects = dv.getUint8(o.setupSects) || 4;
  const kernelOffset = (setupSects + 1) * 512;
  const headerEnd = Math.min(o.header + dv.getUint8(SETUP_HEADER_END_BYTE), SETUP_HEADER_SPACE_END);
  if (kernelOffset >= bytes.length || headerEnd > kernelOffset) {
    throw new BadInputError(`truncated bzImage: ${setupSects} setup sectors end at ${hex(kernelOffset)}, the file has ${hex(bytes.length)} bytes`);
  }
  const syssize = dv.getUint32(o.syssize, true) * 16;
  if (kernelOffset + syssize > bytes.length) {
    throw new BadInputError(`truncated bzImage: the kernel needs ${hex(kernelOffset + syssize)} bytes, the file has ${hex(bytes.length)}`);
  }
  return {
    bytes, version, xloadflags,
    setupHeader: bytes.subarray(o.setupSects, headerEnd),
    kernel: bytes.subarray(kernelOffset),
    initSize: dv.getUint32(o.initSize, true),
    initrdAddrMax: dv.getUint32(o.initrdAddrMax, true),
    cmdlineSize: dv.getUint32(o.cmdlineSize, true),
  };
}

/** Copies the kernel to LINUX_KERNEL_ADDR; it must have room for init_size bytes there. */
export function loadBzImage(bz: BzImage, memory: GuestMemory): LoadedImage {
  const room = Math.max(bz.initSize, bz.kernel.length);
  if (!memory.contains(LINUX_KERNEL_ADDR, room)) {
    throw new BadInputError(`guest RAM too small for this kernel: it needs ${hex(room)} bytes from ${hex(LINUX_KERNEL_ADDR)} — raise --memory`);
  }
  memory.write(LINUX_KERNEL_ADDR, bz.kernel, "kernel");
  return {
    format: "raw",
    entry: LINUX_KERNEL_ADDR + ENTRY_64_OFFSET,
    segments: [{ gpa: LINUX_KERNEL_ADDR, fileSize: bz.kernel.length, memSize: room }],
  };
}

/**
 * The setup header a bzImage would carry, for an ELF vmlinux booted through the 64-bit protocol:
 * the magic numbers, protocol 2.15, a 64-bit kernel that loads high, no initrd limit below 4 GiB.
 */
export function syntheticSetupHeader(): BzImage {
  const bytes = new Uint8Array(0x270);
  const dv = new DataView(bytes.buffer);
  const o = at();
  dv.setUint16(o.bootFlag, BOOT_FLAG_MAGIC, true);
  dv.setUint8(SETUP_HEADER_END_BYTE, 0x6a);
  dv.setUint32(o.header, HEADER_MAGIC, true);
  dv.setUint16(o.version, 0x020f, true);
  dv.setUint8(o.loadflags, LOADED_HIGH);
  dv.setUint32(o.initrdAddrMax, 0x7fffffff, true);
  dv.setUint32(o.kernelAlignment, 0x1000000, true);
  dv.setUint16(o.xloadflags, XLF_KERNEL_64, true);
  dv.setUint32(o.cmdlineSize, 2047, true);
  return {
    bytes, version: 0x020f, xloadflags: XLF_KERNEL_64, setupHeader: bytes.subarray(o.setupSects, o.header + 0x6a),
    kernel: new Uint8Array(0), initSize: 0, initrdAddrMax: 0x7fffffff, cmdlineSize: 2047,
  };
}
