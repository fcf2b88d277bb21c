// The watcher's thread (fd-watcher.ts): blocks in poll() on a few fds (stdin; the debugger's
// sockets) and, when one is readable (or at EOF), kicks the vCPU thread out of KVM_RUN
// (kvm/kick.ts: immediate_exit, then the signal), then waits until that thread has taken the
// input. So a guest idle in HLT costs no CPU, yet a key or a debugger's Ctrl-C reaches it at once.
//   shared Int32Array: [0] state (0 watching, 1 input waiting for the vCPU thread, 2 stop),
//   [1] how many fds, [2…] the fds (the vCPU thread may change them: read on every round)
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
const FDS = 2;

self.onmessage = (e: MessageEvent<{ target: KickTarget; state: SharedArrayBuffer }>) => {
  const { target } = e.data;
  const state = new Int32Array(e.data.state);
  const run = target.immediateExit < 0 ? undefined
    : new Uint8Array(toArrayBuffer(target.kvmRun as unknown as Pointer, 0, target.immediateExit + 1));
  const pollfds = new Uint8Array(8 * (state.length - FDS));
  const dv = new DataView(pollfds.buffer);
  while (Atomics.load(state, 0) !== STOP) {
    const n = Atomics.load(state, 1);
    for (let i = 0; i < n; i++) {
      dv.setInt32(8 * i, Atomics.load(state, FDS + i), true);
      dv.setInt16(8 * i + 4, POLLIN, true);
      dv.setInt16(8 * i + 6, 0, true);
    }
    // Wake once a second to notice STOP, or new fds, even if none becomes readable.
    if (lib.symbols.poll(pollfds, n, 1000) <= 0) continue;
    if (Atomics.compareExchange(state, 0, WATCHING, WAITING) !== WATCHING) continue;
    if (run !== undefined) run[target.immediateExit] = 1;
    lib.symbols.pthread_kill(target.thread, target.signal);
    Atomics.wait(state, 0, WAITING); // until the vCPU thread has read what there was
  }
  self.postMessage("stopped");
};
