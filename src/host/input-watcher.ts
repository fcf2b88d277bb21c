// Host keys for a lone VM: a KeySource that pulls stdin and, for a board whose idle guest sleeps
// in KVM_RUN (KICKED pacing), keeps a watcher thread (fd-watcher.ts) looking at stdin, which
// kicks the vCPU out of KVM_RUN as soon as a key arrives. After each pull it lets the watcher look
// again, if the guest has room.
import type { Vcpu } from "../kvm/kvm";
import { FdWatcher } from "./fd-watcher";
import type { HostInput, KeySink, KeySource } from "./input";

export class InputWatcher implements KeySource {
  private readonly watcher: FdWatcher;
  private vcpu: Vcpu | undefined;

  /** Until start(), a plain key source (no thread). */
  constructor(makeWorker: () => Worker, private readonly fd: number, private readonly input: HostInput) {
    this.watcher = new FdWatcher(makeWorker);
  }

  /** Starts the watcher thread, to kick `vcpu`. Call on the thread that runs the vCPU, once the VM is built. */
  start(vcpu: Vcpu): void {
    this.vcpu = vcpu;
    this.watcher.start(vcpu, [this.fd]);
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
    else if (sink.space > 0) this.watcher.rearm();
  }

  stop(): void {
    this.watcher.stop();
  }
}
