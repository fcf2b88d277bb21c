// The scheduler with fake VMs whose slices take exactly the time given (or stop early).
import { describe, expect, test } from "bun:test";
import { runScheduled, type Schedulable } from "../../src/sched/scheduler";
import type { SliceTimer } from "../../src/vcpu/runner";
import type { VmStop } from "../../src/vcpu/exits";

/** Busy-waits to the deadline (plus `overrun` ms, as a late exit would), or halts after `haltAfterMs`. */
function fake(name: string, share: number, opts: { overrun?: number; haltAfterMs?: number } = {}): Schedulable & { ran: number } {
  const vm = {
    name, share, ran: 0,
    slice(deadline: number, _t: SliceTimer): VmStop | undefined {
      const start = performance.now();
      const end = opts.haltAfterMs !== undefined ? Math.min(deadline, start + Math.max(0, opts.haltAfterMs - vm.ran)) : deadline + (opts.overrun ?? 0);
      while (performance.now() < end);
      vm.ran += performance.now() - start;
      if (opts.haltAfterMs !== undefined && vm.ran >= opts.haltAfterMs) return { status: 0, message: "guest halted", dumpState: false };
      return undefined;
    },
  };
  return vm;
}

const noHost = (stopAfterMs: number) => {
  const start = performance.now();
  return { poll: () => {}, stopRequested: () => (performance.now() - start >= stopAfterMs ? { status: 130, message: "stopped by SIGINT", dumpState: false } : undefined) };
};
const share = (s: Awaited<ReturnType<typeof runScheduled>>, i: number) => s.accounts[i]!.guestMs / s.accounts.reduce((n, a) => n + a.guestMs, 0);

describe("scheduler", () => {
  test("shares follow the weights; slices that overrun are paid back", async () => {
    const s = await runScheduled([fake("a", 70, { overrun: 0.5 }), fake("b", 30)], 20, noHost(600));
    expect(Math.abs(share(s, 0) - 0.7)).toBeLessThan(0.02);
    expect(s.accounts.every((a) => a.stop?.status === 130)).toBe(true);
    expect(s.switches).toBeGreaterThan(20);
  });

  test("a VM that halts leaves; the others share its time in their ratio", async () => {
    const s = await runScheduled([fake("a", 50), fake("b", 30), fake("c", 20, { haltAfterMs: 30 })], 20, noHost(800));
    expect(s.accounts[2]!.stop).toEqual({ status: 0, message: "guest halted", dumpState: false });
    expect(s.accounts[2]!.guestMs).toBeLessThan(35);
    const a = s.accounts[0]!.guestMs;
    const b = s.accounts[1]!.guestMs;
    expect(Math.abs(a / (a + b) - 50 / 80)).toBeLessThan(0.02);
  });

  test("all VMs done: the schedule ends by itself", async () => {
    const s = await runScheduled([fake("a", 1, { haltAfterMs: 15 }), fake("b", 1, { haltAfterMs: 5 })], 10, noHost(60_000));
    expect(s.accounts.map((a) => a.stop?.status)).toEqual([0, 0]);
    expect(s.elapsedMs).toBeLessThan(1000);
  });

  test("the host is looked at at least every 10 ms even with a 1 s quantum", async () => {
    let polls = 0;
    const start = performance.now();
    await runScheduled([fake("a", 1), fake("b", 1)], 1000, {
      poll: () => { polls++; },
      stopRequested: () => (performance.now() - start > 300 ? { status: 130, message: "x", dumpState: false } : undefined),
    });
    expect(polls).toBeGreaterThanOrEqual(25);
    expect(performance.now() - start).toBeLessThan(400);
  });
});
