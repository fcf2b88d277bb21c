// What a virtio device's transport (on the vCPU thread, answering the driver's register accesses)
// and the device thread (io-worker.ts, doing the queues' work) share, in SharedArrayBuffers:
//   words:   InterruptStatus (the thread sets bits, the driver's ACK clears them), whether the
//            thread found the driver breaking a queue (so DEVICE_NEEDS_RESET), DRIVER_OK, the
//            device's reset count, the negotiated features (two halves), and whether a used-buffer
//            edge was left out since the driver last read InterruptStatus (io-device.ts);
//   queues:  each queue as the driver set it up: ready, size and the three areas' addresses;
//   counts:  the thread's notifications, interrupts and errors, then the device's own counters.
// The transport writes the set-up and then tells the thread (io-thread.ts), which applies it
// before the transport answers the driver: the driver never sees the device lag its registers.
// And the thread-wide control block: the command handshake, the thread's state, and reports.

export const W_INTERRUPT_STATUS = 0;
export const W_BROKEN = 1;
export const W_DRIVER_OK = 2;
export const W_RESETS = 3;
export const W_FEATURES_LO = 4;
export const W_FEATURES_HI = 5;
export const W_USED_EDGE_SKIPPED = 6;
const WORDS = 7;

export const Q_READY = 0;
export const Q_SIZE = 1;
export const Q_DESC = 2;
export const Q_DRIVER = 3;
export const Q_DEVICE = 4;
const Q_FIELDS = 5;

/** The transport's counters the thread keeps too (VirtioStats), first in `counts`. */
export const C_NOTIFICATIONS = 0;
export const C_INTERRUPTS = 1;
export const C_ERRORS = 2;
export const C_DEVICE = 3;
/** Room for a device's own counters. */
const MAX_DEVICE_COUNTS = 13;

/** One device's shared state, as plain buffers (to post to the thread). */
export interface SharedDeviceBuffers { words: SharedArrayBuffer; queues: SharedArrayBuffer; counts: SharedArrayBuffer }

export class SharedDevice {
  readonly words: Int32Array;
  readonly queues: Float64Array;
  readonly counts: Float64Array;

  constructor(readonly buffers: SharedDeviceBuffers) {
    this.words = new Int32Array(buffers.words);
    this.queues = new Float64Array(buffers.queues);
    this.counts = new Float64Array(buffers.counts);
  }

  static create(queueCount: number): SharedDevice {
    return new SharedDevice({
      words: new SharedArrayBuffer(4 * WORDS),
      queues: new SharedArrayBuffer(8 * Q_FIELDS * queueCount),
      counts: new SharedArrayBuffer(8 * (C_DEVICE + MAX_DEVICE_COUNTS)),
    });
  }

  get queueCount(): number {
    return this.queues.length / Q_FIELDS;
  }

  word(i: number): number {
    return Atomics.load(this.words, i);
  }

  setWord(i: number, value: number): void {
    Atomics.store(this.words, i, value);
  }

  queue(index: number, field: number): number {
    return this.queues[index * Q_FIELDS + field]!;
  }

  /** The features the driver and device agreed on. */
  get features(): bigint {
    return (BigInt(this.word(W_FEATURES_HI) >>> 0) << 32n) | BigInt(this.word(W_FEATURES_LO) >>> 0);
  }

  set features(f: bigint) {
    this.setWord(W_FEATURES_LO, Number(f & 0xffffffffn) | 0);
    this.setWord(W_FEATURES_HI, Number((f >> 32n) & 0xffffffffn) | 0);
  }

  setQueue(index: number, field: number, value: number): void {
    this.queues[index * Q_FIELDS + field] = value;
  }

  /** The thread's side: its counters and its device's, in the device's own order. */
  publishCounts(transport: readonly number[], device: object): void {
    transport.forEach((n, i) => { this.counts[i] = n; });
    let i = C_DEVICE;
    for (const n of Object.values(device)) if (i < this.counts.length) this.counts[i++] = n as number;
  }

  /** The transport's side: the device's counters named as `like` (the same class's stats object) names them. */
  deviceCounts<T extends object>(like: T): T {
    const out: Record<string, number> = {};
    Object.keys(like).forEach((k, i) => { out[k] = this.counts[C_DEVICE + i] ?? 0; });
    return out as T;
  }
}

// The thread-wide control block (Int32Array).
export const T_SEQ = 0; // bumped by the vCPU thread for each command
export const T_DONE = 1; // the last command the thread carried out
export const T_COMMAND = 2;
export const T_STATE = 3;
export const T_REPORT_LOCK = 4;
export const T_REPORT_LENGTH = 5;
export const T_REPORTS_LOST = 6;
export const CONTROL_WORDS = 7;
/** Bytes of report text waiting for the vCPU thread (each report "kind\tmessage\n"). */
export const REPORT_BYTES = 4096;

export const CMD_CONFIGURE = 1;
export const CMD_STOP = 2;

export const STATE_STARTING = 0;
export const STATE_RUNNING = 1;
export const STATE_STOPPED = 2;
/** The thread failed (a fault of ours, not the guest's): its report says why. */
export const STATE_DEAD = 3;

/** Takes the report lock: both sides hold it for a copy of a few hundred bytes. */
export function lockReports(control: Int32Array): void {
  while (Atomics.compareExchange(control, T_REPORT_LOCK, 0, 1) !== 0) { /* spin: the holder is copying */ }
}

export function unlockReports(control: Int32Array): void {
  Atomics.store(control, T_REPORT_LOCK, 0);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The thread's side: appends a report, or counts it lost when the vCPU thread has not taken the earlier ones. */
export function postReport(control: Int32Array, text: Uint8Array, kind: string, message: string): void {
  const bytes = utf8.encode(`${kind}\t${message.replaceAll("\n", " ")}\n`);
  lockReports(control);
  const length = control[T_REPORT_LENGTH]!;
  if (length + bytes.length <= text.length) {
    text.set(bytes, length);
    control[T_REPORT_LENGTH] = length + bytes.length;
  } else {
    control[T_REPORTS_LOST]!++;
  }
  unlockReports(control);
}

/** The vCPU thread's side: the reports waiting, and how many were lost for want of room. */
export function takeReports(control: Int32Array, text: Uint8Array): { reports: Array<{ kind: string; message: string }>; lost: number } {
  lockReports(control);
  const length = control[T_REPORT_LENGTH]!;
  const lines = length === 0 ? "" : fromUtf8.decode(text.subarray(0, length));
  const lost = control[T_REPORTS_LOST]!;
  control[T_REPORT_LENGTH] = 0;
  control[T_REPORTS_LOST] = 0;
  unlockReports(control);
  const reports = lines.split("\n").filter((l) => l !== "").map((l) => {
    const tab = l.indexOf("\t");
    return { kind: l.slice(0, tab), message: l.slice(tab + 1) };
  });
  return { reports, lost };
}
