// A short fuzzing run with a fixed seed (the same cases every time): mutated ELF, bzImage, PVH and
// raw images through the loaders and boot protocols, port-access programs through the devices
// (the IDE channel also alone, with ATA commands from its own list), debugger byte streams through
// the packet decoder and the gdb stub's commands,
// kvm_run pages through the exit handler, and a sample of the images through the binary. A long
// run with any seed is `bun run fuzz --seconds 600 [--seed N]`.
import { expect, test } from "bun:test";
import { fuzz } from "../../fuzz/fuzz";
import { BIN, hasKvm } from "../helpers";

test("fuzzing, fixed seed: no internal error, crash, hang or unbounded growth", async () => {
  const r = await fuzz({ seed: 1, cases: 2500, binaryEvery: hasKvm ? 25 : 0, binary: BIN, binaryTimeoutMs: 1000 });
  console.log(`fuzz: ${r.cases} cases, ${r.binaryRuns} binary runs (${JSON.stringify(r.binaryStatuses)}), memory +${r.rssGrowthMiB.toFixed(1)} MiB, ${r.seconds.toFixed(1)} s`);
  expect(r.failures.map((f) => f.what.split("\n")[0])).toEqual([]);
  expect(r.cases).toBe(2500);
  // Every target ran, and the binary saw both refused and accepted inputs.
  expect(Object.keys(r.byTarget).sort()).toEqual(["devices", "elf", "exits", "gdb", "ide", "linux", "multiboot", "raw", "virtio"]);
  if (hasKvm) {
    expect(r.binaryRuns).toBeGreaterThanOrEqual(40); // every 25th case, when its target has a command-line form
    expect(r.binaryStatuses["2"]).toBeGreaterThan(0);
    expect(r.binaryStatuses["0"]).toBeGreaterThan(0);
  }
}, 120_000);

test("the harness finds a planted bug: a device that throws on some access", async () => {
  const { TARGETS } = await import("../../fuzz/targets");
  const planted = { name: "planted", seeds: () => [new Uint8Array(16)], run: (input: Uint8Array) => { if (input[3] === 0x80) throw new Error("planted"); } };
  TARGETS.push(planted);
  try {
    const r = await fuzz({ seed: 7, cases: 2000, targets: ["planted"] });
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]!.what).toContain("planted");
  } finally {
    TARGETS.pop();
  }
});
