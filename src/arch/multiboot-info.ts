// The boot information a multiboot kernel finds at EBX: Multiboot 1's fixed struct with its memory
// map, command line and boot loader name after it, or Multiboot2's 8-byte-aligned tags (command
// line, boot loader name, basic meminfo, memory map, load base address, end). Both are built in
// one buffer for a known guest-physical address and written with one checked copy.
import { struct } from "../binary/struct";
import { E820_RAM, type MemMapEntry } from "./memmap";

/** The Multiboot 1 information structure (spec 3.3), fields at the spec's offsets (116 bytes). */
export const multiboot_info = struct("multiboot_info", {
  flags: "u32", mem_lower: "u32", mem_upper: "u32", boot_device: "u32", cmdline: "u32", mods_count: "u32", mods_addr: "u32",
  syms: ["u32", 4], mmap_length: "u32", mmap_addr: "u32", drives_length: "u32", drives_addr: "u32", config_table: "u32",
  boot_loader_name: "u32", apm_table: "u32", vbe_control_info: "u32", vbe_mode_info: "u32", vbe_mode: "u16",
  vbe_interface_seg: "u16", vbe_interface_off: "u16", vbe_interface_len: "u16", framebuffer_addr: "u64",
  framebuffer_pitch: "u32", framebuffer_width: "u32", framebuffer_height: "u32", framebuffer_bpp: "u8",
  framebuffer_type: "u8", color_info: ["u8", 6],
}, { packed: true });

/** A Multiboot 1 memory-map entry: `size` counts the bytes after itself (20). */
export const multiboot_mmap_entry = struct("multiboot_mmap_entry", { size: "u32", addr: "u64", len: "u64", type: "u32" }, { packed: true });

// Multiboot 1 info flags.
export const MBI_MEMORY = 1 << 0;
export const MBI_CMDLINE = 1 << 2;
export const MBI_MMAP = 1 << 6;
export const MBI_LOADER_NAME = 1 << 9;

// Multiboot2 boot information tag types.
export const MB2_TAG_END = 0;
export const MB2_TAG_CMDLINE = 1;
export const MB2_TAG_LOADER_NAME = 2;
export const MB2_TAG_BASIC_MEMINFO = 4;
export const MB2_TAG_MMAP = 6;
export const MB2_TAG_LOAD_BASE = 21;
const MB2_MMAP_ENTRY = 24; // u64 base, u64 length, u32 type, u32 reserved

export const LOADER_NAME = "microvmm";

/** What the kernel is told, for both versions (and for --stats). */
export interface BootFacts {
  cmdline: string;
  /** KiB of RAM from 0 (at most 640) and from 1 MiB to the first hole. */
  memLower: number;
  memUpper: number;
  memoryMap: readonly MemMapEntry[];
  /** Multiboot2: where the image was loaded. */
  loadBase: number;
}

/** mem_lower and mem_upper from the memory map, as a PC BIOS would report them. */
export function basicMemory(map: readonly MemMapEntry[]): { memLower: number; memUpper: number } {
  const usableFrom = (addr: number) => map.find((e) => e.type === E820_RAM && e.base <= addr && addr < e.base + e.length);
  const low = usableFrom(0);
  const high = usableFrom(0x100000);
  return {
    memLower: low === undefined ? 0 : Math.min(640, Math.floor((low.base + low.length) / 1024)),
    memUpper: high === undefined ? 0 : Math.floor((high.base + high.length - 0x100000) / 1024),
  };
}

const cstring = (s: string) => new TextEncoder().encode(s + "\0");
const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Multiboot 1 information to be placed at `base`: the struct, then the memory map and the strings. */
export function multibootInfo1(base: number, f: BootFacts): Uint8Array {
  const cmd = cstring(f.cmdline);
  const name = cstring(LOADER_NAME);
  const mmapAt = align(multiboot_info.size, 8);
  const mmapLength = f.memoryMap.length * multiboot_mmap_entry.size;
  const cmdAt = mmapAt + mmapLength;
  const nameAt = cmdAt + cmd.length;
  const bytes = new Uint8Array(nameAt + name.length);
  const dv = new DataView(bytes.buffer);
  multiboot_info.write(dv, {
    flags: MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME, mem_lower: f.memLower, mem_upper: f.memUpper,
    cmdline: base + cmdAt, mmap_length: mmapLength, mmap_addr: base + mmapAt, boot_loader_name: base + nameAt,
  });
  f.memoryMap.forEach((e, i) => multiboot_mmap_entry.write(dv, {
    size: multiboot_mmap_entry.size - 4, addr: BigInt(e.base), len: BigInt(e.length), type: e.type,
  }, mmapAt + i * multiboot_mmap_entry.size));
  bytes.set(cmd, cmdAt);
  bytes.set(name, nameAt);
  return bytes;
}

/** Multiboot2 information (placed anywhere 8-aligned): total_size, reserved, then the tags. */
export function multibootInfo2(f: BootFacts): Uint8Array {
  const tags: Uint8Array[] = [];
  const tag = (type: number, body: Uint8Array) => {
    const t = new Uint8Array(align(8 + body.length, 8));
    const dv = new DataView(t.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, 8 + body.length, true); // the size excludes the padding
    t.set(body, 8);
    tags.push(t);
  };
  const u32s = (...vs: number[]) => new Uint8Array(new Uint32Array(vs).buffer);
  tag(MB2_TAG_CMDLINE, cstring(f.cmdline));
  tag(MB2_TAG_LOADER_NAME, cstring(LOADER_NAME));
  tag(MB2_TAG_BASIC_MEMINFO, u32s(f.memLower, f.memUpper));
  const mmap = new Uint8Array(8 + f.memoryMap.length * MB2_MMAP_ENTRY);
  const m = new DataView(mmap.buffer);
  m.setUint32(0, MB2_MMAP_ENTRY, true);
  m.setUint32(4, 0, true); // entry_version
  f.memoryMap.forEach((e, i) => {
    m.setBigUint64(8 + i * MB2_MMAP_ENTRY, BigInt(e.base), true);
    m.setBigUint64(16 + i * MB2_MMAP_ENTRY, BigInt(e.length), true);
    m.setUint32(24 + i * MB2_MMAP_ENTRY, e.type, true);
  });
  tag(MB2_TAG_MMAP, mmap);
  tag(MB2_TAG_LOAD_BASE, u32s(f.loadBase));
  tag(MB2_TAG_END, new Uint8Array(0));
  const total = 8 + tags.reduce((n, t) => n + t.length, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, total, true);
  let at = 8;
  for (const t of tags) { out.set(t, at); at += t.length; }
  return out;
}
