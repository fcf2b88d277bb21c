// Host keys for a lone VM: a KeySource that pulls stdin and, for a board whose idle guest sleeps
// in KVM_RUN (KICKED pacing), keeps a watcher thread (input-worker.ts) looking at stdin, which
// kicks the vCPU out of KVM_RUN as soon as a key arrives. After each pull it lets the watcher look
// again, if the guest has room.
import type { Vcpu } from "../kvm/kvm";
import type { HostInput, KeySink, KeySource } from "./input";
import { installTickHandler } from "../vcpu/runner";

const WATCHING = 0;
const STOP = 2;

export class InputWatcher implements KeySource {
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  private vcpu: Vcpu | undefined;
  private worker: Worker | undefined;
  private stopped = false;

  /**
   * Until start(), a plain key source (no thread). `makeWorker` creates the Worker running
   * input-worker.ts (the entry module's job, so bundling finds it).
   */
  constructor(private readonly makeWorker: () => Worker, private readonly fd: number, private readonly input: HostInput) {}

  /** Starts the watcher thread, to kick `vcpu`. Call on the thread that runs the vCPU, once the VM is built. */
  start(vcpu: Vcpu): void {
    installTickHandler(); // the kick is a signal: unhandled, it would end the process
    this.vcpu = vcpu;
    this.worker = this.makeWorker();
    this.worker.postMessage({ target: vcpu.kickTarget(), state: this.state.buffer, fd: this.fd });
  }

  /**
   * Takes the input that is there into `sink`, then lets the watcher look for more if the sink
   * has room for it. At EOF, or after Ctrl-A x, there is nothing left to watch. Called between
   * slices and when the guest has read its FIFO empty.
   */
  pull(sink: KeySink): void {
    this.vcpu?.clearKick(); // KVM_RUN may block again (the watcher set immediate_exit when it kicked)
    this.input.pull(sink);
    if (this.input.eof || this.input.quitRequested) this.stop();
    else if (sink.space > 0) this.rearm();
  }

  /** The input was taken: watch for more. */
  private rearm(): void {
    if (this.stopped || this.vcpu === undefined) return;
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
