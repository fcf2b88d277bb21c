// virtio-net (virtio 1.2, 5.1): a receive queue (0) and a transmit queue (1) between the guest and
// a frame link on the host (a TAP device). Every frame carries the 12-byte virtio_net_hdr first.
// Over a link that speaks that header too (a TAP opened with IFF_VNET_HDR) the checksum and
// segmentation offloads are offered, as QEMU does: the guest hands over TCP segments of up to
// 64 KiB with their checksums left to the host (CSUM, HOST_TSO4/6) and takes the host's the same
// way (GUEST_CSUM, GUEST_TSO4/6), so a bulk transfer moves one frame where it would move 45.
// The header then passes through unchanged both ways; over a plain link it is all zeros.
// Receive buffers may be merged (MRG_RXBUF): a frame fills as many of the driver's buffers as it
// needs, and the header's num_buffers says how many. Receiving: a frame is read from the link
// only when the driver has a buffer; one read and not delivered waits in `pending` until the
// driver gives enough (its RX notification). The MAC address is in the configuration space.
import type { GuestMemory } from "../memory/guest-memory";
import type { VirtioDevice } from "./mmio";
import { MAX_INDIRECT, readFromChain, writeToChain, type Chain, type Segment, type VirtQueue } from "./queue";

export const VIRTIO_ID_NET = 1;
// Feature bits (5.1.3).
export const VIRTIO_NET_F_CSUM = 0n;
export const VIRTIO_NET_F_GUEST_CSUM = 1n;
export const VIRTIO_NET_F_MAC = 5n;
export const VIRTIO_NET_F_GUEST_TSO4 = 7n;
export const VIRTIO_NET_F_GUEST_TSO6 = 8n;
export const VIRTIO_NET_F_HOST_TSO4 = 11n;
export const VIRTIO_NET_F_HOST_TSO6 = 12n;
export const VIRTIO_NET_F_MRG_RXBUF = 15n;
const has = (features: bigint, f: bigint) => (features & (1n << f)) !== 0n;
/** The offloads, offered only over a link that carries the header (both sides must agree on every packet's header). */
const OFFLOADS = [VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6]
  .reduce((m, f) => m | (1n << f), 0n);

export const NET_HDR_SIZE = 12;
/** num_buffers, the header's last field. */
const NUM_BUFFERS = 10;
/** The largest frame taken either way: a 64 KiB IP packet (a TSO segment) with its Ethernet header. */
export const MAX_FRAME = 65536 + 14;
const QUEUE_SIZE = 256;
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;

/** Where frames go and come from. */
export interface FrameLink {
  /** Frames carry the virtio_net_hdr on the link too (a TAP with IFF_VNET_HDR): offloads can pass. */
  readonly vnetHeader?: boolean;
  /** One waiting frame into `into` (after its header, with vnetHeader): its length, or 0 when none waits. */
  receive(into: Uint8Array): number;
  /** Hands one frame on (its header first, with vnetHeader); false if it was dropped. */
  send(frame: Uint8Array): boolean;
  /**
   * As send(), the `length`-byte frame (header included; only with vnetHeader) read in place from
   * `count` ranges of host memory, addrs[i] and lens[i], which the device has checked.
   */
  sendHost?(addrs: Float64Array, lens: Float64Array, count: number, length: number): boolean;
  /** What the guest takes: checksums left to it, TCP segments of IPv4 / IPv6 bigger than the MTU. */
  setOffloads?(o: { csum: boolean; tso4: boolean; tso6: boolean }): void;
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
  readonly features: bigint;
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE];
  readonly stats: NetStats = { rxFrames: 0, rxBytes: 0, rxDropped: 0, txFrames: 0, txBytes: 0, txDropped: 0 };
  private readonly rxBuf = new Uint8Array(NET_HDR_SIZE + MAX_FRAME);
  private readonly txBuf = new Uint8Array(NET_HDR_SIZE + MAX_FRAME);
  /** Length (header included) of the frame read from the link and not yet delivered; it sits in rxBuf. */
  private pending = 0;
  private mergeable = false;
  private readonly chains: Chain[] = [];
  /** A frame's buffers as host ranges, for sendHost (a chain has at most MAX_INDIRECT). */
  private readonly addrs = new Float64Array(MAX_INDIRECT);
  private readonly lens = new Float64Array(MAX_INDIRECT);

  constructor(private readonly memory: GuestMemory, private readonly link: FrameLink, private readonly mac: Uint8Array) {
    this.features = (1n << VIRTIO_NET_F_MAC) | (1n << VIRTIO_NET_F_MRG_RXBUF) | (link.vnetHeader ? OFFLOADS : 0n);
  }

  /** A frame is waiting for receive buffers the driver has not given yet. */
  get rxBlocked(): boolean {
    return this.pending > 0;
  }

  readConfig(offset: number, data: Uint8Array): void {
    if (offset < 6) data.set(this.mac.subarray(offset, Math.min(6, offset + data.length)));
  }

  writeConfig(): void {}

  /** The driver is ready with these features: how frames are received, and what the link may send it. */
  driverOk(features: bigint): void {
    this.mergeable = has(features, VIRTIO_NET_F_MRG_RXBUF);
    this.link.setOffloads?.({
      csum: has(features, VIRTIO_NET_F_GUEST_CSUM),
      tso4: has(features, VIRTIO_NET_F_GUEST_TSO4),
      tso6: has(features, VIRTIO_NET_F_GUEST_TSO6),
    });
  }

  process(queue: VirtQueue, index: number): void {
    if (index === TX_QUEUE) this.transmit(queue);
    else this.receive(queue);
  }

  reset(): void {
    this.pending = 0;
    this.mergeable = false;
  }

  private transmit(queue: VirtQueue): void {
    for (let c = queue.pop(); c !== undefined; c = queue.pop()) {
      let total = 0;
      for (const r of c.readable) total += r.len;
      if (total > NET_HDR_SIZE && total <= this.txBuf.length && this.send(c.readable, total)) {
        this.stats.txFrames++;
        this.stats.txBytes += total - NET_HDR_SIZE;
      } else {
        this.stats.txDropped++;
      }
      queue.push(c.head, 0);
    }
  }

  /**
   * Hands on the `total`-byte frame in `buffers`: in place from guest RAM where the link carries
   * the header and the memory is mapped (one writev, as QEMU does), else copied into txBuf first.
   */
  private send(buffers: readonly Segment[], total: number): boolean {
    if (this.link.vnetHeader && this.link.sendHost !== undefined && this.memory.hostRanges(buffers, this.addrs, this.lens, "virtio-net frame")) {
      return this.link.sendHost(this.addrs, this.lens, buffers.length, total);
    }
    const skip = this.link.vnetHeader ? 0 : NET_HDR_SIZE;
    const n = readFromChain(this.memory, buffers, this.txBuf);
    return this.link.send(this.txBuf.subarray(skip, n));
  }

  /** Delivers frames from the link while the driver has buffers for them. */
  private receive(queue: VirtQueue): void {
    for (;;) {
      if (this.pending === 0) {
        if (this.link.vnetHeader) this.pending = this.link.receive(this.rxBuf);
        else {
          const n = this.link.receive(this.rxBuf.subarray(NET_HDR_SIZE));
          if (n > 0) this.rxBuf.fill(0, 0, NET_HDR_SIZE);
          this.pending = n > 0 ? NET_HDR_SIZE + n : 0;
        }
        if (this.pending <= NET_HDR_SIZE) { this.pending = 0; return; }
      }
      if (!this.take(queue)) return;
      const length = this.pending;
      this.pending = 0;
      const room = this.chains.reduce((n, c) => n + c.writableBytes, 0);
      if (room < length) {
        // Too big for the buffer (without merging, one buffer per frame): dropped; the driver sees it empty.
        this.stats.rxDropped++;
        for (const c of this.chains) queue.push(c.head, 0);
        continue;
      }
      this.rxBuf[NUM_BUFFERS] = this.chains.length & 0xff;
      this.rxBuf[NUM_BUFFERS + 1] = this.chains.length >> 8;
      // All the frame's buffers become used at once: Linux's driver, finding the first, takes
      // num_buffers - 1 more straight away, and drops the frame if they are not there yet.
      let done = 0;
      for (let i = 0; i < this.chains.length; i++) {
        const c = this.chains[i]!;
        const n = writeToChain(this.memory, c.writable, this.rxBuf.subarray(done, length));
        queue.push(c.head, n, i === this.chains.length - 1);
        done += n;
      }
      this.stats.rxFrames++;
      this.stats.rxBytes += length - NET_HDR_SIZE;
    }
  }

  /**
   * The buffers the pending frame goes into: one chain, or with merging as many as it fills. False
   * (nothing taken) when the driver has not given enough yet.
   */
  private take(queue: VirtQueue): boolean {
    this.chains.length = 0;
    let room = 0;
    for (;;) {
      const c = queue.pop();
      if (c === undefined) {
        // Not enough yet: given back; if the driver added one meanwhile, look again.
        const more = queue.unpop(this.chains.length);
        this.chains.length = 0;
        room = 0;
        if (more) continue;
        return false;
      }
      this.chains.push(c);
      room += c.writableBytes;
      if (!this.mergeable || room >= this.pending || this.chains.length === QUEUE_SIZE) return true;
    }
  }
}
