// virtio-net (virtio 1.2, 5.1): a receive queue (0) and a transmit queue (1) between the guest and
// a frame link on the host (a TAP device). Every frame carries the 12-byte virtio_net_hdr first;
// no offloads are offered, so the header is all zeros both ways (num_buffers 1 on receive), and
// frames move as they are. The MAC address is in the configuration space (VIRTIO_NET_F_MAC).
// Receiving: a frame is read from the link only when the driver has a buffer for it; one read
// and not delivered waits in `pending` until a buffer comes (the driver's RX notification).
import type { GuestMemory } from "../memory/guest-memory";
import type { VirtioDevice } from "./mmio";
import { readFromChain, writeToChain, type VirtQueue } from "./queue";

export const VIRTIO_ID_NET = 1;
export const VIRTIO_NET_F_MAC = 5n;
export const NET_HDR_SIZE = 12;
/** The largest frame taken either way: a 64 KiB IP packet with its Ethernet header. */
export const MAX_FRAME = 65536 + 14;
const QUEUE_SIZE = 256;
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;

/** Where frames go and come from. */
export interface FrameLink {
  /** One waiting frame into `into`: its length, or 0 when none waits. */
  receive(into: Uint8Array): number;
  /** Hands one frame on; false if it was dropped. */
  send(frame: Uint8Array): boolean;
}

export interface NetStats { rxFrames: number; rxBytes: number; rxDropped: number; txFrames: number; txBytes: number; txDropped: number }

/** A MAC address "52:54:00:12:34:56" as its 6 bytes; undefined if it is not one (or is multicast). */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/.test(text) ? text.split(":").map((h) => parseInt(h, 16)) : undefined;
  if (m === undefined || (m[0]! & 1) !== 0) return undefined;
  return Uint8Array.from(m);
}

export class VirtioNet implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features = 1n << VIRTIO_NET_F_MAC;
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE];
  readonly stats: NetStats = { rxFrames: 0, rxBytes: 0, rxDropped: 0, txFrames: 0, txBytes: 0, txDropped: 0 };
  private readonly rxBuf = new Uint8Array(NET_HDR_SIZE + MAX_FRAME);
  private readonly txBuf = new Uint8Array(NET_HDR_SIZE + MAX_FRAME);
  /** Length of the frame read from the link and not yet delivered (it sits in rxBuf after the header). */
  private pending = 0;
  /** Called whenever the link has no frame left (a watcher may look for the next one). */
  onDrained: () => void = () => {};

  constructor(private readonly memory: GuestMemory, private readonly link: FrameLink, private readonly mac: Uint8Array) {}

  /** A frame is waiting for a receive buffer the driver has not given yet. */
  get rxBlocked(): boolean {
    return this.pending > 0;
  }

  readConfig(offset: number, data: Uint8Array): void {
    if (offset < 6) data.set(this.mac.subarray(offset, Math.min(6, offset + data.length)));
  }

  writeConfig(): void {}

  process(queue: VirtQueue, index: number): void {
    if (index === TX_QUEUE) this.transmit(queue);
    else this.receive(queue);
  }

  reset(): void {
    this.pending = 0;
  }

  private transmit(queue: VirtQueue): void {
    for (let c = queue.pop(); c !== undefined; c = queue.pop()) {
      const n = readFromChain(this.memory, c.readable, this.txBuf);
      const total = c.readable.reduce((s, r) => s + r.len, 0);
      if (n <= NET_HDR_SIZE || total > this.txBuf.length || !this.link.send(this.txBuf.subarray(NET_HDR_SIZE, n))) {
        this.stats.txDropped++;
      } else {
        this.stats.txFrames++;
        this.stats.txBytes += n - NET_HDR_SIZE;
      }
      queue.push(c.head, 0);
    }
  }

  /** Delivers frames from the link while the driver has buffers for them. */
  private receive(queue: VirtQueue): void {
    for (;;) {
      if (this.pending === 0) {
        this.pending = this.link.receive(this.rxBuf.subarray(NET_HDR_SIZE));
        if (this.pending === 0) { this.onDrained(); return; }
      }
      const c = queue.pop();
      if (c === undefined) return;
      const length = NET_HDR_SIZE + this.pending;
      this.pending = 0;
      if (c.writableBytes < length) {
        // Too big for the buffer (no mergeable buffers are offered): dropped; the driver sees an empty one.
        this.stats.rxDropped++;
        queue.push(c.head, 0);
        continue;
      }
      this.rxBuf.fill(0, 0, NET_HDR_SIZE);
      this.rxBuf[10] = 1; // num_buffers
      queue.push(c.head, writeToChain(this.memory, c.writable, this.rxBuf.subarray(0, length)));
      this.stats.rxFrames++;
      this.stats.rxBytes += length - NET_HDR_SIZE;
    }
  }
}
