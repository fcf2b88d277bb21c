// The thread of one application processor (vCPU 1, 2, …; ap-threads.ts starts it): KVM_RUN on
// the vCPU's fd, and each exit handed to the main thread, which owns every device. The exit's
// data is in kvm_run, which the main thread maps too, so nothing is copied: this thread marks its
// slot EXITED, kicks the main thread out of its own KVM_RUN, and waits until the slot says RUN
// again (the exit handled, an IN's data in kvm_run) or STOP (the VM is over).
//   shared Int32Array: [0] doorbell (bumped for every exit), then per AP: [SLOTS + 2i] state,
//   [SLOTS + 2i + 1] the errno of a failed KVM_RUN; BigInt64Array: each AP's pthread_t, for kicks.
// Like the input worker, this module is an entry point of its own and imports nothing at run
// time (a module shared with the main program would be split out of it by the bundler).
import { dlopen, read } from "bun:ffi";

declare const self: Worker;

const lib = dlopen("libc.so.6", {
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  pthread_self: { args: [], returns: "u64" },
  pthread_kill: { args: ["u64", "i32"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
});
/** _IO(KVMIO, 0x80); a test checks it against kvm/ioctls.ts. */
export const KVM_RUN = 0xae80;
const EINTR = 4;
const EAGAIN = 11;

// Slot states: the protocol ap-threads.ts speaks (it has its own copy; a test checks they agree).
export const RUN = 0;
export const EXITED = 1;
export const STOP = 2;
export const FAILED = 3;
export const GONE = 4;
export const DOORBELL = 0;
export const SLOTS = 2;
/** While the main thread has not taken the exit, kick it again after 1, 2, 4 … up to 16 ms: a kick that lands just before it enters KVM_RUN is spent outside. */
const REKICK_MAX_MS = 16;

export interface ApStart {
  index: number;
  fd: number;
  state: SharedArrayBuffer;
  threads: SharedArrayBuffer;
  mainThread: bigint;
  signal: number;
}

self.onmessage = (e: MessageEvent<ApStart>) => {
  const { index, fd, mainThread, signal } = e.data;
  const state = new Int32Array(e.data.state);
  const threads = new BigInt64Array(e.data.threads);
  const slot = SLOTS + 2 * index;
  Atomics.store(threads, index, BigInt.asIntN(64, lib.symbols.pthread_self()));
  while (Atomics.load(state, slot) !== STOP) {
    const r = lib.symbols.ioctl(fd, KVM_RUN, null);
    let next = EXITED;
    if (r < 0) {
      const p = lib.symbols.__errno_location();
      const errno = p === null ? 0 : read.i32(p, 0);
      // EINTR: a kick (STOP is looked at above) or a stray signal. EAGAIN: the AP left KVM's
      // UNINITIALIZED state (its INIT and SIPI came while it waited in KVM_RUN): run it.
      if (errno === EINTR || errno === EAGAIN) continue;
      Atomics.store(state, slot + 1, errno);
      next = FAILED;
    }
    if (Atomics.compareExchange(state, slot, RUN, next) !== RUN) break; // STOP came meanwhile
    Atomics.add(state, DOORBELL, 1);
    for (let ms = 1; Atomics.load(state, slot) === next; ms = Math.min(2 * ms, REKICK_MAX_MS)) {
      lib.symbols.pthread_kill(mainThread, signal);
      Atomics.wait(state, slot, next, ms);
    }
    if (next === FAILED) break;
  }
  Atomics.store(state, slot, GONE);
  Atomics.notify(state, slot);
};
