// Multiboot kernels (the Multiboot 1 specification 0.6.96 and Multiboot2 2.0): finding the header,
// checking what it asks of the boot loader, and placing the image — by the header's address
// fields when it has them, else as the ELF it is. Every field is checked against the file and
// guest RAM; a header that asks for what microvmm cannot give (a graphics mode, EFI) is refused
// with one line rather than ignored.
import { BadInputError } from "../errors";
import type { GuestMemory } from "../memory/guest-memory";
import { isElf, loadElf, parseElf } from "./elf";
import { hex, type LoadedImage } from "./image";

export const MB1_HEADER_MAGIC = 0x1badb002;
export const MB1_BOOTLOADER_MAGIC = 0x2badb002;
export const MB2_HEADER_MAGIC = 0xe85250d6;
export const MB2_BOOTLOADER_MAGIC = 0x36d76289;
/** Where each version's header must lie: in the first 8 KiB (4-aligned) or 32 KiB (8-aligned). */
const MB1_SEARCH = 8192;
const MB2_SEARCH = 32768;

// Multiboot 1 header flags: bits 0-15 are requirements a boot loader must refuse if it cannot meet.
const MB1_PAGE_ALIGN = 1 << 0; // modules page-aligned (ours are)
const MB1_MEMORY_INFO = 1 << 1; // mem_* and the memory map (always given)
const MB1_VIDEO_MODE = 1 << 2; // a graphics mode: none here
const MB1_ADDRESS = 1 << 16; // the header's address fields say where the image goes
const MB1_KNOWN = MB1_PAGE_ALIGN | MB1_MEMORY_INFO | MB1_VIDEO_MODE | MB1_ADDRESS;

// Multiboot2 header tags.
const TAG_END = 0;
const TAG_INFO_REQUEST = 1;
const TAG_ADDRESS = 2;
const TAG_ENTRY = 3;
const TAG_CONSOLE_FLAGS = 4;
const TAG_FRAMEBUFFER = 5;
const TAG_MODULE_ALIGN = 6;
const TAG_RELOCATABLE = 10;
const TAG_OPTIONAL = 1;
const ARCH_I386 = 0;

/** Boot information tags microvmm gives (Multiboot2 types), so a required request for them is met. */
export const MB2_PROVIDED = new Set([1, 2, 3, 4, 6, 8, 14, 21]);

export interface AddressFields { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number }

export interface MultibootHeader {
  version: 1 | 2;
  /** File offset of the header. */
  offset: number;
  /** Multiboot 1: the header's flags. */
  flags: number;
  address?: AddressFields;
  /** Multiboot2: an entry address tag. */
  entry?: number;
  /** Multiboot2: the information the kernel asked for (required ones are met or refused here). */
  requested: number[];
}

const u32 = (dv: DataView, at: number) => dv.getUint32(at, true);

/** The multiboot header of an image, if it has one (version 2 preferred, as GRUB does). */
export function findMultiboot(bytes: Uint8Array): MultibootHeader | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 16 <= Math.min(bytes.length, MB2_SEARCH); at += 8) {
    if (u32(dv, at) !== MB2_HEADER_MAGIC) continue;
    const length = u32(dv, at + 8);
    if (((u32(dv, at) + u32(dv, at + 4) + length + u32(dv, at + 12)) >>> 0) !== 0) continue; // not a header: a stray magic
    return parseMb2(dv, at, length);
  }
  for (let at = 0; at + 12 <= Math.min(bytes.length, MB1_SEARCH); at += 4) {
    if (u32(dv, at) !== MB1_HEADER_MAGIC) continue;
    if (((u32(dv, at) + u32(dv, at + 4) + u32(dv, at + 8)) >>> 0) !== 0) continue;
    return parseMb1(dv, at);
  }
  return undefined;
}

function parseMb1(dv: DataView, at: number): MultibootHeader {
  const flags = u32(dv, at + 4);
  const unknown = flags & 0xffff & ~MB1_KNOWN;
  if (unknown !== 0) throw new BadInputError(`multiboot header at ${hex(at)} requires features microvmm does not know (flags ${hex(unknown)})`);
  if (flags & MB1_VIDEO_MODE) {
    // mode_type at +32: 0 a linear graphics mode, 1 EGA text (what the PC board's VGA is).
    if (at + 48 > dv.byteLength) throw new BadInputError(`truncated multiboot header at ${hex(at)}: the video mode fields run past the end of the file`);
    if (u32(dv, at + 32) !== 1) throw new BadInputError("the multiboot header asks for a graphics mode (flags bit 2, mode_type 0): microvmm offers EGA text only");
  }
  let address: AddressFields | undefined;
  if (flags & MB1_ADDRESS) {
    if (at + 32 > dv.byteLength) throw new BadInputError(`truncated multiboot header at ${hex(at)}: the address fields run past the end of the file`);
    address = { headerAddr: u32(dv, at + 12), loadAddr: u32(dv, at + 16), loadEndAddr: u32(dv, at + 20), bssEndAddr: u32(dv, at + 24), entryAddr: u32(dv, at + 28) };
  }
  return { version: 1, offset: at, flags, address, requested: [] };
}

function parseMb2(dv: DataView, at: number, length: number): MultibootHeader {
  if (u32(dv, at + 4) !== ARCH_I386) throw new BadInputError(`the multiboot2 header is for architecture ${u32(dv, at + 4)}, not i386 (0)`);
  if (length < 24 || at + length > dv.byteLength) throw new BadInputError(`multiboot2 header at ${hex(at)} has length ${length}, past the end of the file or too short for its end tag`);
  const h: MultibootHeader = { version: 2, offset: at, flags: 0, requested: [] };
  for (let tag = at + 16; ;) {
    if (tag + 8 > at + length) throw new BadInputError("multiboot2 header: its tags run past the header without an end tag");
    const type = dv.getUint16(tag, true);
    const optional = (dv.getUint16(tag + 2, true) & TAG_OPTIONAL) !== 0;
    const size = u32(dv, tag + 4);
    if (size < 8 || tag + size > at + length) throw new BadInputError(`multiboot2 header tag ${type} at ${hex(tag)} has size ${size}, outside the header`);
    switch (type) {
      case TAG_END:
        return h;
      case TAG_INFO_REQUEST:
        for (let i = tag + 8; i + 4 <= tag + size; i += 4) {
          const wanted = u32(dv, i);
          if (!optional && !MB2_PROVIDED.has(wanted)) throw new BadInputError(`the multiboot2 header requires boot information tag ${wanted}, which microvmm does not give`);
          h.requested.push(wanted);
        }
        break;
      case TAG_ADDRESS:
        if (size < 24) throw new BadInputError("multiboot2 address tag is too short");
        h.address = { headerAddr: u32(dv, tag + 8), loadAddr: u32(dv, tag + 12), loadEndAddr: u32(dv, tag + 16), bssEndAddr: u32(dv, tag + 20), entryAddr: 0 };
        break;
      case TAG_ENTRY:
        if (size < 12) throw new BadInputError("multiboot2 entry address tag is too short");
        h.entry = u32(dv, tag + 8);
        break;
      case TAG_CONSOLE_FLAGS: case TAG_MODULE_ALIGN: case TAG_RELOCATABLE:
        break; // met as they are: no console switching, modules page-aligned, loaded where linked
      case TAG_FRAMEBUFFER:
        // Depth 0 is "no preference": EGA text (the framebuffer tag says so) meets it; a graphics depth does not.
        if (!optional && (size < 20 || u32(dv, tag + 16) !== 0)) throw new BadInputError("the multiboot2 header requires a graphics framebuffer: microvmm offers EGA text only");
        break;
      default:
        if (!optional) throw new BadInputError(`the multiboot2 header requires tag ${type} (EFI or unknown), which microvmm does not support`);
    }
    tag += (size + 7) & ~7;
  }
}

/** Places a multiboot kernel: by its address fields, or as an ELF. The entry is a 32-bit physical address. */
export function loadMultiboot(h: MultibootHeader, bytes: Uint8Array, memory: GuestMemory): LoadedImage {
  const a = h.address;
  if (a === undefined) {
    if (!isElf(bytes)) throw new BadInputError("a multiboot kernel that is not an ELF needs the header's address fields (flags bit 16, or an address tag)");
    const image = loadElf(parseElf(bytes), memory);
    return { ...image, entry: h.entry ?? image.entry };
  }
  // The header sits at header_addr once loaded, so the file's byte `offset` lands there.
  if (a.loadAddr > a.headerAddr) throw new BadInputError(`multiboot load_addr ${hex(a.loadAddr)} is above header_addr ${hex(a.headerAddr)}`);
  const fileStart = h.offset - (a.headerAddr - a.loadAddr);
  if (fileStart < 0) throw new BadInputError(`multiboot header_addr ${hex(a.headerAddr)} puts the load address before the start of the file`);
  const fileEnd = a.loadEndAddr === 0 ? bytes.length : fileStart + (a.loadEndAddr - a.loadAddr);
  if (a.loadEndAddr !== 0 && (a.loadEndAddr < a.loadAddr || fileEnd > bytes.length)) {
    throw new BadInputError(`multiboot load_end_addr ${hex(a.loadEndAddr)} is below load_addr or past the end of the file`);
  }
  const loadedEnd = a.loadAddr + (fileEnd - fileStart);
  const bssEnd = a.bssEndAddr === 0 ? loadedEnd : a.bssEndAddr;
  if (bssEnd < loadedEnd) throw new BadInputError(`multiboot bss_end_addr ${hex(a.bssEndAddr)} is below the end of the loaded image ${hex(loadedEnd)}`);
  if (!memory.contains(a.loadAddr, bssEnd - a.loadAddr)) {
    throw new BadInputError(`the multiboot image (${hex(a.loadAddr)}-${hex(bssEnd)}) does not fit in guest RAM (ends at ${hex(memory.end)}) — raise --memory`);
  }
  const entry = h.version === 1 ? a.entryAddr : h.entry;
  if (entry === undefined || entry < a.loadAddr || entry >= bssEnd) {
    throw new BadInputError(`the multiboot entry ${entry === undefined ? "(none: no entry address tag)" : hex(entry)} is outside the image ${hex(a.loadAddr)}-${hex(bssEnd)}`);
  }
  memory.write(a.loadAddr, bytes.subarray(fileStart, fileEnd), "multiboot image");
  memory.fill(loadedEnd, bssEnd - loadedEnd, 0, "multiboot bss");
  return { format: "raw", entry, segments: [{ gpa: a.loadAddr, fileSize: fileEnd - fileStart, memSize: bssEnd - a.loadAddr }] };
}
