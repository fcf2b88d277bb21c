// The input watcher's thread: blocks in poll() on stdin and, when input (or EOF) is there, kicks
// the vCPU thread out of KVM_RUN (kvm/kick.ts), then waits until that thread has taken the input.
// So a guest idle in HLT costs no CPU, yet a key reaches it at once.
//   shared Int32Array: [0] state (0 watching, 1 input waiting for the vCPU thread, 2 stop)
import { kick, kickView, type KickTarget } from "../kvm/kick";
import * as libc from "../libc/libc";

declare const self: Worker;

const WATCHING = 0;
const WAITING = 1;
const STOP = 2;

self.onmessage = (e: MessageEvent<{ target: KickTarget; state: SharedArrayBuffer; fd: number }>) => {
  const { target, fd } = e.data;
  const state = new Int32Array(e.data.state);
  const run = kickView(target);
  const pollfd = new Uint8Array(8);
  const dv = new DataView(pollfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, libc.POLLIN, true);
  while (Atomics.load(state, 0) !== STOP) {
    dv.setInt16(6, 0, true);
    // Wake once a second to notice STOP even if stdin never becomes readable.
    if (libc.poll(pollfd, 1, 1000) <= 0) continue;
    if (Atomics.compareExchange(state, 0, WATCHING, WAITING) !== WATCHING) break;
    kick(target, run);
    Atomics.wait(state, 0, WAITING); // until the vCPU thread has read what there was
  }
  self.postMessage("stopped");
};
