// Several VMs on one thread, end to end: the compiled microvmm, real guests, real KVM. Shares
// are read from --stats=json; each test prints the figure it measured.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { BIN, guest, hasKvm, ROOT } from "../helpers";
import { classify } from "../../src/guest-file";
import { createPlainMachine } from "../../src/machines/plain";
import { SliceTimer } from "../../src/vcpu/runner";

/** Slack in share points: more when the machine is busy with other work (the figure is printed). */
const slack = (points: number) => (loadavg()[0]! > cpus().length ? points * 2 : points);

interface Summary { switches: number; switchCostUs: number; vms: Array<{ name: string; guestMs: number; achievedPercent: number; status: number; stats: { exits: { total: number } } }> }

/** Runs microvmm with args for `ms`, then SIGINT; returns its status, stdout and the JSON summary. */
async function runFor(args: string[], ms: number): Promise<{ status: number; stdout: string; summary: Summary; stderr: string }> {
  const p = Bun.spawn([BIN, "--stats=json", ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGINT"), ms);
  const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const summary = JSON.parse(stderr.trim().split("\n").at(-1)!) as Summary;
  return { status, stdout, stderr, summary };
}

describe.skipIf(!hasKvm)("several VMs on one thread", () => {
  test("two hypercall guests at 70/30 for 10 s (quantum 100 ms): shares within 2 points", async () => {
    const r = await runFor(["--quantum", "100ms", "--vm", `${guest("matrix-inc.elf")}:70`, "--name", "neo", "--vm", `${guest("matrix-dec.elf")}:30`, "--name", "smith"], 10_000);
    const [neo, smith] = r.summary.vms;
    console.log(`70/30: achieved ${neo!.achievedPercent.toFixed(2)}/${smith!.achievedPercent.toFixed(2)}, ${r.summary.switches} switches, ${r.summary.switchCostUs.toFixed(1)} µs each`);
    expect(Math.abs(neo!.achievedPercent - 70)).toBeLessThanOrEqual(slack(2));
    expect(neo!.guestMs + smith!.guestMs).toBeGreaterThan(9000);
    expect(r.status).toBe(130);
    // Output is prefixed per VM, and both made progress.
    expect(r.stdout).toMatch(/^\[neo\] counter \d+$/m);
    expect(r.stdout).toMatch(/^\[smith\] counter -\d+$/m);
    expect(r.stdout.split("\n").filter((l) => l !== "").every((l) => /^\[(neo|smith)\] counter -?\d+$/.test(l))).toBe(true);
  }, 30_000);

  test("a compute guest that never exits and a hypercall guest at 50/50: both progress, within 3 points", async () => {
    const r = await runFor(["--vm", `${guest("compute.bin")}:50`, "--mode", "long", "--peek", "0x500:8", "--name", "cpu",
      "--vm", `${guest("matrix-inc.elf")}:50`, "--name", "io"], 3000);
    const [cpu, io] = r.summary.vms;
    console.log(`compute/hypercall 50/50: achieved ${cpu!.achievedPercent.toFixed(2)}/${io!.achievedPercent.toFixed(2)}`);
    expect(Math.abs(cpu!.achievedPercent - 50)).toBeLessThanOrEqual(slack(3));
    const counter = /\[cpu\] 0x00000500: ((?:[0-9a-f]{2} ){8})/.exec(r.stderr)![1]!.trim().split(" ").reverse().join("");
    expect(parseInt(counter, 16)).toBeGreaterThan(1000); // the compute guest ran
    expect(cpu!.stats.exits.total).toBeLessThan(50); // ...without exiting: its time came from preemption
    expect(io!.stats.exits.total).toBeGreaterThan(10_000);
  }, 20_000);

  test("three VMs at 50/30/20, one halting early: the other two share in their ratio", async () => {
    const r = await runFor(["--vm", `${guest("matrix-inc.elf")}:50`, "--name", "a", "--vm", `${guest("matrix-dec.elf")}:30`, "--name", "b",
      "--vm", `${guest("matrix-short.elf")}:20`, "--name", "c"], 4000);
    const [a, b, c] = r.summary.vms;
    const ratio = (100 * a!.guestMs) / (a!.guestMs + b!.guestMs);
    console.log(`50/30 after c halted: a ${ratio.toFixed(2)}% of a+b (want 62.5)`);
    expect(c!.status).toBe(0);
    expect(r.stdout).toContain("[c] done\n");
    expect(Math.abs(ratio - 62.5)).toBeLessThanOrEqual(slack(2));
    expect([a!.status, b!.status]).toEqual([130, 130]);
    expect(r.status).toBe(130); // the worst of the VMs'
  }, 20_000);

  test("timer signals never kill the process, and never cut another VM's slice short", async () => {
    const r = await runFor(["--quantum", "10ms", "--vm", guest("compute.bin"), "--mode", "long", "--vm", guest("matrix-inc.elf")], 1500);
    expect(r.status).toBe(130); // our SIGINT, not SIGALRM (142)
    expect(r.summary.switches).toBeGreaterThan(100);

    // In this process: alternate slices of an exiting guest and a spinning one; a SIGALRM meant for
    // the first must never end the second's slice before its deadline.
    const make = (args: { bytes: Uint8Array; raw?: { mode: "long"; load: number; entry: number } }) => createPlainMachine({
      memorySize: 16 << 20, kvmPath: "/dev/kvm", guest: { file: classify("g", args.bytes), raw: args.raw }, output: () => {},
      clock: () => performance.now(), warn: () => {}, reportMmioMisses: false, drives: [],
    });
    const io = make({ bytes: await Bun.file(guest("matrix-inc.elf")).bytes() });
    const spin = make({ bytes: await Bun.file(guest("compute.bin")).bytes(), raw: { mode: "long", load: 0, entry: 0 } });
    const timer = new SliceTimer();
    const short: number[] = [];
    try {
      for (let i = 0; i < 100; i++) {
        io.slice(performance.now() + 0.3, timer); // ends on an exit, its timer may still be on its way
        const t0 = performance.now();
        spin.slice(t0 + 2, timer);
        const took = performance.now() - t0;
        if (took < 2) short.push(took);
      }
    } finally {
      timer.delete();
      io.close();
      spin.close();
    }
    expect(short).toEqual([]);
  }, 20_000);

  test("slices of a few microseconds on a guest that never exits always end", () => {
    // The timer can fire just before KVM_RUN is entered; the next tick must still end the slice.
    const spin = createPlainMachine({
      memorySize: 16 << 20, kvmPath: "/dev/kvm", output: () => {}, clock: () => performance.now(),
      warn: () => {}, reportMmioMisses: false, drives: [],
      guest: { file: classify("compute", new Uint8Array(readFileSync(guest("compute.bin")))), raw: { mode: "long", load: 0, entry: 0 } },
    });
    const timer = new SliceTimer();
    let worst = 0;
    try {
      for (let i = 0; i < 5000; i++) {
        const want = 0.001 + (i % 50) / 1000;
        const t0 = performance.now();
        expect(spin.slice(t0 + want, timer)).toBeUndefined();
        worst = Math.max(worst, performance.now() - t0 - want);
      }
    } finally {
      timer.delete();
      spin.close();
    }
    expect(worst).toBeLessThan(50); // a lost signal costs one 10 ms tick, not forever
  }, 30_000);
});
