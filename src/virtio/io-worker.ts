// The device thread (io-thread.ts starts it): blocks in poll() on the control eventfd, every
// queue's notification eventfd, every device's acknowledgement eventfd and the TAP (while the
// network card can take a frame), and does the work of whatever became readable: a command, a
// queue's requests, the driver's acknowledgement of an interrupt, a frame for the guest.
// Guest RAM is the same mapping the vCPU thread uses, seen through this thread's own views.
// A fault of ours here (not the guest's: those are QueueErrors and reports) is reported as the
// thread's failure, and the vCPU thread ends the VM with it.
import { GuestMemory } from "../memory/guest-memory";
import * as libc from "../libc/libc";
import { DiskImage } from "../host/disk-image";
import { Tap } from "../host/tap";
import { VirtioBlk } from "./blk";
import { RX_QUEUE, VirtioNet } from "./net";
import { ThreadedDevice } from "./io-device";
import {
  CMD_STOP, SharedDevice, STATE_DEAD, STATE_RUNNING, STATE_STOPPED, T_COMMAND, T_DONE, T_SEQ, T_STATE, postReport,
} from "./io-shared";
import type { DeviceSpec, IoThreadStart } from "./io-thread";

declare const self: Worker;

const WATCH = libc.POLLIN;
const GONE = libc.POLLERR | libc.POLLHUP | libc.POLLNVAL;

self.onmessage = (e: MessageEvent<IoThreadStart>) => {
  const start = e.data;
  const control = new Int32Array(start.control);
  const text = new Uint8Array(start.reports);
  try {
    serve(start, control, text);
  } catch (err) {
    postReport(control, text, "failure", `the virtio device thread failed: ${(err as Error).message}`);
    Atomics.store(control, T_STATE, STATE_DEAD);
    Atomics.notify(control, T_DONE);
  }
};

/** The thread's name, for `top -H` and for whoever places threads on CPUs (taskset -p). */
export const THREAD_NAME = "microvmm-io";

function serve(start: IoThreadStart, control: Int32Array, text: Uint8Array): void {
  libc.setThreadName(THREAD_NAME);
  const memory = GuestMemory.mapped(start.memory);
  const devices = start.devices.map((d) => {
    const report = (message: string) => postReport(control, text, `virtio ${d.name}`, message);
    const device = makeDevice(d.spec, memory, report);
    const runner = new ThreadedDevice(memory, device, new SharedDevice(d.shared), () => libc.eventfdSignal(d.irqFd), report);
    const tapFd = d.spec.kind === "net" ? d.spec.tap.fd : undefined;
    return { runner, queueFds: d.queueFds, ackFd: d.ackFd, tapFd, net: device instanceof VirtioNet ? device : undefined };
  });
  const fdCount = 1 + devices.reduce((n, d) => n + d.queueFds.length + 2, 0);
  const pollfds = new Uint8Array(8 * fdCount);
  const pv = new DataView(pollfds.buffer);
  /** What each pollfd entry stands for: -1 the control fd, else device * 256 + queue, or device * 256 + ACK / TAP. */
  const what = new Int32Array(fdCount);
  const TAP = 255;
  const ACK = 254;

  let n = 0;
  const add = (fd: number, tag: number) => {
    pv.setInt32(8 * n, fd, true);
    pv.setInt16(8 * n + 4, WATCH, true);
    pv.setInt16(8 * n + 6, 0, true);
    what[n++] = tag;
  };

  Atomics.store(control, T_STATE, STATE_RUNNING);
  configure();
  // One round at a time, in a function of its own that returns: the JIT compiles it once, as any
  // function. A loop that never left serve() would have the optimizing tier compile all of it a
  // second time, to enter the running loop, and that takes seconds where the host CPU is emulated.
  while (round());

  /** Waits for something to do and does it; false once the thread is to end. */
  function round(): boolean {
    // The fds to wait on, rebuilt each round (no allocation): the TAP only while a frame could go
    // somewhere, else it would stay readable and spin us.
    n = 0;
    add(start.controlFd, -1);
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i]!;
      for (let q = 0; q < d.queueFds.length; q++) add(d.queueFds[q]!, i * 256 + q);
      add(d.ackFd, i * 256 + ACK);
      if (d.tapFd !== undefined && d.net !== undefined && !d.net.rxBlocked && d.runner.isLive(RX_QUEUE)) add(d.tapFd, i * 256 + TAP);
    }
    if (libc.poll(pollfds, n, -1) <= 0) return true;
    for (let k = 0; k < n; k++) {
      const revents = pv.getInt16(8 * k + 6, true);
      if (revents === 0) continue;
      const tag = what[k]!;
      if (tag === -1) {
        if (revents & GONE) return false; // the control fd is closed: the vCPU thread is gone
        libc.eventfdTake(start.controlFd);
        if (Atomics.load(control, T_COMMAND) === CMD_STOP) {
          for (const d of devices) d.runner.publish();
          Atomics.store(control, T_STATE, STATE_STOPPED);
          Atomics.store(control, T_DONE, Atomics.load(control, T_SEQ));
          Atomics.notify(control, T_DONE);
          return false;
        }
        configure();
        continue;
      }
      const d = devices[tag >> 8]!;
      const q = tag & 0xff;
      if (q === TAP) d.runner.wake(RX_QUEUE);
      else if (q === ACK) {
        if (libc.eventfdTake(d.ackFd) > 0) d.runner.acknowledged();
      } else {
        const count = libc.eventfdTake(d.queueFds[q]!);
        if (count > 0) d.runner.notified(q, count);
      }
    }
    return true;
  }

  /** Takes the set-up the vCPU thread shared; a device reset drops notifications from before it. */
  function configure(): void {
    const seq = Atomics.load(control, T_SEQ);
    for (const d of devices) {
      if (d.runner.configure()) for (const fd of [...d.queueFds, d.ackFd]) libc.eventfdTake(fd);
    }
    Atomics.store(control, T_DONE, seq);
    Atomics.notify(control, T_DONE);
  }
}

function makeDevice(spec: DeviceSpec, memory: GuestMemory, report: (message: string) => void): VirtioBlk | VirtioNet {
  switch (spec.kind) {
    case "blk": return new VirtioBlk(memory, DiskImage.borrowed(spec.disk), spec.serial, report);
    case "net": return new VirtioNet(memory, Tap.borrowed(spec.tap.name, spec.tap.fd), Uint8Array.from(spec.mac));
  }
}
