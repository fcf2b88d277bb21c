// A split virtqueue (virtio 1.2, 2.7): the driver's descriptor table and available ring and the
// device's used ring, all in guest RAM at addresses the driver chose. Everything the driver wrote
// is checked before use: the areas must be RAM, the size a power of two, every descriptor index
// below the size, every buffer inside RAM, a chain no longer than the queue (so a loop ends), an
// indirect table a whole number of descriptors and not nested. A driver that breaks a rule gets a
// QueueError; the transport then sets DEVICE_NEEDS_RESET and touches the queue no more.
// With VIRTIO_F_EVENT_IDX (2.7.10) the driver says after which used index it wants an interrupt,
// and the device says after which available index it wants a notification. As QEMU does, the
// device asks for one only when it finds the ring empty: while it is still taking requests (or,
// for receive buffers, while it has some left) the driver's notification would only cost a VM
// exit. So a device takes requests until pop() finds none, or it has work that will bring it back
// (a frame for the receive buffers it still holds).
import type { GuestMemory } from "../memory/guest-memory";
import { u64At } from "../binary/struct";

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** In the available ring's flags: the driver wants no interrupt (without EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

export const DESC_SIZE = 16;
/** The largest queue the spec allows (2.7: Queue Size ≤ 32768). */
export const MAX_QUEUE_SIZE = 32768;
/** An indirect table longer than this is refused (QEMU's limit too: what Linux makes is far less). */
export const MAX_INDIRECT = 1024;

/** Sizes of the three areas for a queue of `n` entries (2.7: with the event fields). */
export const descTableSize = (n: number) => DESC_SIZE * n;
export const availRingSize = (n: number) => 6 + 2 * n;
export const usedRingSize = (n: number) => 6 + 8 * n;

/** The driver broke the rules of the queue: the message says how, for the one report. */
export class QueueError extends Error {}

/** One buffer of a chain: guest-physical, checked to lie in RAM. */
export interface Segment { gpa: number; len: number }

/** A request: its head index (for the used ring) and its buffers, those the device reads first. */
export interface Chain {
  head: number;
  readable: Segment[];
  writable: Segment[];
  /** Sum of the writable lengths: the most the device can write. */
  writableBytes: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** A full memory barrier: a locked instruction on x86, which a plain store is not. Our stores to guest RAM become visible before our loads after it. */
const FENCE = new Int32Array(new SharedArrayBuffer(4));
const fence = () => Atomics.add(FENCE, 0, 0);

export class VirtQueue {
  /** Set by the driver through the transport before it makes the queue ready. */
  size: number;
  descAddr = 0;
  driverAddr = 0;
  deviceAddr = 0;
  /** VIRTIO_F_EVENT_IDX was negotiated. */
  eventIdx = false;
  private on = false;
  private desc: DataView | undefined;
  private avail: DataView | undefined;
  private used: DataView | undefined;
  /** The next available-ring entry to take, and the next used-ring entry to fill (free-running u16). */
  private nextAvail = 0;
  private nextUsed = 0;
  /** The used index when the driver was last interrupted (EVENT_IDX). */
  private signalledUsed = 0;
  /** Used entries published since the last interrupt decision. */
  private pending = 0;
  /** The used index as the driver sees it (push() may leave elements unpublished until the last of a batch). */
  private publishedUsed = 0;

  constructor(private readonly memory: GuestMemory, readonly maxSize: number) {
    if (!(maxSize >= 1 && maxSize <= MAX_QUEUE_SIZE && (maxSize & (maxSize - 1)) === 0)) throw new Error(`bad queue size ${maxSize}`);
    this.size = maxSize;
  }

  get ready(): boolean {
    return this.on;
  }

  /** QueueReady = 1: checks what the driver set and maps the areas. */
  activate(): void {
    const n = this.size;
    if (!(n >= 1 && n <= this.maxSize && (n & (n - 1)) === 0)) throw new QueueError(`queue size ${n} is not a power of two from 1 to ${this.maxSize}`);
    // 2.7: descriptor table 16-aligned, available ring 2-aligned, used ring 4-aligned.
    if (this.descAddr % 16 !== 0 || this.driverAddr % 2 !== 0 || this.deviceAddr % 4 !== 0) {
      throw new QueueError(`misaligned queue areas (descriptors ${hex(this.descAddr)}, driver ${hex(this.driverAddr)}, device ${hex(this.deviceAddr)})`);
    }
    this.desc = this.area(this.descAddr, descTableSize(n), "descriptor table");
    this.avail = this.area(this.driverAddr, availRingSize(n), "available ring");
    this.used = this.area(this.deviceAddr, usedRingSize(n), "used ring");
    this.nextAvail = this.nextUsed = this.signalledUsed = this.pending = this.publishedUsed = 0;
    this.on = true;
  }

  /** Device reset or QueueReady = 0: forgets everything the driver set. */
  reset(): void {
    this.on = false;
    this.desc = this.avail = this.used = undefined;
    this.size = this.maxSize;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.eventIdx = false;
  }

  private area(gpa: number, length: number, what: string): DataView {
    let bytes: Uint8Array;
    try {
      bytes = this.memory.slice(gpa, length, what);
    } catch {
      throw new QueueError(`the ${what} at ${hex(gpa)}+${length} is not in guest RAM`);
    }
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Whether the driver has made requests the device has not taken. */
  hasWork(): boolean {
    return this.on && this.avail!.getUint16(2, true) !== this.nextAvail;
  }

  /** The next request, or undefined when the driver has made none. Throws QueueError on a broken one. */
  pop(): Chain | undefined {
    if (!this.on) return undefined;
    const avail = this.avail!;
    const idx = avail.getUint16(2, true);
    let waiting = (idx - this.nextAvail) & 0xffff;
    if (waiting === 0) {
      if (!this.eventIdx) return undefined;
      // Found empty: from here the driver is to notify at its next request (avail_event). That
      // store must be visible before this second look at the index: else the driver could add a
      // request, read the older avail_event and not notify.
      this.used!.setUint16(4 + 8 * this.size, this.nextAvail, true);
      fence();
      waiting = (avail.getUint16(2, true) - this.nextAvail) & 0xffff;
      if (waiting === 0) return undefined;
      return this.pop();
    }
    if (waiting > this.size) throw new QueueError(`the available index ${idx} is ${waiting} ahead of the device's ${this.nextAvail}, more than the queue's ${this.size}`);
    const head = avail.getUint16(4 + 2 * (this.nextAvail % this.size), true);
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    return this.chain(head);
  }

  /**
   * Gives back the last `n` requests pop() took, not used (a frame that needs more buffers than
   * the driver has given yet): they come out again, unchanged, next time. With EVENT_IDX the
   * driver is asked to notify at its next request, not at the first one given back (which it
   * made already). True if the driver made another meanwhile: the caller should look again.
   */
  unpop(n: number): boolean {
    if (!this.on) return false;
    this.nextAvail = (this.nextAvail - n) & 0xffff;
    const idx = this.avail!.getUint16(2, true);
    if (!this.eventIdx) return false;
    this.used!.setUint16(4 + 8 * this.size, idx, true);
    fence();
    return this.avail!.getUint16(2, true) !== idx;
  }

  /** Walks the chain at `head` (2.7.5, 2.7.7), checking each descriptor. */
  private chain(head: number): Chain {
    const c: Chain = { head, readable: [], writable: [], writableBytes: 0 };
    if (head >= this.size) throw new QueueError(`descriptor index ${head} is outside the queue of ${this.size}`);
    let table = this.desc!;
    let limit = this.size;
    let i = head;
    let seen = 0;
    let indirect = false;
    for (;;) {
      if (++seen > limit) throw new QueueError(`the chain at ${head} is longer than ${limit} descriptors (a loop?)`);
      const at = i * DESC_SIZE;
      const addr = u64At(table, at);
      const len = table.getUint32(at + 8, true);
      const flags = table.getUint16(at + 12, true);
      const next = table.getUint16(at + 14, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (indirect) throw new QueueError(`an indirect descriptor inside an indirect table (chain ${head})`);
        if (flags & VIRTQ_DESC_F_NEXT) throw new QueueError(`an indirect descriptor with NEXT set (chain ${head})`);
        if (len === 0 || len % DESC_SIZE !== 0 || len / DESC_SIZE > MAX_INDIRECT) throw new QueueError(`an indirect table of ${len} bytes (chain ${head})`);
        if (addr % 16 !== 0) throw new QueueError(`an indirect table at ${hex(addr)} is not 16-aligned`);
        table = this.area(addr, len, "indirect table");
        limit = len / DESC_SIZE;
        indirect = true;
        seen = 0;
        i = 0;
        continue;
      }
      if (len > 0 && !this.memory.contains(addr, len)) throw new QueueError(`a buffer at ${hex(addr)}+${len} is not in guest RAM (chain ${head})`);
      if (len === 0) {
        // Carries nothing, and its address may be anything: left out, so no device ever looks it up.
      } else if (flags & VIRTQ_DESC_F_WRITE) {
        c.writable.push({ gpa: addr, len });
        c.writableBytes += len;
      } else {
        if (c.writable.length > 0) throw new QueueError(`a device-readable buffer after a writable one (chain ${head})`);
        c.readable.push({ gpa: addr, len });
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) return c;
      if (next >= limit) throw new QueueError(`descriptor ${i} points past the ${indirect ? "indirect table" : "queue"} (next ${next}, chain ${head})`);
      i = next;
    }
  }

  /**
   * Returns request `head` to the driver with `written` bytes written into its buffers. `last`
   * false: more of one batch follow, and the driver is to see them all at once (the used index
   * moves with the last).
   */
  push(head: number, written: number, last = true): void {
    if (!this.on) return;
    const used = this.used!;
    const at = 4 + 8 * (this.nextUsed % this.size);
    used.setUint32(at, head, true);
    used.setUint32(at + 4, written, true);
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    if (last) this.publishUsed();
  }

  /** Shows the driver every buffer push() returned: the used index covers them. */
  private publishUsed(): void {
    if (this.nextUsed === this.publishedUsed) return;
    // The elements before the index: x86 keeps stores in order, so the driver never sees the
    // index cover an element not yet written.
    this.used!.setUint16(2, this.nextUsed, true);
    this.pending += (this.nextUsed - this.publishedUsed) & 0xffff;
    this.publishedUsed = this.nextUsed;
  }

  /**
   * Whether the driver wants an interrupt for what was published since the last call (2.7.10):
   * with EVENT_IDX, when the used index passed its used_event; otherwise unless it set NO_INTERRUPT.
   */
  needsInterrupt(): boolean {
    if (!this.on || this.pending === 0) return false;
    this.pending = 0;
    // The used index published must be visible before we read the driver's used_event (or
    // flags). x86 may let a load pass an earlier store: without the fence we could read the value
    // from before the driver's last look at our index, while it reads our index from before this
    // push — each thinks the other will act, no interrupt comes, and the driver waits for ever.
    // (The driver fences between its store and its load; the pattern needs both sides to.)
    fence();
    const avail = this.avail!;
    if (!this.eventIdx) return (avail.getUint16(0, true) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const usedEvent = avail.getUint16(4 + 2 * this.size, true);
    const old = this.signalledUsed;
    const now = this.publishedUsed;
    this.signalledUsed = now;
    // vring_need_event: the event index lies in (old, new], all modulo 2^16.
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }
}

/** Copies between `bytes` and the chain's buffers, from the start of both, as far as both go; returns the bytes copied. */
function copyChain(memory: GuestMemory, segments: readonly Segment[], bytes: Uint8Array, toGuest: boolean): number {
  let done = 0;
  for (const s of segments) {
    if (done === bytes.length) break;
    const n = Math.min(s.len, bytes.length - done);
    if (toGuest) memory.copyIn(s.gpa, bytes, done, n, "virtqueue buffer"); else memory.copyOut(s.gpa, bytes, done, n, "virtqueue buffer");
    done += n;
  }
  return done;
}

/** Copies `src` into the chain's writable buffers from the start; returns the bytes written. */
export const writeToChain = (memory: GuestMemory, segments: readonly Segment[], src: Uint8Array): number => copyChain(memory, segments, src, true);

/** Reads the chain's readable buffers from the start into `dst` (as much as fits); returns the bytes read. */
export const readFromChain = (memory: GuestMemory, segments: readonly Segment[], dst: Uint8Array): number => copyChain(memory, segments, dst, false);
