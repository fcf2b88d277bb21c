// Kicking a vCPU out of KVM_RUN from another thread (Documentation/virt/kvm/api.rst, "immediate_exit"):
// first kvm_run.immediate_exit = 1, so a KVM_RUN entered after this returns EINTR at once, then a
// signal to the vCPU's thread, for a KVM_RUN already running. Without KVM_CAP_IMMEDIATE_EXIT only
// the signal is sent, and one landing just before KVM_RUN is entered waits for the next signal.
// The Vcpu describes itself as a KickTarget on its own thread; the input worker does the kicking
// (host/input-worker.ts, a thread of its own that imports nothing at run time).

/** The kick's signal. Its handler (installed by the runner) does nothing: the EINTR is the point. */
export const KICK_SIGNAL = "SIGALRM";
export const KICK_SIGNO = 14;

/** What another thread needs to kick a vCPU: plain numbers, so it can be posted to a Worker. */
export interface KickTarget {
  /** The vCPU thread's pthread_t. */
  thread: bigint;
  /** Host address of the vCPU's kvm_run mapping. */
  kvmRun: number;
  /** Offset of immediate_exit in kvm_run, or -1 when KVM does not honour it. */
  immediateExit: number;
  /** The signal to send the thread (KICK_SIGNO). */
  signal: number;
}
