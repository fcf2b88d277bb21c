// The vCPU thread's side of the input watcher (input-worker.ts): start it with this thread as the
// one to kick; take the input when kicked, and let it watch again.
import { dlopen, FFIType } from "bun:ffi";
import { kvm_run } from "../kvm/bindings";
import type { Vcpu } from "../kvm/kvm";
import type { HostInput } from "./input";
import { installTickHandler } from "../vcpu/runner";

const lib = dlopen("libc.so.6", { pthread_self: { args: [], returns: FFIType.u64 } });

const WATCHING = 0;
const STOP = 2;
const IMMEDIATE_EXIT = kvm_run.offsetOf("immediate_exit");

export class InputWatcher {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;

  /**
   * `worker` runs input-worker.ts (created by the entry module, so bundling finds it); it kicks
   * this thread out of `vcpu`'s KVM_RUN.
   */
  constructor(private readonly worker: Worker, fd: number, private readonly vcpu: Vcpu) {
    installTickHandler(); // the kick is a SIGALRM: unhandled, it would end the process
    worker.postMessage({ target: lib.symbols.pthread_self(), state: this.state.buffer, fd, kvmRun: vcpu.runAddr, immediateExit: IMMEDIATE_EXIT });
  }

  /**
   * Takes the input that is there into the guest (`input.pump()`), then watches for more if the
   * guest has room for it. At EOF there is nothing left to watch; after Ctrl-A x the vCPU must
   * not go back into the guest. Called between slices and when the guest drained its FIFO.
   */
  take(input: HostInput, room: () => number): void {
    this.vcpu.run[IMMEDIATE_EXIT] = 0; // KVM_RUN may block again (the watcher set it when it kicked)
    input.pump();
    if (input.quitRequested) this.vcpu.run[IMMEDIATE_EXIT] = 1;
    if (input.eof || input.quitRequested) this.stop();
    else if (room() > 0) this.rearm();
  }

  /** The input was taken: watch for more. */
  private rearm(): void {
    if (this.stopped) return;
    Atomics.store(this.state, 0, WATCHING);
    Atomics.notify(this.state, 0);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.state, 0, STOP);
    Atomics.notify(this.state, 0);
    this.worker.terminate();
  }
}
