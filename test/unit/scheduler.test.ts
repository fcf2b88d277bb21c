// The scheduler with fake VMs on a fake clock: a slice moves the clock to its deadline (plus an
// overrun, as a late exit would), or to the moment the VM halts. No real time passes.
import { describe, expect, test } from "bun:test";
import { runScheduled, type Schedulable, type SchedulerTime } from "../../src/sched/scheduler";
import type { VmStop } from "../../src/core/stop";

function fakeTime() {
  const t = { now: 1000, timersMade: 0 };
  const time: SchedulerTime = { clock: () => t.now, timer: () => { t.timersMade++; return { arm() {}, disarm() {}, delete() {} }; } };
  return { t, time };
}

type Clock = ReturnType<typeof fakeTime>["t"];

/** Runs to the deadline (plus `overrun` ms), or halts once it has run `haltAfterMs` in all. */
function fake(t: Clock, name: string, share: number, opts: { overrun?: number; haltAfterMs?: number } = {}): Schedulable & { ran: number } {
  const vm = {
    name, share, ran: 0,
    slice(deadline: number): VmStop | undefined {
      const start = t.now;
      const halts = opts.haltAfterMs !== undefined && start + (opts.haltAfterMs - vm.ran) <= deadline;
      t.now = halts ? start + (opts.haltAfterMs! - vm.ran) : deadline + (opts.overrun ?? 0);
      vm.ran += t.now - start;
      return halts ? { status: 0, message: "guest halted", dumpState: false } : undefined;
    },
  };
  return vm;
}

const SIGINT: VmStop = { status: 130, message: "stopped by SIGINT", dumpState: false };
const hostStopsAfter = (t: Clock, ms: number) => {
  const start = t.now;
  return { poll: () => {}, stopRequested: () => (t.now - start >= ms ? SIGINT : undefined) };
};
const share = (s: Awaited<ReturnType<typeof runScheduled>>, i: number) => s.accounts[i]!.guestMs / s.accounts.reduce((n, a) => n + a.guestMs, 0);

describe("scheduler", () => {
  test("shares follow the weights; slices that overrun are paid back", async () => {
    const { t, time } = fakeTime();
    const s = await runScheduled([fake(t, "a", 70, { overrun: 0.5 }), fake(t, "b", 30)], 20, hostStopsAfter(t, 600), time);
    expect(Math.abs(share(s, 0) - 0.7)).toBeLessThan(0.01);
    expect(s.accounts.every((a) => a.stop?.status === 130)).toBe(true);
    expect(s.switches).toBeGreaterThan(50);
    expect(s.elapsedMs).toBeGreaterThanOrEqual(600);
  });

  test("without the payback a VM that overruns would get more: the error stays within one overrun per round", async () => {
    const { t, time } = fakeTime();
    const s = await runScheduled([fake(t, "a", 50, { overrun: 2 }), fake(t, "b", 50)], 20, hostStopsAfter(t, 2000), time);
    expect(Math.abs(share(s, 0) - 0.5)).toBeLessThan(0.02);
  });

  test("a VM that halts leaves; the others share its time in their ratio", async () => {
    const { t, time } = fakeTime();
    const s = await runScheduled([fake(t, "a", 50), fake(t, "b", 30), fake(t, "c", 20, { haltAfterMs: 30 })], 20, hostStopsAfter(t, 800), time);
    expect(s.accounts[2]!.stop).toEqual({ status: 0, message: "guest halted", dumpState: false });
    expect(s.accounts[2]!.guestMs).toBe(30);
    const a = s.accounts[0]!.guestMs;
    const b = s.accounts[1]!.guestMs;
    expect(Math.abs(a / (a + b) - 50 / 80)).toBeLessThan(0.01);
  });

  test("all VMs done: the schedule ends by itself, when the last one halts", async () => {
    const { t, time } = fakeTime();
    const s = await runScheduled([fake(t, "a", 1, { haltAfterMs: 15 }), fake(t, "b", 1, { haltAfterMs: 5 })], 10, hostStopsAfter(t, 60_000), time);
    expect(s.accounts.map((a) => a.stop?.status)).toEqual([0, 0]);
    expect(s.elapsedMs).toBe(20);
    expect(t.timersMade).toBe(1);
  });

  test("the host is looked at every 10 ms of guest time even with a 1 s quantum", async () => {
    const { t, time } = fakeTime();
    let polls = 0;
    const start = t.now;
    await runScheduled([fake(t, "a", 1), fake(t, "b", 1)], 1000, {
      poll: () => { polls++; },
      stopRequested: () => (t.now - start >= 300 ? SIGINT : undefined),
    }, time);
    expect(polls).toBe(30);
    expect(t.now - start).toBe(300);
  });
});
