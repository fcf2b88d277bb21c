// The input watcher's thread: blocks in poll() on stdin and, when input (or EOF) is there, kicks
// the vCPU thread out of KVM_RUN, then waits until that thread has taken the input. So a guest
// idle in HLT costs no CPU, yet a key reaches it at once. The kick is race-free: first
// kvm_run.immediate_exit = 1 (a KVM_RUN entered after this returns at once), then SIGALRM (for
// one already running).
//   shared Int32Array: [0] state (0 watching, 1 input waiting for the vCPU thread, 2 stop)
import { dlopen, toArrayBuffer, type Pointer } from "bun:ffi";

declare const self: Worker;

const lib = dlopen("libc.so.6", {
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  pthread_kill: { args: ["u64", "i32"], returns: "i32" },
});
const SIGALRM = 14;
const POLLIN = 1;
const WATCHING = 0;
const WAITING = 1;
const STOP = 2;

self.onmessage = (e: MessageEvent<{ target: bigint; state: SharedArrayBuffer; fd: number; kvmRun: number; immediateExit: number }>) => {
  const state = new Int32Array(e.data.state);
  const run = new Uint8Array(toArrayBuffer(e.data.kvmRun as unknown as Pointer, 0, e.data.immediateExit + 1));
  const pollfd = new Uint8Array(8);
  const dv = new DataView(pollfd.buffer);
  dv.setInt32(0, e.data.fd, true);
  dv.setInt16(4, POLLIN, true);
  while (Atomics.load(state, 0) !== STOP) {
    dv.setInt16(6, 0, true);
    // Wake once a second to notice STOP even if stdin never becomes readable.
    if (lib.symbols.poll(pollfd, 1, 1000) <= 0) continue;
    if (Atomics.compareExchange(state, 0, WATCHING, WAITING) !== WATCHING) break;
    run[e.data.immediateExit] = 1;
    lib.symbols.pthread_kill(e.data.target, SIGALRM);
    Atomics.wait(state, 0, WAITING); // until the vCPU thread has read what there was
  }
  self.postMessage("stopped");
};
