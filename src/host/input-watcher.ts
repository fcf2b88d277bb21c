// The vCPU thread's side of the input watcher (input-worker.ts): start it with this thread's vCPU
// as the one to kick; take the input when kicked, and let it watch again.
import type { Vcpu } from "../kvm/kvm";
import type { HostInput, KeySink } from "./input";
import { installTickHandler } from "../vcpu/runner";

const WATCHING = 0;
const STOP = 2;

export class InputWatcher {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;

  /**
   * `worker` runs input-worker.ts (created by the entry module, so bundling finds it); it kicks
   * `vcpu` out of KVM_RUN. Call on the thread that runs the vCPU.
   */
  constructor(private readonly worker: Worker, fd: number, private readonly vcpu: Vcpu) {
    installTickHandler(); // the kick is a signal: unhandled, it would end the process
    worker.postMessage({ target: vcpu.kickTarget(), state: this.state.buffer, fd });
  }

  /**
   * Takes the input that is there into `sink`, then watches for more if the sink has room for
   * it. At EOF, or after Ctrl-A x, there is nothing left to watch. Called between slices.
   */
  take(input: HostInput, sink: KeySink): void {
    this.vcpu.clearKick(); // KVM_RUN may block again (the watcher set immediate_exit when it kicked)
    input.pull(sink);
    if (input.eof || input.quitRequested) this.stop();
    else if (sink.space > 0) this.rearm();
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
