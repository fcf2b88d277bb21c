// Console and debugcon writes through KVM's coalesced ring (turned on for a port after its first
// 256 writes): the output, its order against exits and stderr messages, and every count are what
// they are with each write exiting (--no-coalesce).
import { describe, expect, test } from "bun:test";
import { BIN, guest, hasKvm, ROOT, runVmm } from "../helpers";

const merged = (args: string[]) => Bun.spawnSync(["sh", "-c", `${BIN} ${args.join(" ")} 2>&1`], { cwd: ROOT }).stdout.toString();

describe.skipIf(!hasKvm)("coalesced port writes", () => {
  test("output order across the console, debugcon, a hypercall that exits and a stderr message is the guest's", () => {
    const line300 = Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    const expected = [
      line300, line300, // past the threshold on both ports: the ring is on from here
      "ab",
      "microvmm: hypercall 0xEC: string at 0xc0000000: address 0xc0000000 does not translate (not mapped); nothing printed",
      "c", "d", "e (one exit)",
      "IO in: 1", "IO out: 611", // the first 0xED snapshot ...
      "IO in: 5", "IO out: 611", // ... and the second: its own copy, taken after three reads more
      "",
    ].join("\n");
    expect(merged([guest("test-order.elf")])).toBe(expected);
    expect(merged(["--no-coalesce", guest("test-order.elf")])).toBe(expected);
  });

  test("--stats counts are the same with and without the ring; only `coalesced` differs", async () => {
    const stats = async (extra: string[]) => {
      const r = await runVmm(["--stats=json", ...extra, guest("test-order.elf")]);
      expect(r.status).toBe(0);
      return JSON.parse(r.stderr.trim().split("\n").at(-1)!);
    };
    const ring = await stats([]);
    const exits = await stats(["--no-coalesce"]);
    for (const key of ["exits", "portIo", "hypercalls", "unclaimed"]) expect(ring[key]).toEqual(exits[key]);
    expect(ring.coalesced).toBe((305 - 256) + (304 - 256)); // each port's writes past the first 256
    expect(exits.coalesced).toBe(0);
  });

  test("--trace still shows every write, the coalesced ones marked", async () => {
    const r = await runVmm(["--trace", "--stats=json", guest("test-order.elf")]);
    const all = r.stderr.trim().split("\n");
    const stats = JSON.parse(all.pop()!);
    const lines = all.filter((l) => l.startsWith("exit ")); // not the guest's bad-pointer report
    expect(lines.length).toBe(stats.exits.total);
    expect(lines.filter((l) => l.endsWith(" coalesced")).length).toBe(stats.coalesced);
    expect(stats.coalesced).toBe(97);
    expect(lines[0]).toBe("exit IO out port=0x0042 (console) size=1 data=61"); // the first writes exit
    expect(lines[255]).toBe("exit IO out port=0x0042 (console) size=1 data=76"); // the 256th write still exits ...
    expect(lines[256]).toBe("exit IO out port=0x0042 (console) size=1 data=77 coalesced"); // ... the 257th waits in the ring
  });

  test("a guest that prints little never turns the ring on (tearing a VM with one down costs milliseconds)", async () => {
    const r = await runVmm(["--stats=json", "--mode", "long", guest("hello-long.bin")]);
    expect(JSON.parse(r.stderr.trim()).coalesced).toBe(0);
  });

  test("a guest printing 100 000 bytes: all of them, in order, in a few hundred exits", async () => {
    const r = await runVmm(["--stats=json", "--mode", "real", guest("bench-print.bin")]);
    const line = "0123456789".repeat(9) + "abcdefghi\n";
    expect(r.stdout).toBe(line.repeat(1000));
    const stats = JSON.parse(r.stderr.trim());
    expect(stats.portIo).toEqual([{ port: "0x0042", in: 0, out: 100_000 }]);
    expect(stats.coalesced).toBeGreaterThan(99_000);
    expect(stats.exits.total - stats.coalesced).toBeLessThan(2000);
  });
});
