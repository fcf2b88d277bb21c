// Loaders on tiny fixture images; each negative case changes one thing and expects one error.
import { describe, expect, test } from "bun:test";
import { findPvhEntry, isElf, loadElf, parseElf } from "../../src/loaders/elf";
import { loadRaw } from "../../src/loaders/raw";
import { PlainBoot } from "../../src/boot/plain";
import { classify } from "../../src/guest-file";
import { GuestMemory } from "../../src/memory/guest-memory";
import { buildElf, phField } from "../fixtures/elf";

const RAM = 0x40000;
const mem = () => GuestMemory.fromBuffers([{ gpa: 0, size: RAM }]);
const code = Uint8Array.of(0xb0, 0x41, 0xe6, 0x42, 0xf4); // mov al,'A'; out 0x42,al; hlt

function elf64(over: Partial<Parameters<typeof buildElf>[0]> = {}) {
  return buildElf({ bits: 64, entry: 0x10000, segments: [{ paddr: 0x10000, data: code, memsz: 0x2000 }], ...over });
}

function loadBytes(bytes: Uint8Array, m = mem()) {
  return loadElf(parseElf(bytes), m);
}

function expectError(bytes: Uint8Array, message: string | RegExp) {
  expect(() => loadBytes(bytes)).toThrow(message);
}

function patch(bytes: Uint8Array, at: number, value: number, width: 1 | 2 | 4 | 8 = 4) {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  if (width === 1) dv.setUint8(at, value); else if (width === 2) dv.setUint16(at, value, true);
  else if (width === 4) dv.setUint32(at, value, true); else dv.setBigUint64(at, BigInt(value), true);
  return out;
}

describe("ELF loader", () => {
  test("places PT_LOAD segments at p_paddr, zeroes bss, starts at e_entry", () => {
    const m = mem();
    m.fill(0, RAM, 0xcc); // bss must be zeroed, not left as found
    const img = loadBytes(elf64(), m);
    expect(img).toEqual({ format: "elf64", entry: 0x10000, segments: [{ gpa: 0x10000, fileSize: 5, memSize: 0x2000 }] });
    expect(m.readU8(0x10001)).toBe(0x41);
    expect(m.readU8(0x10005)).toBe(0);
    expect(m.readU8(0x11fff)).toBe(0);
    expect(m.readU8(0x12000)).toBe(0xcc);
  });

  test("ELFCLASS32 and several segments; non-LOAD segments are skipped", () => {
    const m = mem();
    const bytes = buildElf({ bits: 32, entry: 0x20002, segments: [
      { paddr: 0x20000, data: code }, { paddr: 0, data: Uint8Array.of(9), type: 4 /* PT_NOTE */ }, { paddr: 0x30000, data: Uint8Array.of(7, 7) },
    ] });
    expect(loadBytes(bytes, m)).toEqual({ format: "elf32", entry: 0x20002, segments: [
      { gpa: 0x20000, fileSize: 5, memSize: 5 }, { gpa: 0x30000, fileSize: 2, memSize: 2 },
    ] });
    expect(m.readU8(0)).toBe(0); // the note was not loaded
  });

  test("an entry given as a virtual address is moved to the segment's physical address", () => {
    const img = loadBytes(elf64({ entry: 0xffff_ffff_8000_0001n, segments: [{ paddr: 0x10000, vaddr: 0xffff_ffff_8000_0000n, data: code }] }));
    expect(img.entry).toBe(0x10001);
  });

  test("an ELF with no section headers loads (elfy alone cannot parse it)", () => {
    expect(loadBytes(elf64({ noSections: true })).entry).toBe(0x10000);
  });

  test("rejects, each with its message", () => {
    const good = elf64();
    expect(isElf(good)).toBe(true);
    expectError(good.subarray(0, 3), "not an ELF file");
    expectError(good.subarray(0, 40), "truncated ELF header: 40 bytes, need 64");
    expectError(patch(good, 4, 3, 1), "ELF class 3 is neither ELFCLASS32 nor ELFCLASS64");
    expectError(patch(good, 5, 2, 1), "ELF is not little-endian");
    expectError(patch(good, 18, 40, 2), "wrong machine: e_machine 40, a 64-bit x86 guest has 62 (EM_X86_64)");
    expectError(patch(good, 16, 3, 2), "ELF type 3 is not ET_EXEC");
    expectError(patch(good, 56, 0, 2), "ELF has no program headers");
    expectError(patch(good, 56, 300, 2), "ELF has 300 program headers");
    expectError(good.subarray(0, 100), /truncated ELF: program headers at 0x40 run past the end/);
    expectError(patch(good, phField(64, 0, "type"), 4), "ELF has no PT_LOAD segment");
    expectError(patch(good, phField(64, 0, "filesz"), 0x100000, 8), /truncated ELF: segment 0 needs file bytes up to/);
    expectError(patch(good, phField(64, 0, "memsz"), 2, 8), "segment 0: p_memsz 0x2 is smaller than p_filesz 0x5");
    expectError(patch(good, phField(64, 0, "paddr"), RAM - 0x1000, 8), "segment 0 (0x3f000-0x41000) is outside guest RAM (ends at 0x40000)");
    expectError(patch(good, phField(64, 0, "memsz"), RAM + 1, 8), `image needs ${RAM + 1} bytes but guest RAM is ${RAM}`);
    expectError(patch(good, 24, 0x9000, 8), "entry 0x9000 is outside every loaded segment");
    expectError(elf64({ segments: [{ paddr: 0x10000, data: code, memsz: 0x100 }, { paddr: 0x10080, data: code }] }), "segments 0 and 1 overlap at 0x10080");
    expectError(patch(good, phField(64, 0, "paddr"), 2 ** 62, 8), "segment 0: p_paddr is out of range");
  });

  test("nothing is written to RAM when the image is rejected", () => {
    const m = mem();
    const bad = elf64({ segments: [{ paddr: 0x10000, data: code }, { paddr: RAM, data: code }] });
    expect(() => loadBytes(bad, m)).toThrow(/outside guest RAM/);
    expect(m.readU8(0x10001)).toBe(0);
  });
});

describe("raw loader", () => {
  test("copies the bytes to the load address", () => {
    const m = mem();
    expect(loadRaw(code, m, 0x1000, 0x1002)).toEqual({ format: "raw", entry: 0x1002, segments: [{ gpa: 0x1000, fileSize: 5, memSize: 5 }] });
    expect(m.readU8(0x1004)).toBe(0xf4);
  });

  test("rejects empty, larger than RAM, past the end, and an entry outside the image", () => {
    expect(() => loadRaw(new Uint8Array(0), mem(), 0, 0)).toThrow("raw image is empty");
    expect(() => loadRaw(new Uint8Array(RAM + 1), mem(), 0, 0)).toThrow(`image is ${RAM + 1} bytes but guest RAM is ${RAM}`);
    expect(() => loadRaw(code, mem(), RAM - 2, RAM - 2)).toThrow("image (5 bytes) at 0x3fffe is outside guest RAM (ends at 0x40000) — raise --memory or change --load");
    expect(() => loadRaw(code, mem(), 0, 5)).toThrow("entry 0x5 is outside the image (0x0-0x5)");
  });
});

describe("choosing the loader", () => {
  test("not ELF and no --mode is refused; the message names the file", () => {
    expect(() => PlainBoot.place({ file: classify("g.bin", code) }, mem())).toThrow("g.bin: not an ELF file; to run a raw binary give --mode real|protected|paged|long");
  });

  test("ELF classes pick their mode; paged is allowed for 32-bit, nothing else", () => {
    const e32 = buildElf({ bits: 32, entry: 0x10000, segments: [{ paddr: 0x10000, data: code }] });
    expect(PlainBoot.place({ file: classify("a", e32) }, mem()).mode).toBe("protected");
    expect(PlainBoot.place({ file: classify("a", e32), mode: "paged" }, mem()).mode).toBe("paged");
    expect(PlainBoot.place({ file: classify("a", elf64()) }, mem()).mode).toBe("long");
    expect(() => PlainBoot.place({ file: classify("a", elf64()), mode: "real" }, mem())).toThrow("a: an ELFCLASS64 guest runs in long mode, not real");
  });

  test("a range the machine reserves (the MP table with --cpus): the image may not overlap it, the boot area avoids it, the map reserves it", () => {
    const table = { start: 0x11000, end: 0x11200, what: "the MP table" };
    // The image's bss (0x10000-0x12000) reaches into the table.
    expect(() => PlainBoot.place({ file: classify("a", elf64()) }, mem(), [table])).toThrow("a: the image (0x10000-0x12000) overlaps the MP table at 0x11000-0x11200: load it elsewhere");
    // At the top of RAM, where the boot area would go: it moves below.
    const top = { start: RAM - 0x1000, end: RAM, what: "a table" };
    const free = PlainBoot.place({ file: classify("a", elf64()) }, mem());
    expect(free.area.base + free.area.size).toBe(RAM);
    const boot = PlainBoot.place({ file: classify("a", elf64()) }, mem(), [top]);
    expect(boot.area.base + boot.area.size).toBeLessThanOrEqual(top.start);
    expect(boot.memoryMap.at(-1)).toEqual({ base: boot.area.base, length: RAM - boot.area.base, type: 2 });
    expect(boot.memoryMap.filter((e) => e.type === 1).every((e) => e.base + e.length <= boot.area.base)).toBe(true);
  });
});

describe("PVH note", () => {
  const note = (name: string, type: number, desc: number[]) => {
    const n = Buffer.from(name + "\0");
    const pad = (b: Uint8Array) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(n.length, 0); head.writeUInt32LE(desc.length, 4); head.writeUInt32LE(type, 8);
    return Buffer.concat([head, pad(n), pad(Uint8Array.from(desc))]);
  };

  test("XEN_ELFNOTE_PHYS32_ENTRY is found among other notes, in a PT_NOTE segment of a real ELF", () => {
    const notes = Buffer.concat([note("GNU", 3, [1, 2, 3, 4]), note("Xen", 6, [0x6c, 0x69]), note("Xen", 18, [0x50, 0x08, 0x00, 0x01, 0, 0, 0, 0])]);
    expect(findPvhEntry(notes)).toBe(0x1000850);
    const elf = buildElf({ bits: 64, entry: 0x10000, segments: [{ paddr: 0x10000, data: code }, { paddr: 0, data: notes, type: 4 }] });
    expect(parseElf(elf).pvhEntry).toBe(0x1000850);
    expect(parseElf(elf64()).pvhEntry).toBeUndefined();
  });

  test("malformed notes end the walk instead of reading past the segment", () => {
    const bad = note("Xen", 18, [1, 2, 3, 4]);
    bad.writeUInt32LE(0xffffff, 4); // descsz far past the end
    expect(findPvhEntry(bad)).toBeUndefined();
    expect(findPvhEntry(note("Xen", 18, [1, 2]))).toBeUndefined(); // too short for an address
    expect(findPvhEntry(note("Xex", 18, [1, 2, 3, 4]))).toBeUndefined();
  });
});
