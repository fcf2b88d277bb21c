// Console and debugcon writes through KVM's coalesced ring: the output, its order against exits
// and stderr messages, and every count are what they are with each write exiting (--no-coalesce).
import { describe, expect, test } from "bun:test";
import { BIN, guest, hasKvm, ROOT, runVmm } from "../helpers";

const merged = (args: string[]) => Bun.spawnSync(["sh", "-c", `${BIN} ${args.join(" ")} 2>&1`], { cwd: ROOT }).stdout.toString();

describe.skipIf(!hasKvm)("coalesced port writes", () => {
  test("output order across the console, debugcon, a hypercall that exits and a stderr message is the guest's", () => {
    const expected = [
      "ab",
      "microvmm: hypercall 0xEC: string at 0xc0000000: address 0xc0000000 does not translate (not mapped); nothing printed",
      "c", "d", "e (one exit)",
      "IO in: 1", "IO out: 9", // the first 0xED snapshot ...
      "IO in: 5", "IO out: 9", // ... and the second: its own copy, taken after three reads more
      "",
    ].join("\n");
    expect(merged([guest("test-order.elf")])).toBe(expected);
    expect(merged(["--no-coalesce", guest("test-order.elf")])).toBe(expected);
  });

  test("--stats counts are the same with and without the ring; only `coalesced` differs", async () => {
    const stats = async (extra: string[]) => {
      const r = await runVmm(["--stats=json", ...extra, guest("hypercalls.elf")]);
      expect(r.status).toBe(0);
      return JSON.parse(r.stderr.trim().split("\n").at(-1)!);
    };
    const ring = await stats([]);
    const exits = await stats(["--no-coalesce"]);
    for (const key of ["exits", "portIo", "hypercalls", "unclaimed"]) expect(ring[key]).toEqual(exits[key]);
    expect(ring.coalesced).toBe(31); // "Hello from the hypercall guest\n" through debugcon
    expect(exits.coalesced).toBe(0);
  });

  test("--trace still shows every write, the coalesced ones marked", async () => {
    const r = await runVmm(["--trace", "--stats=json", "--mode", "long", guest("hello-long.bin")]);
    const lines = r.stderr.trim().split("\n");
    const stats = JSON.parse(lines.pop()!);
    expect(lines.length).toBe(stats.exits.total);
    expect(lines.filter((l) => l.endsWith(" coalesced")).length).toBe(stats.coalesced);
    expect(stats.coalesced).toBe(35);
    expect(lines[0]).toBe("exit IO out port=0x00e9 (hypercall) size=1 data=48 coalesced");
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
