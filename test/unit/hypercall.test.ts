// The hypercall device with fake memory, a fake page table and an array for stdout/stderr.
import { describe, expect, test } from "bun:test";
import { HC_DEBUGCON, HC_EXIT_COUNT, HC_IO_COUNTS, HC_PRINT_DECIMAL, HC_PRINT_STRING, HC_SET_GVA, HC_TRANSLATE, Hypercalls, STRING_MAX } from "../../src/devices/hypercall";
import { GuestMemory } from "../../src/memory/guest-memory";

const RAM = 0x40000;
const SCRATCH = 0x3f000;

/** Pages of guest-virtual space mapped to guest-physical pages; anything else does not translate. */
function setup(pages: Record<number, number> | "identity" = "identity") {
  const memory = GuestMemory.fromBuffers([{ gpa: 0, size: RAM }]);
  const out: string[] = [];
  const warnings: string[] = [];
  let exits = 0;
  const hc = new Hypercalls(memory, SCRATCH, {
    write: (b) => out.push(Buffer.from(b).toString("latin1")),
    warn: (m) => warnings.push(m),
    exitCount: () => exits,
    ioCounts: () => ({ in: 3, out: 4 }),
    translate: (gva) => {
      if (pages === "identity") return gva;
      const page = pages[Math.floor(gva / 0x1000) * 0x1000];
      return page === undefined ? undefined : page + (gva % 0x1000);
    },
  });
  return { memory, hc, out, warnings, setExits: (n: number) => { exits = n; } };
}

describe("hypercalls", () => {
  test("0xE9 prints bytes as they come, 0xEA in decimal, unsigned", () => {
    const { hc, out } = setup();
    for (const c of "Hi\n") hc.write(HC_DEBUGCON, 1, c.charCodeAt(0));
    hc.write(HC_PRINT_DECIMAL, 4, 2048);
    hc.write(HC_PRINT_DECIMAL, 4, 0xffffffff);
    hc.write(HC_PRINT_DECIMAL, 1, 7);
    expect(out).toEqual(["H", "i", "\n", "2048\n", "4294967295\n", "7\n"]);
    expect(hc.calls).toMatchObject({ debugcon: 3, printDecimal: 3 });
  });

  test("0xEB reads the exit count, narrowed to the access size", () => {
    const { hc, setExits } = setup();
    setExits(0x12345);
    expect(hc.read(HC_EXIT_COUNT, 4)).toBe(0x12345);
    expect(hc.read(HC_EXIT_COUNT, 1)).toBe(0x45);
  });

  test("0xEC prints a string in one call, following the page tables across non-contiguous pages", () => {
    // Virtual 0x10000 → physical 0x5000, virtual 0x11000 → physical 0x2000.
    const { memory, hc, out } = setup({ 0x10000: 0x5000, 0x11000: 0x2000 });
    memory.write(0x5ffa, Buffer.from("hello "));
    memory.write(0x2000, Buffer.from("world\n\0"));
    hc.write(HC_PRINT_STRING, 4, 0x10ffa);
    expect(out).toEqual(["hello world\n"]);
  });

  test("0xEC refuses: not RAM, no NUL within the cap, not mapped — and says why", () => {
    const { memory, hc, out, warnings } = setup({ 0x10000: 0x5000, 0x20000: RAM + 0x1000 });
    memory.fill(0, RAM, 0x41);
    hc.write(HC_PRINT_STRING, 4, 0x20000);
    hc.write(HC_PRINT_STRING, 4, 0x10000); // 'A'... then the next page does not translate
    const { hc: hc2, memory: m2, warnings: w2 } = setup();
    m2.fill(0, RAM, 0x41);
    hc2.write(HC_PRINT_STRING, 4, 0x100);
    hc.write(HC_PRINT_STRING, 4, 0xdead0000);
    expect(out).toEqual([]);
    expect(warnings).toEqual([
      "hypercall 0xEC: string at 0x20000: guest physical 0x41000 is not in guest RAM; nothing printed",
      "hypercall 0xEC: string at 0x10000: address 0x11000 does not translate (not mapped); nothing printed",
      "hypercall 0xEC: string at 0xdead0000: address 0xdead0000 does not translate (not mapped); nothing printed",
    ]);
    expect(w2).toEqual([`hypercall 0xEC: string at 0x100 has no NUL in its first ${STRING_MAX} bytes; nothing printed`]);
  });

  test("0xEC at the very end of RAM, NUL in the last byte, works; one byte further does not", () => {
    const { memory, hc, out, warnings } = setup();
    memory.write(RAM - 3, Buffer.from("ok\0"));
    hc.write(HC_PRINT_STRING, 4, RAM - 3);
    memory.write(RAM - 2, Buffer.from("no"));
    hc.write(HC_PRINT_STRING, 4, RAM - 2);
    expect(out).toEqual(["ok"]);
    expect(warnings[0]).toMatch(/guest physical 0x40000 is not in guest RAM/);
  });

  test("0xED writes the I/O counts into the scratch page and returns its address", () => {
    const { memory, hc } = setup();
    expect(hc.read(HC_IO_COUNTS, 4)).toBe(SCRATCH);
    const text = new Uint8Array(22);
    memory.read(SCRATCH, text);
    expect(Buffer.from(text).toString("latin1")).toBe("IO in: 3\nIO out: 4\n\0\0\0");
  });

  test("0xEE/0xEF: the host address of a translated GVA, or Invalid GVA and 0", () => {
    const memory = GuestMemory.fromBuffers([{ gpa: 0, size: RAM }]);
    const out: string[] = [];
    // A fake host mapping: hostAddress comes from the region's hostAddr, 0 here, so patch it.
    (memory.regions[0] as { hostAddr: number }).hostAddr = 0x7f12_3456_0000;
    const hc = new Hypercalls(memory, SCRATCH, {
      write: (b) => out.push(Buffer.from(b).toString()), warn: () => {}, exitCount: () => 0,
      ioCounts: () => ({ in: 0, out: 0 }), translate: (gva) => (gva < RAM ? gva : undefined),
    });
    hc.write(HC_SET_GVA, 4, 0x1234);
    expect(hc.read(HC_TRANSLATE, 4)).toBe((0x7f12_3456_0000 + 0x1234) % 2 ** 32);
    hc.write(HC_SET_GVA, 4, 0xffffffff);
    expect(hc.read(HC_TRANSLATE, 4)).toBe(0);
    expect(out).toEqual(["Invalid GVA\n"]);
  });

  test("wrong direction is reported and harmless", () => {
    const { hc, warnings, out } = setup();
    hc.write(HC_EXIT_COUNT, 4, 1);
    expect(hc.read(HC_DEBUGCON, 1)).toBe(0xff);
    expect(warnings).toEqual(["hypercall port 0xeb is read-only; write ignored", "hypercall port 0xe9 is write-only; read gives all-ones"]);
    expect(out).toEqual([]);
  });
});
