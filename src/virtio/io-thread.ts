// The device thread, as the vCPU thread sees it: it does the queues' work of the virtio devices
// given to it (the disks, the network card), so a vCPU that notifies a queue goes straight back
// into the guest while the host reads the image or the TAP. As in Firecracker and QEMU's
// iothreads, the transport's registers stay on the vCPU thread; only the queues move.
//   - each queue's notification is an eventfd KVM signals on the driver's 4-byte write of the
//     queue's index to QueueNotify (KVM_IOEVENTFD with datamatch): no exit at all;
//   - each device's interrupt is an eventfd KVM turns into an edge on its GSI (KVM_IRQFD): the
//     thread raises it without an ioctl, and no vCPU has to be in user space for it. The DSDT
//     declares these GSIs edge-triggered: an edge each time InterruptStatus gains a bit;
//   - the driver's acknowledgement of a used-buffer interrupt (its handler writes 1 to
//     InterruptACK) is an eventfd too (KVM_IOEVENTFD, datamatch 1): the handler's write does not
//     leave the kernel, and the thread clears the bit (io-device.ts acknowledged() says how no
//     edge is lost by hearing of it late);
//   - the set-up (a queue made ready, DRIVER_OK, a reset) is shared memory (io-shared.ts) plus a
//     command on the control eventfd; the vCPU thread waits until the thread has taken it.
// The thread reports what the guest did wrong through a small shared text area, which the vCPU
// thread passes to the VM's reports between slices; --stats reads the thread's counters.
import * as libc from "../libc/libc";
import type { GuestMemory } from "../memory/guest-memory";
import type { EventFdVm } from "../core/vm";
import type { GuestReports } from "../core/reports";
import type { DiskHandle } from "../host/disk-image";
import { INT_USED_BUFFER, REG_INTERRUPT_ACK, REG_QUEUE_NOTIFY, type Offload } from "./mmio";
import {
  CMD_CONFIGURE, CMD_STOP, CONTROL_WORDS, REPORT_BYTES, STATE_DEAD, STATE_STARTING, STATE_STOPPED, SharedDevice, T_COMMAND, T_DONE,
  T_SEQ, T_STATE, takeReports, type SharedDeviceBuffers,
} from "./io-shared";

/** What the thread builds a device from: plain data (the fds are this process's, open on the vCPU thread). */
export type DeviceSpec =
  | { kind: "blk"; disk: DiskHandle; serial: string }
  | { kind: "net"; tap: { name: string; fd: number }; mac: number[] };

export interface ThreadDevice {
  /** For reports ("virtio blk0"). */
  name: string;
  spec: DeviceSpec;
  shared: SharedDeviceBuffers;
  /** Queue i's notification eventfd. */
  queueFds: number[];
  irqFd: number;
  /** Signalled by the driver's write of INT_USED_BUFFER to InterruptACK. */
  ackFd: number;
}

/** The message that starts the thread (io-worker.ts). */
export interface IoThreadStart {
  control: SharedArrayBuffer;
  reports: SharedArrayBuffer;
  controlFd: number;
  memory: Array<{ gpa: number; size: number; hostAddr: number }>;
  devices: ThreadDevice[];
}

/** How long the vCPU thread waits for a command before looking again at whether the thread died. */
const WAIT_SLICE_MS = 100;

export class IoThread {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
  private readonly reportText = new Uint8Array(new SharedArrayBuffer(REPORT_BYTES));
  private readonly controlFd: number;
  private readonly devices: ThreadDevice[] = [];
  private worker: Worker | undefined;
  private stopped = false;
  /** Why the thread failed, once it has. */
  failure: string | undefined;

  /** `makeWorker` creates the Worker running io-worker.ts (the entry module's job, so the bundler finds it). */
  constructor(private readonly vm: EventFdVm, private readonly memory: GuestMemory, private readonly makeWorker: () => Worker,
    private readonly reports: GuestReports) {
    this.controlFd = libc.eventfd();
  }

  get deviceCount(): number {
    return this.devices.length;
  }

  /**
   * Gives the thread a device whose transport is at `base` with `queueCount` queues, raising `gsi`;
   * returns what the transport needs (VirtioMmio's offload).
   */
  add(name: string, spec: DeviceSpec, queueCount: number, base: number, gsi: number): Offload {
    const shared = SharedDevice.create(queueCount);
    const queueFds: number[] = [];
    const irqFd = libc.eventfd();
    const ackFd = libc.eventfd();
    const device: ThreadDevice = { name, spec, shared: shared.buffers, queueFds, irqFd, ackFd };
    this.devices.push(device); // from here stop() closes its fds, whatever fails next
    for (let i = 0; i < queueCount; i++) {
      const fd = libc.eventfd();
      queueFds.push(fd);
      this.vm.ioeventfd(fd, base + REG_QUEUE_NOTIFY, 4, i);
    }
    this.vm.ioeventfd(ackFd, base + REG_INTERRUPT_ACK, 4, INT_USED_BUFFER);
    this.vm.irqfd(irqFd, gsi);
    return {
      shared,
      sync: () => this.command(CMD_CONFIGURE),
      pulse: () => libc.eventfdSignal(irqFd),
      forward: (index) => libc.eventfdSignal(queueFds[index]!),
      acknowledge: () => libc.eventfdSignal(ackFd),
    };
  }

  /** Starts the thread (once the VM is built). */
  start(): void {
    if (this.worker !== undefined || this.stopped || this.devices.length === 0) return;
    const start: IoThreadStart = {
      control: this.control.buffer as SharedArrayBuffer, reports: this.reportText.buffer as SharedArrayBuffer, controlFd: this.controlFd,
      memory: this.memory.regions.map((r) => ({ gpa: r.gpa, size: r.size, hostAddr: r.hostAddr })),
      devices: this.devices,
    };
    this.worker = this.makeWorker();
    this.worker.postMessage(start);
  }

  /**
   * Has the thread carry out `command` and waits until it has. A thread still starting needs no
   * wait: it takes the shared set-up as it is when it starts.
   */
  private command(command: number): void {
    const c = this.control;
    if (this.failure !== undefined || this.worker === undefined) return;
    Atomics.store(c, T_COMMAND, command);
    const seq = Atomics.add(c, T_SEQ, 1) + 1;
    libc.eventfdSignal(this.controlFd);
    if (Atomics.load(c, T_STATE) === STATE_STARTING) return;
    for (;;) {
      const done = Atomics.load(c, T_DONE);
      if (done >= seq) return;
      const state = Atomics.load(c, T_STATE);
      if (state === STATE_DEAD || state === STATE_STOPPED) { this.poll(); return; }
      Atomics.wait(c, T_DONE, done, WAIT_SLICE_MS);
    }
  }

  /** Passes the thread's reports on; notes it if the thread failed. */
  poll(): void {
    const { reports, lost } = takeReports(this.control, this.reportText);
    for (const r of reports) {
      if (r.kind === "failure") this.failure ??= r.message;
      else this.reports.report(r.kind, r.message);
    }
    if (lost > 0) this.reports.report("virtio", `virtio: ${lost} more reports from the device thread were lost`);
    if (this.failure === undefined && Atomics.load(this.control, T_STATE) === STATE_DEAD) this.failure = "the virtio device thread stopped";
  }

  /** Stops the thread (its last counters published) and closes the eventfds. The disks and TAP stay open: they are the caller's. */
  stop(): void {
    if (this.stopped) return;
    if (this.worker !== undefined) {
      this.command(CMD_STOP);
      this.poll();
      this.worker.terminate();
    }
    this.stopped = true;
    for (const d of this.devices) for (const fd of [...d.queueFds, d.irqFd, d.ackFd]) libc.close(fd);
    libc.close(this.controlFd);
  }
}
