import { describe, expect, test } from "bun:test";
import * as B from "../../src/arch/bios-data";
import * as M from "../../src/arch/mptable";
import { GuestMemory } from "../../src/memory/guest-memory";
import { Cmos } from "../../src/devices/cmos";

const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);

describe("MP tables (MultiProcessor Specification 1.4)", () => {
  test("the floating pointer: _MP_, the table's address, length 1, revision 1.4, checksum, no IMCR", () => {
    const f = M.mpFloatingPointer(0xf0010);
    const dv = new DataView(f.buffer);
    expect(new TextDecoder().decode(f.subarray(0, 4))).toBe("_MP_");
    expect(dv.getUint32(4, true)).toBe(0xf0010);
    expect([f[8], f[9]]).toEqual([1, 4]);
    expect(sum(f)).toBe(0);
    expect([...f.subarray(11, 16)]).toEqual([0, 0, 0, 0, 0]); // feature bytes: table present, no IMCR
  });

  test("mpTableRange is exactly where writeMpTable writes, for 1 to 255 processors", () => {
    for (const vcpus of [1, 4, 255]) {
      const mem = GuestMemory.fromBuffers([{ gpa: 0, size: 0x100000 }]);
      const used = M.writeMpTable(mem, { vcpus });
      expect(M.mpTableRange({ vcpus })).toEqual({ start: 0xf0000, end: 0xf0000 + used });
      expect(used).toBe(16 + 44 + 20 * vcpus + 8 * (2 + 15 + 2));
    }
  });

  test("the configuration table, field by field: header, processors, ISA bus, IOAPIC, ISA IRQ n to pin n, LINT0/1", () => {
    const t = M.mpConfigTable({ vcpus: 2 });
    const dv = new DataView(t.buffer);
    expect(new TextDecoder().decode(t.subarray(0, 4))).toBe("PCMP");
    expect(dv.getUint16(4, true)).toBe(t.length);
    expect(t[6]).toBe(4);
    expect(sum(t)).toBe(0);
    expect(new TextDecoder().decode(t.subarray(8, 16))).toBe("MICROVMM");
    expect(dv.getUint32(36, true)).toBe(0xfee00000);
    const count = dv.getUint16(34, true);
    let at = 44;
    const entries: number[][] = [];
    for (let i = 0; i < count; i++) {
      const size = t[at] === M.MP_PROCESSOR ? 20 : 8;
      entries.push([...t.subarray(at, at + size)]);
      at += size;
    }
    expect(at).toBe(t.length);
    // Processors: type, APIC ID, APIC version, flags (enabled; the first is the boot processor).
    expect(entries[0]!.slice(0, 4)).toEqual([M.MP_PROCESSOR, 0, 0x14, 3]);
    expect(entries[1]!.slice(0, 4)).toEqual([M.MP_PROCESSOR, 1, 0x14, 1]);
    expect(entries[2]).toEqual([M.MP_BUS, 0, ..."ISA   "].map((x) => typeof x === "string" ? x.charCodeAt(0) : x));
    expect(entries[3]).toEqual([M.MP_IOAPIC, 0, 0x11, 1, 0x00, 0x00, 0xc0, 0xfe]);
    const irqs = entries.filter((e) => e[0] === M.MP_IO_INTERRUPT);
    expect(irqs.map((e) => e[5])).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    for (const e of irqs) expect([e[1], e[2], e[3], e[4], e[6], e[7]]).toEqual([M.MP_INT, 0, 0, 0, 0, e[5]]);
    const lints = entries.filter((e) => e[0] === M.MP_LOCAL_INTERRUPT);
    expect(lints).toEqual([[4, M.MP_EXTINT, 0, 0, 0, 0, 0xff, 0], [4, M.MP_NMI, 0, 0, 0, 0, 0xff, 1]]);
  });
});

describe("what a PC BIOS leaves", () => {
  test("the BIOS data area: COM1, the EBDA's segment, 639 KiB, mode 3 at 80 columns and 25 rows, the CRT port", () => {
    const b = B.biosDataArea({ com1: 0x3f8, crtPort: 0x3d4 });
    const dv = new DataView(b.buffer);
    expect(dv.getUint16(B.BDA_COM1, true)).toBe(0x3f8);
    expect(dv.getUint16(B.BDA_EBDA_SEGMENT, true)).toBe(0x9fc0);
    expect(dv.getUint16(B.BDA_BASE_MEMORY_KB, true)).toBe(639);
    expect(b[B.BDA_VIDEO_MODE]).toBe(3);
    expect(dv.getUint16(B.BDA_COLUMNS, true)).toBe(80);
    expect(b[B.BDA_ROWS_MINUS_ONE]).toBe(24);
    expect(dv.getUint16(B.BDA_CRT_PORT, true)).toBe(0x3d4);
  });

  test("CMOS memory bytes: 640 KiB base, extended KiB capped at 0xFFFF, 64 KiB units above 16 MiB and above 4 GiB", () => {
    const read = (ram: Array<{ gpa: number; size: number }>) => {
      const c = new Cmos(() => new Date(0), B.cmosMemoryFields(ram));
      const at = (i: number) => { c.write(0, 1, i); return c.read(1, 1); };
      return { base: at(0x15) | (at(0x16) << 8), ext: at(0x17) | (at(0x18) << 8), ext2: at(0x30) | (at(0x31) << 8),
        above16m: at(0x34) | (at(0x35) << 8), above4g: at(0x5b) | (at(0x5c) << 8) | (at(0x5d) << 16) };
    };
    expect(read([{ gpa: 0, size: 32 << 20 }])).toEqual({ base: 640, ext: 31 * 1024, ext2: 31 * 1024, above16m: 256, above4g: 0 });
    expect(read([{ gpa: 0, size: 0xc000_0000 }, { gpa: 2 ** 32, size: 2 ** 30 }]))
      .toEqual({ base: 640, ext: 0xffff, ext2: 0xffff, above16m: (0xc000_0000 - 0x100_0000) / 0x10000, above4g: 2 ** 30 / 0x10000 });
  });
});
