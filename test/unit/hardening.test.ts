// Bounds a hostile guest cannot push: the reports it can cause, the unclaimed-MMIO table, and
// long-mode identity maps past 512 GiB (one PDPT is not enough there).
import { describe, expect, test } from "bun:test";
import { longModeIdentityTables, longModeTablePages } from "../../src/arch/boot-state";
import { MAX_MEMORY_SIZE, ramLayout } from "../../src/arch/layout";
import * as X from "../../src/arch/x86";
import { GuestReports } from "../../src/core/reports";
import { MAX_MMIO_MISS_ADDRESSES, MmioBus } from "../../src/vcpu/bus";

describe("guest reports", () => {
  test("the first five of each kind are printed, then one note, then only counted", () => {
    const printed: string[] = [];
    const r = new GuestReports((l) => printed.push(l));
    for (let i = 0; i < 1000; i++) r.report("disk", `bad request ${i}`);
    r.report("hypercall", "bad pointer");
    expect(printed).toEqual([
      "bad request 0", "bad request 1", "bad request 2", "bad request 3", "bad request 4",
      "(disk: further reports are counted, not printed; --stats has the total)", "bad pointer",
    ]);
    expect(Object.fromEntries(r.counts)).toEqual({ disk: 1000, hypercall: 1 });
  });
});

describe("unclaimed MMIO", () => {
  test("each address is counted until the table is full; then new ones share one count; each reported once", () => {
    let reported = 0;
    const bus = new MmioBus(() => { reported++; });
    const data = new Uint8Array(4);
    for (let i = 0; i < 100_000; i++) bus.write(0x9000_0000 + i * 8, data);
    bus.read(0x9000_0000, data);
    expect(bus.misses.size).toBe(MAX_MMIO_MISS_ADDRESSES);
    expect(bus.misses.get(0x9000_0000)).toEqual({ reads: 1, writes: 1 });
    expect(bus.otherMisses).toEqual({ reads: 0, writes: 100_000 - MAX_MMIO_MISS_ADDRESSES });
    expect(reported).toBe(100_000); // the reporter rate-limits what is printed
  });
});

describe("long-mode identity map of the largest RAM", () => {
  /** Walks PML4 → PDPT → PD (2 MiB leaves) in the table bytes, placed at `base`. */
  function walk(tables: Uint8Array, base: number, va: number): number | undefined {
    const dv = new DataView(tables.buffer);
    const entry = (tableGpa: number, i: number) => {
      const at = tableGpa - base + i * 8;
      if (at < 0 || at + 8 > tables.length) throw new Error(`table entry at 0x${tableGpa.toString(16)} is outside the tables`);
      return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
    };
    const idx = (shift: number) => Math.floor(va / 2 ** shift) % 512;
    const frame = (e: number) => e - (e % 0x1000);
    let e = entry(base, idx(39));
    if ((e & 1) === 0) return undefined;
    e = entry(frame(e), idx(30));
    if ((e & 1) === 0) return undefined;
    e = entry(frame(e), idx(21));
    if ((e & 1) === 0 || (e & Number(X.PTE_PAGE_SIZE)) === 0) return undefined;
    return e - (e % X.PAGE_2M) + (va % X.PAGE_2M); // the 2 MiB frame (flags are in the low bits) plus the offset
  }

  test("RAM ending past 512 GiB (the maximum, with the MMIO hole) is mapped to its last byte, with a second PDPT", () => {
    const end = ramLayout(MAX_MEMORY_SIZE).at(-1)!;
    const top = end.gpa + end.size; // 513 GiB
    expect(top).toBe(513 * 2 ** 30);
    const base = 0x10_0000;
    const tables = longModeIdentityTables(base, top);
    expect(tables.length / X.PAGE_SIZE).toBe(longModeTablePages(top));
    expect(longModeTablePages(top)).toBe(1 + 2 + 513);
    for (const va of [0, 0x1234_5678, 511 * 2 ** 30 + 0x1000, 512 * 2 ** 30, top - 1]) expect(walk(tables, base, va)).toBe(va);
    expect(walk(tables, base, top)).toBeUndefined(); // nothing past RAM's last GiB
  });
});
