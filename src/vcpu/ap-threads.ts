// The application processors' threads, seen from the main thread. Every device is a single-owner
// state machine on the main thread, which also runs the boot vCPU; each AP runs KVM_RUN on a
// thread of its own (ap-worker.ts). An AP's port or MMIO exit waits in its kvm_run (mapped here
// too) while the AP thread kicks the main thread; the main loop (runner.ts) asks `pending()`
// before each KVM_RUN of the boot vCPU and after each EINTR, and `serve()` handles every waiting
// exit with the same code as the boot vCPU's (exits.ts), then lets those APs run on. So no exit is
// copied or posted as a message, and devices never see two threads.
import * as libc from "../libc/libc";
import { KICK_SIGNO } from "../kvm/kick";
import type { Vcpu } from "../kvm/kvm";
import { failed, type VmStop } from "../core/stop";
import { handleExit, type ExitContext } from "./exits";
import { installTickHandler } from "./runner";

// The protocol of ap-worker.ts (a test checks these against its copy).
export const RUN = 0;
export const EXITED = 1;
export const STOP = 2;
export const FAILED = 3;
export const GONE = 4;
export const DOORBELL = 0;
export const SLOTS = 2;
/** How long stop() waits for an AP thread to leave KVM_RUN before ending it anyway. */
const STOP_WAIT_MS = 2000;

/** What the boot vCPU's loop asks of the other vCPUs (runner.ts). */
export interface Peers {
  /** Some AP has an exit waiting (one shared-memory load). */
  pending(): boolean;
  /** Handles every waiting exit; why the VM must stop, or undefined. */
  serve(): VmStop | undefined;
}

export class ApThreads implements Peers {
  private readonly state: Int32Array;
  private readonly threads: BigInt64Array;
  private readonly workers: Worker[] = [];
  private seen = 0;
  private stopped = false;

  /** `aps[i]` is vCPU i + 1 and `contexts[i]` its exit context; `makeWorker` creates a Worker running ap-worker.ts. */
  constructor(private readonly aps: readonly Vcpu[], private readonly contexts: readonly ExitContext[],
    private readonly makeWorker: () => Worker) {
    const n = aps.length + 1;
    this.state = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + 2 * n)));
    this.threads = new BigInt64Array(new SharedArrayBuffer(8 * n));
  }

  /** Starts one thread per AP. Call on the thread that runs the boot vCPU: APs kick this thread. */
  start(): void {
    installTickHandler(); // the kick is SIGALRM: unhandled, it would end the process
    const mainThread = libc.pthreadSelf();
    for (const v of this.aps) {
      const w = this.makeWorker();
      w.postMessage({ index: v.id, fd: v.fd, state: this.state.buffer, threads: this.threads.buffer, mainThread, signal: KICK_SIGNO });
      this.workers.push(w);
    }
  }

  pending(): boolean {
    return Atomics.load(this.state, DOORBELL) !== this.seen;
  }

  serve(): VmStop | undefined {
    this.seen = Atomics.load(this.state, DOORBELL);
    for (let i = 0; i < this.aps.length; i++) {
      const slot = SLOTS + 2 * this.aps[i]!.id;
      const s = Atomics.load(this.state, slot);
      if (s === FAILED) {
        const errno = Atomics.load(this.state, slot + 1);
        return failed(`KVM_RUN failed on vCPU ${this.aps[i]!.id}: ${new libc.SyscallError("ioctl(KVM_RUN)", errno).message}`);
      }
      if (s !== EXITED) continue;
      const stop = handleExit(this.contexts[i]!);
      if (stop !== undefined) return stop; // the AP stays out of the guest; stop() ends its thread
      Atomics.store(this.state, slot, RUN);
      Atomics.notify(this.state, slot);
    }
    return undefined;
  }

  /** Ends every AP thread: each leaves KVM_RUN (immediate_exit, then the kick) and its loop. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const v of this.aps) {
      const slot = SLOTS + 2 * v.id;
      Atomics.store(this.state, slot, STOP);
      Atomics.notify(this.state, slot);
      v.requestExit();
      const thread = Atomics.load(this.threads, v.id);
      if (thread !== 0n) libc.pthreadKill(BigInt.asUintN(64, thread), KICK_SIGNO);
    }
    const end = performance.now() + STOP_WAIT_MS;
    for (const v of this.aps) {
      const slot = SLOTS + 2 * v.id;
      while (Atomics.load(this.state, slot) !== GONE && performance.now() < end) {
        // A thread that had not started yet finds STOP at once; one in KVM_RUN gets kicked again.
        const thread = Atomics.load(this.threads, v.id);
        if (thread !== 0n) libc.pthreadKill(BigInt.asUintN(64, thread), KICK_SIGNO);
        Atomics.wait(this.state, slot, Atomics.load(this.state, slot), 5);
      }
    }
    for (const w of this.workers) w.terminate();
  }
}
