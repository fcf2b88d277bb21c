// The input watcher's thread: blocks in poll() on stdin and, when input (or EOF) is there, kicks
// the vCPU thread out of KVM_RUN (kvm/kick.ts: immediate_exit, then the signal), then waits until
// that thread has taken the input. So a guest idle in HLT costs no CPU, yet a key reaches it at once.
//   shared Int32Array: [0] state (0 watching, 1 input waiting for the vCPU thread, 2 stop)
// This module is the executable's second entry point and imports nothing at run time: sharing a
// module with the main program would make the bundler split it out, and the main program would
// start ~5 MB larger. So it binds the two libc calls it needs itself.
import { dlopen, toArrayBuffer, type Pointer } from "bun:ffi";
import type { KickTarget } from "../kvm/kick";

declare const self: Worker;

const lib = dlopen("libc.so.6", {
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  pthread_kill: { args: ["u64", "i32"], returns: "i32" },
});
const POLLIN = 1;
const WATCHING = 0;
const WAITING = 1;
const STOP = 2;

self.onmessage = (e: MessageEvent<{ target: KickTarget; state: SharedArrayBuffer; fd: number }>) => {
  const { target, fd } = e.data;
  const state = new Int32Array(e.data.state);
  const run = target.immediateExit < 0 ? undefined
    : new Uint8Array(toArrayBuffer(target.kvmRun as unknown as Pointer, 0, target.immediateExit + 1));
  const pollfd = new Uint8Array(8);
  const dv = new DataView(pollfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, POLLIN, true);
  while (Atomics.load(state, 0) !== STOP) {
    dv.setInt16(6, 0, true);
    // Wake once a second to notice STOP even if stdin never becomes readable.
    if (lib.symbols.poll(pollfd, 1, 1000) <= 0) continue;
    if (Atomics.compareExchange(state, 0, WATCHING, WAITING) !== WATCHING) break;
    if (run !== undefined) run[target.immediateExit] = 1;
    lib.symbols.pthread_kill(target.thread, target.signal);
    Atomics.wait(state, 0, WAITING); // until the vCPU thread has read what there was
  }
  self.postMessage("stopped");
};
