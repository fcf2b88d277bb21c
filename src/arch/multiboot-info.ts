// The boot information a multiboot kernel finds at EBX: Multiboot 1's fixed struct with its memory
// map, modules, command line and boot loader name after it, or Multiboot2's 8-byte-aligned tags
// (command line, boot loader name, modules, basic meminfo, memory map, the EGA text framebuffer,
// the ACPI RSDP, load base address, end). Both are built in one buffer for a known guest-physical
// address and written with one checked copy.
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

/** A Multiboot 1 module entry: where it is and its command line. */
export const multiboot_module = struct("multiboot_module", { mod_start: "u32", mod_end: "u32", cmdline: "u32", pad: "u32" });

// Multiboot 1 info flags.
export const MBI_MEMORY = 1 << 0;
export const MBI_BOOT_DEVICE = 1 << 1;
export const MBI_CMDLINE = 1 << 2;
export const MBI_MODS = 1 << 3;
export const MBI_MMAP = 1 << 6;
export const MBI_LOADER_NAME = 1 << 9;
export const MBI_FRAMEBUFFER = 1 << 12;

/** boot_device: BIOS drive 0x80 (the first hard disk), no partition; QEMU's value for -kernel. */
export const BOOT_DEVICE = 0x8000ffff;

/** The screen as a framebuffer: EGA text, 80×25 cells of 2 bytes at 0xB8000 (type 2). */
export const TEXT_FRAMEBUFFER = { addr: 0xb8000, pitch: 160, width: 80, height: 25, bpp: 16, type: 2 } as const;

// Multiboot2 boot information tag types.
export const MB2_TAG_END = 0;
export const MB2_TAG_CMDLINE = 1;
export const MB2_TAG_LOADER_NAME = 2;
export const MB2_TAG_MODULE = 3;
export const MB2_TAG_BASIC_MEMINFO = 4;
export const MB2_TAG_MMAP = 6;
export const MB2_TAG_FRAMEBUFFER = 8;
export const MB2_TAG_ACPI_OLD = 14;
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
  /** The modules, where they were placed, each with its command line. */
  modules: ReadonlyArray<{ start: number; end: number; cmdline: string }>;
  /** The ACPI RSDP's bytes (revision 0: 20 bytes), for Multiboot2's copy of it. */
  rsdp: Uint8Array;
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

/** Multiboot 1 information to be placed at `base`: the struct, then the memory map, the modules and the strings. */
export function multibootInfo1(base: number, f: BootFacts): Uint8Array {
  const strings: Uint8Array[] = [];
  const mmapAt = align(multiboot_info.size, 8);
  const mmapLength = f.memoryMap.length * multiboot_mmap_entry.size;
  const modsAt = mmapAt + mmapLength;
  let stringAt = modsAt + f.modules.length * multiboot_module.size;
  const string = (text: string) => {
    const bytes = cstring(text);
    strings.push(bytes);
    stringAt += bytes.length;
    return base + stringAt - bytes.length;
  };
  const fb = TEXT_FRAMEBUFFER;
  const info = {
    flags: MBI_MEMORY | MBI_BOOT_DEVICE | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME | MBI_FRAMEBUFFER,
    mem_lower: f.memLower, mem_upper: f.memUpper, boot_device: BOOT_DEVICE,
    cmdline: string(f.cmdline), mods_count: f.modules.length, mods_addr: base + modsAt,
    mmap_length: mmapLength, mmap_addr: base + mmapAt, boot_loader_name: string(LOADER_NAME),
    framebuffer_addr: BigInt(fb.addr), framebuffer_pitch: fb.pitch, framebuffer_width: fb.width,
    framebuffer_height: fb.height, framebuffer_bpp: fb.bpp, framebuffer_type: fb.type,
  };
  const modules = f.modules.map((m) => ({ mod_start: m.start, mod_end: m.end, cmdline: string(m.cmdline), pad: 0 }));
  const bytes = new Uint8Array(stringAt);
  const dv = new DataView(bytes.buffer);
  multiboot_info.write(dv, info);
  f.memoryMap.forEach((e, i) => multiboot_mmap_entry.write(dv, {
    size: multiboot_mmap_entry.size - 4, addr: BigInt(e.base), len: BigInt(e.length), type: e.type,
  }, mmapAt + i * multiboot_mmap_entry.size));
  modules.forEach((m, i) => multiboot_module.write(dv, m, modsAt + i * multiboot_module.size));
  let at = modsAt + modules.length * multiboot_module.size;
  for (const s of strings) { bytes.set(s, at); at += s.length; }
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
  for (const m of f.modules) {
    const name = cstring(m.cmdline);
    const body = new Uint8Array(8 + name.length);
    body.set(u32s(m.start, m.end), 0);
    body.set(name, 8);
    tag(MB2_TAG_MODULE, body);
  }
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
  const fb = TEXT_FRAMEBUFFER;
  const framebuffer = new Uint8Array(24);
  const d = new DataView(framebuffer.buffer);
  d.setBigUint64(0, BigInt(fb.addr), true);
  d.setUint32(8, fb.pitch, true);
  d.setUint32(12, fb.width, true);
  d.setUint32(16, fb.height, true);
  d.setUint8(20, fb.bpp);
  d.setUint8(21, fb.type); // then a reserved u16; EGA text has no colour information
  tag(MB2_TAG_FRAMEBUFFER, framebuffer);
  tag(MB2_TAG_ACPI_OLD, f.rsdp);
  tag(MB2_TAG_LOAD_BASE, u32s(f.loadBase));
  tag(MB2_TAG_END, new Uint8Array(0));
  const total = 8 + tags.reduce((n, t) => n + t.length, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, total, true);
  let at = 8;
  for (const t of tags) { out.set(t, at); at += t.length; }
  return out;
}
