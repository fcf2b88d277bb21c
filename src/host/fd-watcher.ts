// A thread (input-worker.ts) that kicks a vCPU out of KVM_RUN as soon as one of some fds has
// something to read, so the vCPU thread, which only looks at its fds between slices, sees it at
// once. After a kick the thread waits until rearm(): the vCPU thread has taken what there was.
import type { Vcpu } from "../kvm/kvm";
import { installTickHandler } from "../vcpu/runner";

const WATCHING = 0;
const STOP = 2;
const FDS = 2;
/** Each watcher looks at one fd now (stdin, or the debugger's socket); room to spare. */
const MAX_FDS = 6;

export class FdWatcher {
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * (FDS + MAX_FDS)));
  private worker: Worker | undefined;
  private stopped = false;

  /** `makeWorker` creates the Worker running input-worker.ts (the entry module's job, so bundling finds it). */
  constructor(private readonly makeWorker: () => Worker) {}

  get started(): boolean {
    return this.worker !== undefined;
  }

  /** Starts the thread, to kick `vcpu`. Call on the thread that runs the vCPU, once the VM is built. */
  start(vcpu: Vcpu, fds: readonly number[]): void {
    installTickHandler(); // the kick is a signal: unhandled, it would end the process
    this.watch(fds);
    this.worker = this.makeWorker();
    this.worker.postMessage({ target: vcpu.kickTarget(), state: this.state.buffer });
  }

  /** The fds to watch from the thread's next round on. */
  watch(fds: readonly number[]): void {
    if (fds.length > MAX_FDS) throw new Error(`at most ${MAX_FDS} fds to watch`);
    fds.forEach((fd, i) => Atomics.store(this.state, FDS + i, fd));
    Atomics.store(this.state, 1, fds.length);
  }

  /** What there was has been taken: watch for more. */
  rearm(): void {
    if (this.stopped || this.worker === undefined) return;
    Atomics.store(this.state, 0, WATCHING);
    Atomics.notify(this.state, 0);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.state, 0, STOP);
    Atomics.notify(this.state, 0);
    this.worker?.terminate();
  }
}
