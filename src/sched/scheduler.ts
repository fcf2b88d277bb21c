// Several VMs on this one thread. Time is cut in rounds of `quantum`; in each round every running
// VM gets its share of the round, in order. Shares are kept by entitlement, not by slice length:
// each round adds quantum × share / (sum of running shares) to what a VM is owed, and its next
// slice is what it is owed minus what it has had. A slice that ran over (an exit handled late,
// a signal delivered late) is paid back in the next round, so shares do not drift.
// A VM that halts or fails leaves; the rest share its time from the next round on.
import { SliceTimer, yieldToEventLoop, type Clock, type SliceAlarm } from "../vcpu/runner";
import type { VmStop } from "../vcpu/exits";

export interface Schedulable {
  readonly name: string;
  /** Weight: shares need not add up to anything. */
  readonly share: number;
  /** Runs the VM until `deadline` (ms on the scheduler's clock); why it stopped, or undefined. */
  slice(deadline: number, timer: SliceAlarm): VmStop | undefined;
}

export interface VmAccount {
  vm: Schedulable;
  /** Milliseconds inside its slices. */
  guestMs: number;
  /** Milliseconds it was owed so far. */
  owedMs: number;
  slices: number;
  stop?: VmStop;
}

export interface Schedule {
  accounts: VmAccount[];
  /** Changes from one VM's slice to another's. */
  switches: number;
  /** Wall time between the end of one VM's slice and the start of another's, added up. */
  switchMs: number;
  elapsedMs: number;
}

export interface SchedulerHooks {
  /** Between rounds (and at least every 10 ms of wall time): host input. */
  poll(): void;
  /** The host stops every VM (SIGINT …): why. */
  stopRequested(): VmStop | undefined;
  /** Called about once a second while running, for a status line. */
  tick?(s: Schedule): void;
}

/** Longest run between two looks at the host (input, signals), whatever the quantum. */
const MAX_ROUND_PART_MS = 10;

/** The clock and the slice timer the scheduler uses: the real ones, or a test's fakes. */
export interface SchedulerTime {
  clock: Clock;
  timer(): SliceAlarm & { delete(): void };
}
const REAL_TIME: SchedulerTime = { clock: () => performance.now(), timer: () => new SliceTimer() };

export async function runScheduled(vms: readonly Schedulable[], quantumMs: number, hooks: SchedulerHooks,
  time: SchedulerTime = REAL_TIME): Promise<Schedule> {
  const s: Schedule = { accounts: vms.map((vm) => ({ vm, guestMs: 0, owedMs: 0, slices: 0 })), switches: 0, switchMs: 0, elapsedMs: 0 };
  const now = time.clock;
  const timer = time.timer();
  const start = now();
  let lastTick = start;
  let last: VmAccount | undefined;
  let lastEnd = start;
  try {
    for (;;) {
      const running = s.accounts.filter((a) => a.stop === undefined);
      if (running.length === 0) break;
      const total = running.reduce((n, a) => n + a.vm.share, 0);
      for (const a of running) a.owedMs += (quantumMs * a.vm.share) / total;
      for (const a of running) {
        // Long slices are cut in parts so the host is looked at every MAX_ROUND_PART_MS.
        while (a.stop === undefined && a.owedMs - a.guestMs > 0.05) {
          const t0 = now();
          if (last !== undefined && last !== a) { s.switches++; s.switchMs += t0 - lastEnd; }
          const part = Math.min(a.owedMs - a.guestMs, MAX_ROUND_PART_MS);
          a.stop = a.vm.slice(t0 + part, timer);
          const t1 = now();
          a.guestMs += t1 - t0;
          a.slices++;
          last = a;
          lastEnd = t1;
          if (a.owedMs - a.guestMs > 0.05 || running.length === 1) {
            const stop = await lookAtHost(hooks);
            if (stop !== undefined) return stopAll(s, stop, now() - start);
          }
        }
      }
      const stop = await lookAtHost(hooks);
      if (stop !== undefined) return stopAll(s, stop, now() - start);
      const t = now();
      if (hooks.tick !== undefined && t - lastTick >= 1000) {
        lastTick = t;
        s.elapsedMs = t - start;
        hooks.tick(s);
      }
    }
  } finally {
    timer.delete();
  }
  s.elapsedMs = now() - start;
  return s;
}

async function lookAtHost(hooks: SchedulerHooks): Promise<VmStop | undefined> {
  hooks.poll();
  await yieldToEventLoop();
  return hooks.stopRequested();
}

function stopAll(s: Schedule, stop: VmStop, elapsedMs: number): Schedule {
  for (const a of s.accounts) if (a.stop === undefined) a.stop = stop;
  s.elapsedMs = elapsedMs;
  return s;
}
