// The vCPU loop: KVM_RUN, handle the exit, repeat. It runs on the main thread in slices of
// SLICE_MS; between slices it polls the host (input) and yields to the event loop so signal
// handlers (SIGINT, SIGTERM) can run. A per-thread tick timer makes KVM_RUN return with EINTR
// every TICK_MS even when the guest never exits, so a spinning guest can still be stopped.
import { EINTR } from "../libc/errno";
import * as libc from "../libc/libc";
import type { Vcpu } from "../kvm/kvm";
import { handleExit, type ExitContext, type VmStop } from "./exits";

const SLICE_MS = 10;
/** The clock is read every this many exits within a slice (an exit costs microseconds). */
const CLOCK_EVERY = 16;
const TICK_NS = 10_000_000n;
/** The tick signal. Its handler does nothing: the point is the EINTR. */
const TICK_SIGNAL = "SIGALRM";
const TICK_SIGNO = 14;

export interface HostHooks {
  /** Called between slices (at least every SLICE_MS): take host input, etc. */
  poll(): void;
  /** Why the host wants the VM stopped (signal, Ctrl-A x), or undefined. */
  stopRequested(): VmStop | undefined;
}

let tickHandlerInstalled = false;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runVcpu(vcpu: Vcpu, ctx: ExitContext, host: HostHooks): Promise<VmStop> {
  if (!tickHandlerInstalled) {
    process.on(TICK_SIGNAL, () => {});
    tickHandlerInstalled = true;
  }
  const tick = libc.threadTimerCreate(TICK_SIGNO);
  libc.timerSettime(tick, TICK_NS, TICK_NS);
  try {
    for (;;) {
      const sliceEnd = performance.now() + SLICE_MS;
      for (let n = 1; ; n++) {
        const r = vcpu.runOnce();
        if (r < 0) {
          if (-r === EINTR) break;
          throw new libc.SyscallError("ioctl(KVM_RUN)", -r);
        }
        const stop = handleExit(ctx);
        if (stop !== undefined) return stop;
        if (n % CLOCK_EVERY === 0 && performance.now() >= sliceEnd) break;
      }
      host.poll();
      await yieldToEventLoop();
      const stop = host.stopRequested();
      if (stop !== undefined) return stop;
    }
  } finally {
    libc.timerDelete(tick);
  }
}
