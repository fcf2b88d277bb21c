// Multiboot headers and boot information from hand-made bytes: found where the specs say, refused
// when they ask for what microvmm cannot give, placed by their address fields; the information's
// fields at the specs' offsets.
import { describe, expect, test } from "bun:test";
import { basicMemory, LOADER_NAME, MBI_BOOT_DEVICE, MBI_CMDLINE, MBI_FRAMEBUFFER, MBI_LOADER_NAME, MBI_MEMORY, MBI_MMAP, MBI_MODS, multiboot_info, multibootInfo1, multibootInfo2 } from "../../src/arch/multiboot-info";
import { E820_RAM, E820_RESERVED } from "../../src/arch/memmap";
import { findMultiboot, loadMultiboot } from "../../src/loaders/multiboot";
import { GuestMemory } from "../../src/memory/guest-memory";

const code = Uint8Array.of(0xba, 0xea, 0, 0, 0, 0xef, 0xf4); // mov edx, 0xea; out dx, eax; hlt

/** A raw Multiboot 1 image: the header (with address fields when flag 16 is set) at `at`, code at 0x20. */
function mb1(opts: { flags?: number; at?: number; checksum?: number; address?: number[] } = {}): Uint8Array {
  const at = opts.at ?? 0;
  const flags = opts.flags ?? 0x10003;
  const img = new Uint8Array(at + 0x40);
  const dv = new DataView(img.buffer);
  dv.setUint32(at, 0x1badb002, true);
  dv.setUint32(at + 4, flags, true);
  dv.setUint32(at + 8, opts.checksum ?? (0x100000000 - ((0x1badb002 + flags) % 2 ** 32)) % 2 ** 32, true);
  (opts.address ?? [0x100000 + at, 0x100000, 0, 0x101000, 0x100020 + at]).forEach((v, i) => dv.setUint32(at + 12 + 4 * i, v, true));
  img.set(code, at + 0x20);
  return img;
}

/** A Multiboot2 header with the given tags (type, flags, body words), then the end tag. */
function mb2(tags: Array<[number, number, number[]]>): Uint8Array {
  const parts: number[] = [];
  for (const [type, flags, body] of tags) {
    const size = 8 + 4 * body.length;
    parts.push(type | (flags << 16), size, ...body);
    if (size % 8 !== 0) parts.push(0);
  }
  parts.push(0, 8);
  const length = 16 + parts.length * 4;
  const words = [0xe85250d6, 0, length, (0x100000000 - ((0xe85250d6 + length) % 2 ** 32)) % 2 ** 32, ...parts];
  return new Uint8Array(new Uint32Array(words).buffer);
}

const mem = () => GuestMemory.fromBuffers([{ gpa: 0, size: 4 << 20 }]);

describe("multiboot headers", () => {
  test("Multiboot 1: found 4-aligned in the first 8 KiB with a good checksum; not otherwise", () => {
    expect(findMultiboot(mb1())).toMatchObject({ version: 1, offset: 0, flags: 0x10003 });
    expect(findMultiboot(mb1({ at: 0x1ff4, flags: 3 }))?.offset).toBe(0x1ff4); // its 12 bytes end at 8 KiB
    expect(findMultiboot(mb1({ at: 0x1ff8, flags: 3 }))).toBeUndefined(); // not wholly within it
    expect(findMultiboot(mb1({ at: 0x2000 }))).toBeUndefined(); // past 8 KiB
    expect(findMultiboot(mb1({ checksum: 1 }))).toBeUndefined(); // a stray magic is not a header
  });

  test("Multiboot 1: a video mode or an unknown requirement is refused; truncated address fields too", () => {
    expect(() => findMultiboot(mb1({ flags: 0x10007 }))).toThrow("asks for a graphics mode (flags bit 2, mode_type 0)");
    const text = new Uint8Array(0x40);
    new Uint32Array(text.buffer, 0, 9).set([0x1badb002, 4, 0x100000000 - (0x1badb002 + 4), 0, 0, 0, 0, 0, 1]); // mode_type 1: EGA text
    expect(findMultiboot(text)).toMatchObject({ version: 1, flags: 4 });
    expect(() => findMultiboot(text.subarray(0, 40))).toThrow("the video mode fields run past the end of the file");
    expect(() => findMultiboot(mb1({ flags: 0x10013 }))).toThrow("requires features microvmm does not know (flags 0x10)");
    expect(() => findMultiboot(mb1().subarray(0, 20))).toThrow("the address fields run past the end of the file");
  });

  test("Multiboot 1 address fields: the file from its load address, bss zeroed, the entry checked", () => {
    const m = mem();
    m.fill(0x100000, 0x1000, 0xaa);
    const img = loadMultiboot(findMultiboot(mb1())!, mb1(), m);
    expect(img.entry).toBe(0x100020);
    expect(img.segments).toEqual([{ gpa: 0x100000, fileSize: 0x40, memSize: 0x1000 }]);
    expect(m.readU8(0x100020)).toBe(0xba);
    expect(m.readU8(0x100fff)).toBe(0); // bss
    const bad = (address: number[], message: string) => {
      const i = mb1({ address });
      expect(() => loadMultiboot(findMultiboot(i)!, i, mem())).toThrow(message);
    };
    bad([0x100000, 0x100010, 0, 0, 0x100020], "load_addr 0x100010 is above header_addr");
    bad([0x100000, 0x100000, 0x100100, 0, 0x100020], "load_end_addr 0x100100 is below load_addr or past the end of the file");
    bad([0x100000, 0x100000, 0, 0x100010, 0x100020], "bss_end_addr 0x100010 is below the end of the loaded image");
    bad([0x100000, 0x100000, 0, 0, 0x200000], "entry 0x200000 is outside the image");
    bad([0x3ff000, 0x3ff000, 0, 0x500000, 0x3ff020], "does not fit in guest RAM");
  });

  test("Multiboot2: required tags microvmm cannot meet are refused, optional ones pass; malformed tags are refused", () => {
    expect(findMultiboot(mb2([[1, 0, [1, 4, 6]]]))).toMatchObject({ version: 2, requested: [1, 4, 6] });
    expect(() => findMultiboot(mb2([[1, 0, [15]]]))).toThrow("requires boot information tag 15"); // the ACPI 2.0 RSDP: ours is 1.0
    expect(findMultiboot(mb2([[1, 1, [15]]]))?.requested).toEqual([15]);
    expect(findMultiboot(mb2([[1, 0, [3, 8, 14]]]))?.requested).toEqual([3, 8, 14]); // modules, framebuffer, old RSDP
    expect(() => findMultiboot(mb2([[5, 0, [1024, 768, 32]]]))).toThrow("requires a graphics framebuffer");
    expect(findMultiboot(mb2([[5, 0, [80, 25, 0]]]))).toBeDefined(); // depth 0: EGA text will do
    expect(findMultiboot(mb2([[5, 1, [1024, 768, 32]]]))).toBeDefined();
    expect(() => findMultiboot(mb2([[7, 0, []]]))).toThrow("requires tag 7 (EFI or unknown)");
    const overrun = mb2([[3, 0, [0x100000]]]);
    new DataView(overrun.buffer).setUint32(16 + 4, 0x1000, true); // the entry tag's size, past the header
    expect(() => findMultiboot(overrun)).toThrow("outside the header");
  });
});

describe("multiboot information", () => {
  const map = [
    { base: 0, length: 0x9fc00, type: E820_RAM }, { base: 0x9fc00, length: 0x60400, type: E820_RESERVED },
    { base: 0x100000, length: 0x3f00000, type: E820_RAM },
  ] as const;
  const rsdp = new TextEncoder().encode("RSD PTR 0123456789AB");
  const modules = [{ start: 0x200000, end: 0x200123, cmdline: "mod.bin arg" }, { start: 0x201000, end: 0x201000, cmdline: "empty" }];
  const facts = { cmdline: "k.elf quiet", ...basicMemory(map), memoryMap: map, loadBase: 0x100000, modules, rsdp };

  test("mem_lower and mem_upper as a BIOS would say them", () => {
    expect(basicMemory(map)).toEqual({ memLower: 639, memUpper: 0x3f00000 / 1024 });
  });

  test("Multiboot 1: the struct at the spec's offsets, then the map and the strings it points at", () => {
    const base = 0x7000;
    const bytes = multibootInfo1(base, facts);
    const dv = new DataView(bytes.buffer);
    expect(multiboot_info.size).toBe(116);
    expect([multiboot_info.offsetOf("cmdline"), multiboot_info.offsetOf("mmap_length"), multiboot_info.offsetOf("boot_loader_name"), multiboot_info.offsetOf("framebuffer_addr")]).toEqual([16, 44, 64, 88]);
    expect(dv.getUint32(0, true)).toBe(MBI_MEMORY | MBI_BOOT_DEVICE | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME | MBI_FRAMEBUFFER);
    expect(dv.getUint32(12, true)).toBe(0x8000ffff); // boot_device: the first hard disk, as QEMU gives it
    expect([dv.getUint32(4, true), dv.getUint32(8, true)]).toEqual([639, 0x3f00000 / 1024]);
    const at = (gpa: number) => gpa - base;
    const str = (gpa: number) => new TextDecoder().decode(bytes.subarray(at(gpa), bytes.indexOf(0, at(gpa))));
    expect(str(dv.getUint32(16, true))).toBe("k.elf quiet");
    expect(str(dv.getUint32(64, true))).toBe(LOADER_NAME);
    expect(dv.getUint32(44, true)).toBe(3 * 24);
    const e1 = at(dv.getUint32(48, true)) + 24; // the second entry
    expect([dv.getUint32(e1, true), Number(dv.getBigUint64(e1 + 4, true)), Number(dv.getBigUint64(e1 + 12, true)), dv.getUint32(e1 + 20, true)]).toEqual([20, 0x9fc00, 0x60400, 2]);
    // Modules: count, then 16-byte entries (start, end, command line, padding).
    expect(dv.getUint32(20, true)).toBe(2);
    const mods = at(dv.getUint32(24, true));
    expect([dv.getUint32(mods, true), dv.getUint32(mods + 4, true), str(dv.getUint32(mods + 8, true))]).toEqual([0x200000, 0x200123, "mod.bin arg"]);
    expect([dv.getUint32(mods + 16, true), dv.getUint32(mods + 20, true), str(dv.getUint32(mods + 24, true))]).toEqual([0x201000, 0x201000, "empty"]);
    // The framebuffer: EGA text at 0xB8000, 160 bytes a row, 80×25, 16 bits a cell, type 2.
    expect(Number(dv.getBigUint64(88, true))).toBe(0xb8000);
    expect([dv.getUint32(96, true), dv.getUint32(100, true), dv.getUint32(104, true), bytes[108], bytes[109]]).toEqual([160, 80, 25, 16, 2]);
  });

  test("Multiboot2: 8-aligned tags with their sizes, the map's entry size, the end tag, total_size", () => {
    const bytes = multibootInfo2(facts);
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(0, true)).toBe(bytes.length);
    const tags: Array<{ type: number; size: number; at: number }> = [];
    for (let at = 8; at < bytes.length;) {
      const t = { type: dv.getUint32(at, true), size: dv.getUint32(at + 4, true), at };
      tags.push(t);
      expect(at % 8).toBe(0);
      at += Math.ceil(t.size / 8) * 8;
    }
    expect(tags.map((t) => t.type)).toEqual([1, 2, 3, 3, 4, 6, 8, 14, 21, 0]);
    expect(tags.at(-1)!.size).toBe(8);
    const mmap = tags[5]!;
    const mod = tags[2]!;
    expect([dv.getUint32(mod.at + 8, true), dv.getUint32(mod.at + 12, true)]).toEqual([0x200000, 0x200123]);
    expect(new TextDecoder().decode(bytes.subarray(mod.at + 16, mod.at + mod.size - 1))).toBe("mod.bin arg");
    const fb = tags[6]!;
    expect([Number(dv.getBigUint64(fb.at + 8, true)), dv.getUint32(fb.at + 16, true), dv.getUint32(fb.at + 20, true), dv.getUint32(fb.at + 24, true), bytes[fb.at + 28], bytes[fb.at + 29]]).toEqual([0xb8000, 160, 80, 25, 16, 2]);
    const acpi = tags[7]!;
    expect(acpi.size).toBe(28);
    expect(bytes.subarray(acpi.at + 8, acpi.at + 28)).toEqual(rsdp);
    expect([dv.getUint32(mmap.at + 8, true), dv.getUint32(mmap.at + 12, true), (mmap.size - 16) / 24]).toEqual([24, 0, 3]);
    expect(dv.getUint32(tags[8]!.at + 8, true)).toBe(0x100000);
  });
});
