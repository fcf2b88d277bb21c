// The vCPU loop: KVM_RUN, handle the exit, repeat, until a deadline. runSlice is that loop for
// one slice of time; runVcpu strings slices together for a lone VM, and the scheduler (src/sched)
// hands slices of a round to several VMs on this one thread.
//
// A slice ends on time even if the guest never exits: a per-thread POSIX timer (SliceTimer) sends
// SIGALRM to this thread when the slice is over, so KVM_RUN returns with EINTR. The signal's JS
// handler does nothing; the EINTR is the point. The timer keeps firing every `maxWaitMs` after
// that: a signal that lands just before KVM_RUN is entered is spent in user space, and the next
// one must still come. Under the scheduler, a signal that arrives late, after the slice ended some
// other way, can only make one KVM_RUN return early; the loop checks the clock and goes back in,
// so it never cuts another VM's slice short.
import { EAGAIN, EINTR } from "../libc/errno";
import * as libc from "../libc/libc";
import { KICK_SIGNAL, KICK_SIGNO } from "../kvm/kick";
import { handleExit, type ExitContext, type VmStop } from "./exits";

/** How often a lone VM comes back to the host (input, signals) between slices. */
export interface Pacing {
  /** Slice length while the guest makes exits. */
  sliceMs: number;
  /** Slices double up to this while it makes none (idle in HLT): fewer host wakeups. */
  idleSliceMaxMs: number;
  /** HLT waits inside KVM_RUN (in-kernel irqchip): host input must kick the vCPU out to be seen soon. */
  kicked: boolean;
}

/** The host looks for input between slices: 10 ms while the guest works, 100 ms while it idles. */
export const POLLED: Pacing = { sliceMs: 10, idleSliceMaxMs: 100, kicked: false };

/**
 * Input kicks the thread out of KVM_RUN (an InputWatcher) and a signal interrupts KVM_RUN by
 * itself, so slices can be long: the timer only bounds how long a signal that lands between two
 * KVM_RUNs waits to be seen. A guest idle in the in-kernel HLT costs the host one wakeup a second.
 */
export const KICKED: Pacing = { sliceMs: 1000, idleSliceMaxMs: 1000, kicked: true };

/**
 * HLT waits in KVM (in-kernel irqchip) and input kicks; the host still comes back every 20 ms
 * while the guest makes exits, at most every 40 ms while it makes none, for a board to look at
 * the VM between slices: draw a screen, see whether the guest halted for good.
 */
export const WATCHED: Pacing = { sliceMs: 20, idleSliceMaxMs: 40, kicked: true };

/** The clock is read every this many exits (an exit costs microseconds). */
const CLOCK_EVERY = 16;
/** Less time than this left in a slice is not worth entering the guest for. */
const MIN_SLICE_MS = 0.02;
/** Unless told otherwise (a lone VM: its slice length), KVM_RUN is interrupted this often to look at the clock. */
const MAX_WAIT_MS = 10;
/** The slice timer's signal is the kick's: one handler (that does nothing) serves both. */
const TICK_SIGNAL = KICK_SIGNAL;
const TICK_SIGNO = KICK_SIGNO;

export interface HostHooks {
  /** Called between slices: take host input, etc. */
  poll(): void;
  /** Why the host wants the VM stopped (signal, Ctrl-A x), or undefined. */
  stopRequested(): VmStop | undefined;
}

let tickHandlerInstalled = false;
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What runSlice needs of a vCPU: KVM_RUN, and whether an EINTR was a kick (kvm/kvm.ts Vcpu; tests fake it). */
export interface RunnableVcpu {
  /** KVM_RUN: 0, or -errno. */
  runOnce(): number;
  readonly kicked: boolean;
}

/** What runSlice needs of its timer: to be interrupted after `ms`, then every `everyMs`; and to stop. */
export interface SliceAlarm {
  arm(ms: number, everyMs?: number): void;
  disarm(): void;
}

/** Milliseconds on a monotonic clock (performance.now() unless a test fakes it). */
export type Clock = () => number;
const realClock: Clock = () => performance.now();

/** A timer that interrupts this thread's blocking calls (KVM_RUN) with SIGALRM. */
export class SliceTimer implements SliceAlarm {
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

export interface SliceOptions {
  /** KVM_RUN is interrupted at least this often (default 10 ms). */
  maxWaitMs?: number;
  /**
   * A lone VM ends its slice on any signal, so the host sees it at once. Under the scheduler
   * only the clock ends a slice (a late SIGALRM must not cut the next VM's slice short).
   */
  endOnSignal?: boolean;
  clock?: Clock;
}

/**
 * Runs the vCPU until `deadline` (performance.now() milliseconds) or until the guest stops.
 * Returns why it stopped, or undefined when the time is up (or the host wants the thread).
 */
export function runSlice(vcpu: RunnableVcpu, ctx: ExitContext, deadline: number, timer: SliceAlarm,
  { maxWaitMs = MAX_WAIT_MS, endOnSignal = false, clock = realClock }: SliceOptions = {}): VmStop | undefined {
  let now = clock();
  if (deadline - now < MIN_SLICE_MS) return undefined;
  timer.arm(Math.min(deadline - now, maxWaitMs), maxWaitMs);
  try {
    for (let n = 1; ; n++) {
      // Other vCPUs' exits are handled here, on the devices' thread, before this one runs on.
      if (ctx.peers !== undefined && ctx.peers.pending()) {
        const stop = ctx.peers.serve();
        if (stop !== undefined) return stop;
      }
      const r = vcpu.runOnce();
      if (r < 0) {
        // EAGAIN: the vCPU was waiting for INIT and SIPI (an AP's state, or the guest sent this
        // one an INIT) and got them: run it again.
        if (-r === EAGAIN) continue;
        if (-r !== EINTR) throw new libc.SyscallError("ioctl(KVM_RUN)", -r);
        // The host asked for the exit (the vCPU was kicked: input is waiting): hand over at once.
        if (vcpu.kicked) { ctx.stats.kicks++; return undefined; }
        // Another vCPU's kick: its exit is served at the top of the loop.
        if (ctx.peers !== undefined && ctx.peers.pending()) continue;
        ctx.stats.signals++;
        if (endOnSignal) return undefined;
        now = clock();
        if (deadline - now < MIN_SLICE_MS) return undefined;
        timer.arm(Math.min(deadline - now, maxWaitMs), maxWaitMs);
        continue;
      }
      const stop = handleExit(ctx);
      if (stop !== undefined) return stop;
      if (n % CLOCK_EVERY === 0 && clock() >= deadline) return undefined;
    }
  } finally {
    timer.disarm();
    // Whatever the guest wrote to coalesced ports before the slice ended reaches its device now.
    ctx.ring?.drain();
  }
}

/**
 * Runs a lone VM until it stops or the host stops it, yielding to the event loop between slices
 * as `pacing` says: short slices while the guest exits, doubling while it does not.
 */
export async function runVcpu(vcpu: RunnableVcpu, ctx: ExitContext, host: HostHooks, pacing: Pacing = POLLED): Promise<VmStop> {
  const timer = new SliceTimer();
  let sliceMs = pacing.sliceMs;
  try {
    for (;;) {
      const exitsBefore = ctx.stats.total;
      const stop = runSlice(vcpu, ctx, performance.now() + sliceMs, timer, { maxWaitMs: sliceMs, endOnSignal: true });
      if (stop !== undefined) return stop;
      sliceMs = ctx.stats.total === exitsBefore ? Math.min(sliceMs * 2, pacing.idleSliceMaxMs) : pacing.sliceMs;
      host.poll();
      await yieldToEventLoop();
      const hostStop = host.stopRequested();
      if (hostStop !== undefined) return hostStop;
    }
  } finally {
    timer.delete();
  }
}

/** SIGALRM must have a handler (else it ends the process) before anything may send it. */
export function installTickHandler(): void {
  if (!tickHandlerInstalled) {
    process.on(TICK_SIGNAL, () => {});
    tickHandlerInstalled = true;
  }
}
