import { describe, expect, test } from "bun:test";
import { CHUNK, GuestMemory, GuestMemoryError } from "../../src/memory/guest-memory";
import { ramLayout, MMIO_HOLE_END, MMIO_HOLE_START } from "../../src/arch/layout";

describe("guest memory", () => {
  const mem = () => GuestMemory.fromBuffers([{ gpa: 0, size: 0x4000 }, { gpa: 0x10000, size: 0x2000 }], 0x1000);

  test("reads and writes by guest-physical address, across view boundaries", () => {
    const m = mem();
    m.write(0xffe, Uint8Array.of(1, 2, 3, 4));
    const out = new Uint8Array(4);
    m.read(0xffe, out);
    expect([...out]).toEqual([1, 2, 3, 4]);
    m.writeU64(0x1ffc, 0x1122334455667788n);
    expect(m.readU64(0x1ffc)).toBe(0x1122334455667788n);
    expect(m.readU32(0x1ffc)).toBe(0x55667788);
    expect(m.slices(0xffe, 4).map((s) => s.length)).toEqual([2, 2]);
    expect(() => m.slice(0xffe, 4)).toThrow(/crosses/);
  });

  test("copyIn / copyOut move part of a buffer, inside one view and across two; outside RAM they throw and copy nothing", () => {
    const m = mem();
    const src = Uint8Array.of(9, 8, 7, 6, 5, 4);
    m.copyIn(0x100, src, 1, 3);
    m.copyIn(0xffe, src, 2, 4); // 7 6 | 5 4 across the view boundary at 0x1000
    expect([...m.slice(0x100, 4)]).toEqual([8, 7, 6, 0]);
    const dst = new Uint8Array(8).fill(0xee);
    m.copyOut(0xffe, dst, 3, 4);
    m.copyOut(0x100, dst, 0, 2);
    expect([...dst]).toEqual([8, 7, 0xee, 7, 6, 5, 4, 0xee]);
    expect(() => m.copyIn(0x3ffe, src, 0, 4, "test")).toThrow("test: guest physical 0x3ffe+0x4 is not in guest RAM");
    expect(() => m.copyOut(0x5000, dst, 0, 1)).toThrow(GuestMemoryError);
    expect(m.readU16(0x3ffe)).toBe(0);
  });

  test("edges: the last byte is in, one past the end is out, straddling the end is out", () => {
    const m = mem();
    m.writeU8(0x3fff, 7);
    expect(m.readU8(0x3fff)).toBe(7);
    expect(() => m.readU8(0x4000)).toThrow(GuestMemoryError);
    expect(() => m.readU32(0x3ffe)).toThrow(GuestMemoryError);
    expect(() => m.readU32(0x11ffe)).toThrow(GuestMemoryError);
    expect(m.contains(0x10000, 0x2000)).toBe(true);
    expect(m.contains(0x10000, 0x2001)).toBe(false);
  });

  test("addresses in a hole, negative, fractional or huge are refused with the address in the error", () => {
    const m = mem();
    for (const [gpa, len] of [[0x5000, 1], [-1, 1], [0.5, 1], [2 ** 60, 1], [0, -1], [0, 2 ** 64], [0x3000, Number.NaN]] as const) {
      expect(m.contains(gpa, len)).toBe(false);
    }
    expect(() => m.fill(0x5000, 4, 0, "test")).toThrow("test: guest physical 0x5000+0x4 is not in guest RAM");
  });

  test("hostRange: none for memory that is not mmap'd (the device then uses views); outside RAM it throws", () => {
    expect(mem().hostRange(0x100, 16)).toBeUndefined();
    expect(() => mem().hostRange(0x3ff0, 0x20)).toThrow(GuestMemoryError);
  });

  test("hostRanges: every range checked into addrs/lens; false where they do not fit or nothing is mmap'd", () => {
    const addrs = new Float64Array(2), lens = new Float64Array(2);
    expect(mem().hostRanges([{ gpa: 0x100, len: 16 }], addrs, lens)).toBe(false);
    const m = GuestMemory.anonymous([{ gpa: 0, size: 0x10000 }]);
    try {
      const base = m.regions[0]!.hostAddr;
      expect(m.hostRanges([{ gpa: 0x100, len: 16 }, { gpa: 0x8000, len: 0x8000 }], addrs, lens)).toBe(true);
      expect([...addrs, ...lens]).toEqual([base + 0x100, base + 0x8000, 16, 0x8000]);
      // A third range has no room: the caller copies through views instead (never a short list).
      expect(m.hostRanges([{ gpa: 0, len: 1 }, { gpa: 1, len: 1 }, { gpa: 2, len: 1 }], addrs, lens)).toBe(false);
      expect(() => m.hostRanges([{ gpa: 0x100, len: 16 }, { gpa: 0xfff0, len: 0x20 }], addrs, lens, "a frame")).toThrow("a frame: guest physical 0xfff0+0x20 is not in guest RAM");
    } finally {
      m.unmap();
    }
  });

  test("a zero-length access inside RAM is fine", () => {
    expect(mem().slices(0x100, 0)).toEqual([]);
  });

  test("size, end; the RAM layout leaves the 3-4 GiB hole above 3 GiB", () => {
    expect(mem().size).toBe(0x6000);
    expect(mem().end).toBe(0x12000);
    expect(ramLayout(64 << 20)).toEqual([{ gpa: 0, size: 64 << 20 }]);
    expect(ramLayout(MMIO_HOLE_START)).toEqual([{ gpa: 0, size: MMIO_HOLE_START }]);
    expect(ramLayout(8 * 2 ** 30)).toEqual([{ gpa: 0, size: MMIO_HOLE_START }, { gpa: MMIO_HOLE_END, size: 8 * 2 ** 30 - MMIO_HOLE_START }]);
  });

  test("anonymous memory: large and untouched is cheap, several views above 4 GiB", () => {
    const m = GuestMemory.anonymous(ramLayout(12 * 2 ** 30)); // 3 GiB below the hole, 9 GiB above
    const V = CHUNK;
    try {
      expect(m.regions[1]!.chunks.length).toBe(3);
      // Views are made when an access first reaches them, only those covering the access.
      expect(m.regions.flatMap((r) => r.chunks).every((c) => c === undefined)).toBe(true);
      m.writeU8(0x1000, 1);
      expect(m.slice(0x1000, 1)[0]).toBe(1);
      expect(m.regions[0]!.chunks.map((c) => c !== undefined)).toEqual([true]); // all RAM below the hole is one view
      expect(m.regions[1]!.chunks.every((c) => c === undefined)).toBe(true);
      m.writeU32(0x1_0000_0000 + V - 2, 0xdeadbeef); // straddles the first two views above 4 GiB
      expect(m.readU32(0x1_0000_0000 + V - 2)).toBe(0xdeadbeef);
      expect(m.slices(0x1_0000_0000 + V - 2, 4).map((s) => [...s])).toEqual([[0xef, 0xbe], [0xad, 0xde]]);
      expect(m.regions[1]!.chunks.map((c) => c !== undefined)).toEqual([true, true, false]);
      m.writeU8(0x1_0000_0000 + 9 * 2 ** 30 - 1, 9); // the last byte of RAM
      expect(m.readU8(0x1_0000_0000 + 9 * 2 ** 30 - 1)).toBe(9);
      expect(m.hostAddress(0x1000)).toBe(m.regions[0]!.hostAddr + 0x1000);
      expect(m.hostAddress(MMIO_HOLE_START)).toBeUndefined();
      // hostRange: a range wholly in one region (one mapping) for a system call; anything else throws.
      expect(m.hostRange(0x1_0000_0000 + V - 2, 4)).toBe(m.regions[1]!.hostAddr + V - 2);
      expect(() => m.hostRange(MMIO_HOLE_START - 2, 4, "a disk buffer")).toThrow(GuestMemoryError);
      expect(() => m.hostRange(0x1_0000_0000 + 9 * 2 ** 30 - 1, 2)).toThrow(GuestMemoryError);
    } finally {
      m.unmap();
    }
  });
});
