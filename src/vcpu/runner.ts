// The vCPU loop: KVM_RUN, handle the exit, repeat, until a deadline. runSlice is that loop for
// one slice of time; runVcpu strings 10 ms slices together for a lone VM, and the scheduler
// (src/sched) hands slices of a round to several VMs on this one thread.
//
// A slice ends on time even if the guest never exits: a per-thread POSIX timer (SliceTimer) sends
// SIGALRM to this thread when the slice is over, so KVM_RUN returns with EINTR. The signal's JS
// handler does nothing; the EINTR is the point. The timer keeps firing every MAX_WAIT_MS after
// that: a signal that lands just before KVM_RUN is entered is spent in user space, and the next
// one must still come. A signal that arrives late, after the slice ended some other way, can only
// make one KVM_RUN return early; the loop checks the clock and goes back in, so it never cuts
// another VM's slice short.
import { EINTR } from "../libc/errno";
import * as libc from "../libc/libc";
import type { Vcpu } from "../kvm/kvm";
import { kvm_run } from "../kvm/bindings";
import { handleExit, type ExitContext, type VmStop } from "./exits";

const IMMEDIATE_EXIT = kvm_run.offsetOf("immediate_exit");

/** A lone VM yields to the event loop (signals, input) at least this often while it exits... */
const SLICE_MS = 10;
/** ...and slices double up to this while it makes no exits (idle in HLT): fewer host wakeups. */
const IDLE_SLICE_MAX_MS = 100;
/** The clock is read every this many exits (an exit costs microseconds). */
const CLOCK_EVERY = 16;
/** Less time than this left in a slice is not worth entering the guest for. */
const MIN_SLICE_MS = 0.02;
/** However long a slice, KVM_RUN is interrupted at least this often to look at the clock. */
const MAX_WAIT_MS = 10;
const TICK_SIGNAL = "SIGALRM";
const TICK_SIGNO = 14;

export interface HostHooks {
  /** Called between slices (at least every SLICE_MS): take host input, etc. */
  poll(): void;
  /** Why the host wants the VM stopped (signal, Ctrl-A x), or undefined. */
  stopRequested(): VmStop | undefined;
}

let tickHandlerInstalled = false;
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A timer that interrupts this thread's blocking calls (KVM_RUN) with SIGALRM. */
export class SliceTimer {
  private readonly id: bigint;
  private deleted = false;

  constructor() {
    installTickHandler();
    this.id = libc.threadTimerCreate(TICK_SIGNO);
  }

  /** Fires `ms` from now (never 0: that would disarm), then every `everyMs` until disarmed. */
  arm(ms: number, everyMs = MAX_WAIT_MS): void {
    libc.timerSettime(this.id, BigInt(Math.round(everyMs * 1e6)), BigInt(Math.max(1000, Math.round(ms * 1e6))));
  }

  disarm(): void {
    libc.timerSettime(this.id, 0n, 0n);
  }

  delete(): void {
    if (!this.deleted) libc.timerDelete(this.id);
    this.deleted = true;
  }
}

/**
 * Runs the vCPU until `deadline` (performance.now() milliseconds) or until the guest stops.
 * Returns why it stopped, or undefined when the time is up.
 */
export function runSlice(vcpu: Vcpu, ctx: ExitContext, deadline: number, timer: SliceTimer | undefined,
  maxWaitMs = MAX_WAIT_MS): VmStop | undefined {
  let now = performance.now();
  if (deadline - now < MIN_SLICE_MS) return undefined;
  timer?.arm(Math.min(deadline - now, maxWaitMs), maxWaitMs);
  try {
    for (let n = 1; ; n++) {
      const r = vcpu.runOnce();
      if (r < 0) {
        if (-r !== EINTR) throw new libc.SyscallError("ioctl(KVM_RUN)", -r);
        // Without a timer, only the host interrupts KVM_RUN (input, a signal): hand over at once.
        // Likewise when the host asked for the exit (kvm_run.immediate_exit: input is waiting).
        if (timer === undefined || vcpu.run[IMMEDIATE_EXIT] !== 0) return undefined;
        now = performance.now();
        if (deadline - now < MIN_SLICE_MS) return undefined;
        timer?.arm(Math.min(deadline - now, maxWaitMs), maxWaitMs);
        continue;
      }
      const stop = handleExit(ctx);
      if (stop !== undefined) return stop;
      if (n % CLOCK_EVERY === 0 && performance.now() >= deadline) return undefined;
    }
  } finally {
    timer?.disarm();
  }
}

/**
 * Runs a lone VM until it stops or the host stops it, yielding to the event loop between slices
 * (every 10 ms while the guest exits, stretching to 100 ms while it does not: an idle guest
 * wakes the host ten times a second, a busy one is looked after as before).
 * With `tick` off (a guest that sleeps in the in-kernel HLT, with an input watcher to kick the
 * thread), no timer interrupts KVM_RUN: an idle guest costs the host nothing.
 */
export async function runVcpu(vcpu: Vcpu, ctx: ExitContext, host: HostHooks, tick = true): Promise<VmStop> {
  const timer = tick ? new SliceTimer() : undefined;
  if (!tick) installTickHandler();
  let sliceMs = SLICE_MS;
  try {
    for (;;) {
      const exitsBefore = ctx.stats.total;
      const stop = runSlice(vcpu, ctx, performance.now() + sliceMs, timer, sliceMs);
      if (stop !== undefined) return stop;
      sliceMs = ctx.stats.total === exitsBefore ? Math.min(sliceMs * 2, IDLE_SLICE_MAX_MS) : SLICE_MS;
      host.poll();
      await yieldToEventLoop();
      const hostStop = host.stopRequested();
      if (hostStop !== undefined) return hostStop;
    }
  } finally {
    timer?.delete();
  }
}

/** SIGALRM must have a handler (else it ends the process) before anything may send it. */
export function installTickHandler(): void {
  if (!tickHandlerInstalled) {
    process.on(TICK_SIGNAL, () => {});
    tickHandlerInstalled = true;
  }
}
