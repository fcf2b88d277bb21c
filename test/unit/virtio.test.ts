// The split virtqueue, the virtio-mmio transport and virtio-rng against a driver played by hand in
// fake guest RAM: the negotiation a Linux driver does, requests and their used entries, interrupt
// suppression both ways, and a hostile driver's every kind of broken queue.
import { describe, expect, test } from "bun:test";
import { GuestMemory } from "../../src/memory/guest-memory";
import * as M from "../../src/virtio/mmio";
import { QueueError, VirtQueue, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from "../../src/virtio/queue";
import { VirtioRng } from "../../src/virtio/rng";
import { VirtioBlk } from "../../src/virtio/blk";
import { MAX_FRAME, NET_HDR_SIZE, TX_QUEUE, VirtioNet } from "../../src/virtio/net";
import { parseNetSpec } from "../../src/host/tap";
import { SharedDevice } from "../../src/virtio/io-shared";
import { ThreadedDevice } from "../../src/virtio/io-device";

const RAM = 0x100000;
const DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000;

function ram() {
  const memory = GuestMemory.fromBuffers([{ gpa: 0, size: RAM }]);
  const view = new DataView(memory.slice(0, RAM).buffer, memory.slice(0, RAM).byteOffset, RAM);
  return { memory, view };
}

/** The driver's side of one queue of `size` entries at DESC/AVAIL/USED. */
function driver(view: DataView, size: number) {
  let avail = 0;
  return {
    desc(i: number, addr: number, len: number, flags = 0, next = 0, table = DESC) {
      const at = table + 16 * i;
      view.setBigUint64(at, BigInt(addr), true);
      view.setUint32(at + 8, len, true);
      view.setUint16(at + 12, flags, true);
      view.setUint16(at + 14, next, true);
    },
    offer(head: number) {
      view.setUint16(AVAIL + 4 + 2 * (avail % size), head, true);
      avail = (avail + 1) & 0xffff;
      view.setUint16(AVAIL + 2, avail, true);
    },
    setAvailIdx(v: number) { view.setUint16(AVAIL + 2, v, true); },
    usedIdx: () => view.getUint16(USED + 2, true),
    used: (i: number) => [view.getUint32(USED + 4 + 8 * (i % size), true), view.getUint32(USED + 8 + 8 * (i % size), true)],
    /** used_event, in the available ring after its entries (EVENT_IDX). */
    setUsedEvent(v: number) { view.setUint16(AVAIL + 4 + 2 * size, v, true); },
    availEvent: () => view.getUint16(USED + 4 + 8 * size, true),
  };
}

function queue(memory: GuestMemory, size = 8) {
  const q = new VirtQueue(memory, size);
  q.descAddr = DESC; q.driverAddr = AVAIL; q.deviceAddr = USED;
  q.activate();
  return q;
}

describe("split virtqueue", () => {
  test("a chain of readable then writable buffers comes out whole; push fills the used ring", () => {
    const { memory, view } = ram();
    const d = driver(view, 8);
    const q = queue(memory);
    expect(q.pop()).toBeUndefined();
    d.desc(3, 0x10000, 16, VIRTQ_DESC_F_NEXT, 5);
    d.desc(5, 0x20000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    d.desc(1, 0x30000, 1, VIRTQ_DESC_F_WRITE);
    d.offer(3);
    expect(q.pop()).toEqual({ head: 3, readable: [{ gpa: 0x10000, len: 16 }], writable: [{ gpa: 0x20000, len: 512 }, { gpa: 0x30000, len: 1 }], writableBytes: 513 });
    expect(q.pop()).toBeUndefined();
    q.push(3, 513);
    expect(d.usedIdx()).toBe(1);
    expect(d.used(0)).toEqual([3, 513]);
  });

  test("an indirect table: its descriptors are the chain", () => {
    const { memory, view } = ram();
    const d = driver(view, 8);
    const q = queue(memory);
    const table = 0x8000;
    d.desc(0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 1, table);
    d.desc(1, 0x11000, 4096, VIRTQ_DESC_F_WRITE, 0, table);
    d.desc(2, table, 32, VIRTQ_DESC_F_INDIRECT);
    d.offer(2);
    expect(q.pop()).toEqual({ head: 2, readable: [{ gpa: 0x10000, len: 8 }], writable: [{ gpa: 0x11000, len: 4096 }], writableBytes: 4096 });
  });

  test("a zero-length buffer is left out of the chain, wherever it points (no device looks its address up)", () => {
    const { memory, view } = ram();
    const d = driver(view, 8);
    const q = queue(memory);
    d.desc(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);
    d.desc(1, 0xfff00010800, 0, VIRTQ_DESC_F_NEXT, 2); // outside RAM, but empty
    d.desc(2, 0x20000, 8, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    expect(q.pop()).toEqual({ head: 0, readable: [{ gpa: 0x10000, len: 16 }], writable: [{ gpa: 0x20000, len: 8 }], writableBytes: 8 });
  });

  test("the indices wrap at 2^16", () => {
    const { memory, view } = ram();
    const d = driver(view, 4);
    const q = queue(memory, 4);
    d.desc(0, 0x10000, 1, VIRTQ_DESC_F_WRITE);
    for (let i = 0; i < 70000; i++) {
      d.offer(0);
      expect(q.pop()?.head).toBe(0);
      q.push(0, 1);
    }
    expect(d.usedIdx()).toBe(70000 & 0xffff);
  });

  test("without EVENT_IDX: an interrupt per batch unless the driver set NO_INTERRUPT", () => {
    const { memory, view } = ram();
    const d = driver(view, 8);
    const q = queue(memory);
    expect(q.needsInterrupt()).toBe(false); // nothing returned yet
    d.desc(0, 0x10000, 1, VIRTQ_DESC_F_WRITE);
    d.offer(0); q.pop(); q.push(0, 1);
    expect(q.needsInterrupt()).toBe(true);
    view.setUint16(AVAIL, 1, true); // VIRTQ_AVAIL_F_NO_INTERRUPT
    d.offer(0); q.pop(); q.push(0, 1);
    expect(q.needsInterrupt()).toBe(false);
  });

  test("with EVENT_IDX: an interrupt only once the used index passes used_event; avail_event moves only when the device finds the ring empty", () => {
    const { memory, view } = ram();
    const d = driver(view, 8);
    const q = new VirtQueue(memory, 8);
    q.descAddr = DESC; q.driverAddr = AVAIL; q.deviceAddr = USED; q.eventIdx = true;
    q.activate();
    d.desc(0, 0x10000, 1, VIRTQ_DESC_F_WRITE);
    d.setUsedEvent(2); // interrupt me when entry 2 (the third) is used
    for (let i = 0; i < 3; i++) d.offer(0);
    const interrupts: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      q.pop();
      q.push(0, 1);
      interrupts.push(q.needsInterrupt());
    }
    expect(interrupts).toEqual([false, false, true]);
    // A batch: the used index (and the interrupt decision) moves with its last element.
    for (let i = 0; i < 2; i++) d.offer(0);
    q.pop(); q.push(0, 1, false);
    expect([d.usedIdx(), q.needsInterrupt()]).toEqual([3, false]);
    q.pop(); q.push(0, 1);
    expect(d.usedIdx()).toBe(5);
    // Still taking requests: the driver is not asked to notify (a notification would be an exit for nothing).
    expect(d.availEvent()).toBe(0);
    expect(q.pop()).toBeUndefined();
    expect(d.availEvent()).toBe(5); // empty: notify at the next one
    d.offer(0);
    expect(q.pop()).toBeDefined();
    expect(d.availEvent()).toBe(5);
  });

  describe("a hostile driver: QueueError, nothing outside RAM touched", () => {
    const cases: Array<[string, (d: ReturnType<typeof driver>, view: DataView) => void, string]> = [
      ["a head index past the queue", (d) => d.offer(8), "descriptor index 8 is outside the queue of 8"],
      ["a chain that loops", (d) => { d.desc(0, 0x10000, 1, VIRTQ_DESC_F_NEXT, 1); d.desc(1, 0x10000, 1, VIRTQ_DESC_F_NEXT, 0); d.offer(0); },
        "the chain at 0 is longer than 8 descriptors (a loop?)"],
      ["a next index past the queue", (d) => { d.desc(0, 0x10000, 1, VIRTQ_DESC_F_NEXT, 9); d.offer(0); }, "descriptor 0 points past the queue (next 9, chain 0)"],
      ["a buffer past the end of RAM", (d) => { d.desc(0, RAM - 8, 16); d.offer(0); }, "a buffer at 0xffff8+16 is not in guest RAM (chain 0)"],
      ["a buffer at 2^64 - 1", (d, v) => { d.desc(0, 0, 4096); v.setBigUint64(DESC, 0xffffffffffffffffn, true); d.offer(0); },
        "a buffer at 0x10000000000000000+4096 is not in guest RAM (chain 0)"],
      ["a buffer above 2^53 whose low half is RAM", (d, v) => { d.desc(0, 0, 4096); v.setBigUint64(DESC, (1n << 53n) + 0x10000n, true); d.offer(0); },
        "a buffer at 0x20000000010000+4096 is not in guest RAM (chain 0)"],
      ["a length that wraps past 2^32", (d) => { d.desc(0, 0x10000, 0xffffffff); d.offer(0); }, "a buffer at 0x10000+4294967295 is not in guest RAM (chain 0)"],
      ["readable after writable", (d) => { d.desc(0, 0x10000, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1); d.desc(1, 0x10000, 1); d.offer(0); },
        "a device-readable buffer after a writable one (chain 0)"],
      ["an indirect table inside an indirect table", (d) => { d.desc(0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0, 0x8000); d.desc(0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT); d.offer(0); },
        "an indirect descriptor inside an indirect table (chain 0)"],
      ["an indirect table of 17 bytes", (d) => { d.desc(0, 0x8000, 17, VIRTQ_DESC_F_INDIRECT); d.offer(0); }, "an indirect table of 17 bytes (chain 0)"],
      ["an indirect table outside RAM", (d) => { d.desc(0, RAM, 16, VIRTQ_DESC_F_INDIRECT); d.offer(0); }, "the indirect table at 0x100000+16 is not in guest RAM"],
      ["an indirect table that loops", (d) => { d.desc(0, 0x10000, 1, VIRTQ_DESC_F_NEXT, 0, 0x8000); d.desc(0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT); d.offer(0); },
        "the chain at 0 is longer than 1 descriptors (a loop?)"],
      ["INDIRECT with NEXT", (d) => { d.desc(0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1); d.offer(0); }, "an indirect descriptor with NEXT set (chain 0)"],
      ["an available index far ahead", (d) => d.setAvailIdx(100), "the available index 100 is 100 ahead of the device's 0, more than the queue's 8"],
    ];
    for (const [name, make, message] of cases) {
      test(name, () => {
        const { memory, view } = ram();
        const d = driver(view, 8);
        const q = queue(memory);
        make(d, view);
        expect(() => q.pop()).toThrow(new QueueError(message));
      });
    }

    test("areas outside RAM, sizes that are not powers of two, misaligned rings: refused at QueueReady", () => {
      const { memory } = ram();
      const bad: Array<[Partial<VirtQueue>, string]> = [
        [{ size: 6 }, "queue size 6 is not a power of two from 1 to 8"],
        [{ size: 0 }, "queue size 0 is not a power of two from 1 to 8"],
        [{ size: 16 }, "queue size 16 is not a power of two from 1 to 8"],
        [{ descAddr: RAM - 64 }, "the descriptor table at 0xfffc0+128 is not in guest RAM"],
        [{ deviceAddr: 2 ** 60 }, "the used ring at 0x1000000000000000+70 is not in guest RAM"],
        [{ driverAddr: AVAIL + 1 }, "misaligned queue areas (descriptors 0x1000, driver 0x2001, device 0x3000)"],
      ];
      for (const [set, message] of bad) {
        const q = new VirtQueue(memory, 8);
        Object.assign(q, { descAddr: DESC, driverAddr: AVAIL, deviceAddr: USED }, set);
        expect(() => q.activate()).toThrow(new QueueError(message));
        expect(q.ready).toBe(false);
      }
    });
  });
});

/**
 * A driver at the register level, as Linux's virtio_mmio does it. With `thread` (a maker of the
 * device thread's own copy), the queues' work is a ThreadedDevice's, as on the device thread:
 * the transport's set-up reaches it at once, a notification as the ioeventfd would bring it, and
 * its interrupts are counted pulses (the irqfd).
 */
function mmio(device: M.VirtioDevice, memory: GuestMemory, thread?: () => M.VirtioDevice & { stats: object }) {
  const lines: boolean[] = [];
  const reports: string[] = [];
  let pulses = 0;
  let runner: ThreadedDevice | undefined;
  let offload: M.Offload | undefined;
  if (thread !== undefined) {
    const shared = SharedDevice.create(device.queueSizes.length);
    const td = new ThreadedDevice(memory, thread(), shared, () => { pulses++; }, (m) => reports.push(m));
    runner = td;
    offload = { shared, sync: () => { td.configure(); }, pulse: () => { pulses++; }, forward: (i) => { td.notified(i, 1); td.publish(); }, acknowledge: () => td.acknowledged() };
  }
  const t = new M.VirtioMmio(memory, device, (l) => lines.push(l), (m) => reports.push(m), offload);
  const w = (off: number, v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); t.write(off, b); };
  const r = (off: number) => { const b = new Uint8Array(4); t.read(off, b); return new DataView(b.buffer).getUint32(0, true); };
  return { t, w, r, lines, reports, runner, pulses: () => pulses };
}

function negotiate(x: ReturnType<typeof mmio>, features: bigint, size = 8) {
  x.w(M.REG_STATUS, M.STATUS_ACKNOWLEDGE);
  x.w(M.REG_STATUS, M.STATUS_ACKNOWLEDGE | M.STATUS_DRIVER);
  x.w(M.REG_DRIVER_FEATURES_SEL, 0); x.w(M.REG_DRIVER_FEATURES, Number(features & 0xffffffffn));
  x.w(M.REG_DRIVER_FEATURES_SEL, 1); x.w(M.REG_DRIVER_FEATURES, Number(features >> 32n));
  x.w(M.REG_STATUS, M.STATUS_ACKNOWLEDGE | M.STATUS_DRIVER | M.STATUS_FEATURES_OK);
  x.w(M.REG_QUEUE_SEL, 0);
  x.w(M.REG_QUEUE_NUM, size);
  x.w(M.REG_QUEUE_DESC_LOW, DESC); x.w(M.REG_QUEUE_DESC_HIGH, 0);
  x.w(M.REG_QUEUE_DRIVER_LOW, AVAIL); x.w(M.REG_QUEUE_DRIVER_HIGH, 0);
  x.w(M.REG_QUEUE_DEVICE_LOW, USED); x.w(M.REG_QUEUE_DEVICE_HIGH, 0);
  x.w(M.REG_QUEUE_READY, 1);
  x.w(M.REG_STATUS, M.STATUS_ACKNOWLEDGE | M.STATUS_DRIVER | M.STATUS_FEATURES_OK | M.STATUS_DRIVER_OK);
}

const V1 = M.bit(M.VIRTIO_F_VERSION_1);

for (const threaded of [false, true]) describe(`virtio-mmio transport and virtio-rng (queues ${threaded ? "on the device thread" : "served on the exit"})`, () => {
  const fixed = (b: Uint8Array) => b.forEach((_, i) => { b[i] = (i * 7 + 1) & 0xff; });
  /** The transport over an entropy device, its queues served here or by a ThreadedDevice. */
  const rngMmio = (memory: GuestMemory, fill?: (b: Uint8Array) => void) =>
    mmio(new VirtioRng(memory, fill), memory, threaded ? () => new VirtioRng(memory, fill) : undefined);

  test("identification registers; features in two halves; QueueNumMax; reserved registers read 0", () => {
    const { memory } = ram();
    const x = rngMmio(memory);
    expect([x.r(M.REG_MAGIC), x.r(M.REG_VERSION), x.r(M.REG_DEVICE_ID), x.r(M.REG_VENDOR_ID)]).toEqual([0x74726976, 2, 4, M.VENDOR_ID]);
    x.w(M.REG_DEVICE_FEATURES_SEL, 0);
    expect(x.r(M.REG_DEVICE_FEATURES)).toBe((1 << 28 | 1 << 29) >>> 0); // INDIRECT_DESC, EVENT_IDX
    x.w(M.REG_DEVICE_FEATURES_SEL, 1);
    expect(x.r(M.REG_DEVICE_FEATURES)).toBe(1); // VERSION_1
    x.w(M.REG_DEVICE_FEATURES_SEL, 2);
    expect(x.r(M.REG_DEVICE_FEATURES)).toBe(0);
    expect(x.r(M.REG_QUEUE_NUM_MAX)).toBe(256);
    x.w(M.REG_QUEUE_SEL, 1);
    expect(x.r(M.REG_QUEUE_NUM_MAX)).toBe(0); // no queue 1
    expect(x.r(0x0c0)).toBe(0);
    // A byte read of the magic gets its low byte.
    const b = new Uint8Array(1);
    x.t.read(M.REG_MAGIC, b);
    expect(b[0]).toBe(0x76);
  });

  test("a driver that does not take VERSION_1, or takes what was not offered, gets no FEATURES_OK", () => {
    const { memory } = ram();
    for (const f of [0n, V1 | (1n << 5n)]) {
      const x = rngMmio(memory);
      negotiate(x, f);
      expect(x.r(M.REG_STATUS) & M.STATUS_FEATURES_OK).toBe(0);
    }
  });

  test("a request is filled with host random bytes; the interrupt: a line that rises and falls with InterruptStatus, or an irqfd pulse", () => {
    const { memory, view } = ram();
    const x = rngMmio(memory, fixed);
    negotiate(x, V1);
    expect(x.r(M.REG_STATUS)).toBe(15);
    expect(x.r(M.REG_QUEUE_READY)).toBe(1);
    const d = driver(view, 8);
    d.desc(0, 0x40000, 64, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(d.used(0)).toEqual([0, 64]);
    expect([...memory.slice(0x40000, 4)]).toEqual([1, 8, 15, 22]);
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(M.INT_USED_BUFFER);
    expect([x.lines, x.pulses()]).toEqual(threaded ? [[], 1] : [[true], 0]);
    x.w(M.REG_INTERRUPT_ACK, M.INT_USED_BUFFER);
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(0);
    expect([x.lines, x.pulses()]).toEqual(threaded ? [[], 1] : [[true, false], 0]);
    // Counted once, wherever the work was done (the transport forwarded the notification to the thread).
    expect(x.t.counters()).toEqual({ notifications: threaded ? 2 : 1, interrupts: 1, errors: 0, requests: 1, bytes: 64 });
  });

  test("queue set-up registers are ignored while the queue is live; status 0 resets everything", () => {
    const { memory, view } = ram();
    const x = rngMmio(memory, fixed);
    negotiate(x, V1);
    x.w(M.REG_QUEUE_DESC_LOW, 0x9000);
    expect(x.t.queues[0]!.descAddr).toBe(DESC);
    x.w(M.REG_STATUS, 0);
    expect([x.r(M.REG_STATUS), x.r(M.REG_QUEUE_READY)]).toEqual([0, 0]);
    // After the reset a notification is the driver's mistake: reported, nothing touched.
    const d = driver(view, 8);
    d.desc(0, 0x40000, 64, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    x.w(M.REG_QUEUE_NOTIFY, 7);
    expect(d.usedIdx()).toBe(0);
    expect(x.reports).toEqual(["virtio rng: notified queue 0, which is not ready: ignored", "virtio rng: notified queue 7, which is not there: ignored"]);
  });

  test("a broken queue: DEVICE_NEEDS_RESET, one report, a configuration interrupt; later notifications do nothing until a reset", () => {
    const { memory, view } = ram();
    const x = rngMmio(memory, fixed);
    negotiate(x, V1);
    const d = driver(view, 8);
    d.desc(0, RAM - 4, 64, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(x.r(M.REG_STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(M.STATUS_DEVICE_NEEDS_RESET);
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(M.INT_CONFIG_CHANGE);
    expect(x.reports).toEqual(["virtio rng: queue 0: a buffer at 0xffffc+64 is not in guest RAM (chain 0); the device needs a reset"]);
    d.desc(0, 0x40000, 64, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(d.usedIdx()).toBe(0);
    expect(x.reports.length).toBe(1);
    // The driver may not clear DEVICE_NEEDS_RESET itself; a reset and a new set-up work again.
    x.w(M.REG_STATUS, 15);
    expect(x.r(M.REG_STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(M.STATUS_DEVICE_NEEDS_RESET);
    x.w(M.REG_STATUS, 0);
    view.setUint16(USED + 2, 0, true);
    const again = driver(view, 8); // a fresh ring from index 0
    again.setAvailIdx(0);
    negotiate(x, V1);
    again.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(again.usedIdx()).toBe(1);
  });

  test("a queue set up outside RAM: DEVICE_NEEDS_RESET at QueueReady", () => {
    const { memory } = ram();
    const x = rngMmio(memory, fixed);
    x.w(M.REG_STATUS, 3);
    x.w(M.REG_QUEUE_NUM, 3);
    x.w(M.REG_QUEUE_READY, 1);
    expect(x.r(M.REG_QUEUE_READY)).toBe(0);
    expect(x.r(M.REG_STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(M.STATUS_DEVICE_NEEDS_RESET);
    expect(x.reports).toEqual(["virtio rng: queue 0: queue size 3 is not a power of two from 1 to 256; the device needs a reset"]);
  });

  test("a bigger request than the device gives: the used length says how much came", () => {
    const { memory, view } = ram();
    const x = rngMmio(memory, fixed);
    negotiate(x, V1);
    const d = driver(view, 8);
    d.desc(0, 0x40000, 0x30000, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(d.used(0)).toEqual([0, 64 << 10]);
  });
});

describe("virtio-blk", () => {
  /** A disk of `sectors` sectors in memory, byte i = i & 0xff; a discard or a write-zeroes leaves 0xdd or 0 and is logged. */
  function disk(sectors: number, readOnly = false) {
    const bytes = new Uint8Array(sectors * 512).map((_, i) => i & 0xff);
    const calls = { flush: 0, zeroing: [] as string[] };
    const backend = {
      sectors, readOnly,
      read: (off: number, dst: Uint8Array) => dst.set(bytes.subarray(off, off + dst.length)),
      write: (off: number, src: Uint8Array) => bytes.set(src, off),
      flush: () => { calls.flush++; },
      discard: (off: number, len: number) => { bytes.fill(0xdd, off, off + len); calls.zeroing.push(`discard ${off}+${len}`); },
      writeZeroes: (off: number, len: number, unmap: boolean) => { bytes.fill(0, off, off + len); calls.zeroing.push(`zeroes ${off}+${len}${unmap ? " unmap" : ""}`); },
    };
    return { bytes, calls, backend };
  }

  function setUp(readOnly = false) {
    const { memory, view } = ram();
    const d = disk(64, readOnly);
    const blk = new VirtioBlk(memory, d.backend, "microvmm-disk0", () => {});
    const x = mmio(blk, memory);
    negotiate(x, V1 | (1n << 9n) | (readOnly ? 1n << 5n : (1n << 13n) | (1n << 14n)));
    const q = driver(view, 8);
    let n = 0;
    /** Header at 0x50000, data at 0x60000 (`len` bytes, writable for IN and GET_ID), status at 0x70000. */
    const request = (type: number, sector: number, len: number) => {
      view.setUint32(0x50000, type, true);
      view.setBigUint64(0x50008, BigInt(sector), true);
      view.setUint8(0x70000, 0xee);
      const toDevice = type === 1 || type === 11 || type === 13 ? 0 : VIRTQ_DESC_F_WRITE; // OUT, DISCARD and WRITE_ZEROES carry data to the device
      q.desc(0, 0x50000, 16, VIRTQ_DESC_F_NEXT, 1);
      if (len > 0) { q.desc(1, 0x60000, len, VIRTQ_DESC_F_NEXT | toDevice, 2); q.desc(2, 0x70000, 1, VIRTQ_DESC_F_WRITE); }
      else q.desc(1, 0x70000, 1, VIRTQ_DESC_F_WRITE);
      q.offer(0);
      x.w(M.REG_QUEUE_NOTIFY, 0);
      const [, used] = q.used(n++);
      return { status: view.getUint8(0x70000), used };
    };
    return { memory, view, d, blk, x, request };
  }

  test("features and configuration: capacity, seg_max, blk_size; RO only for a read-only image", () => {
    const { x, memory } = setUp();
    expect(x.r(M.REG_DEVICE_ID)).toBe(2);
    expect(x.r(M.REG_DEVICE_FEATURES) & (1 << 5)).toBe(0);
    expect(x.r(M.REG_DEVICE_FEATURES) & (1 << 9)).toBe(1 << 9);
    expect([x.r(M.CONFIG_SPACE), x.r(M.CONFIG_SPACE + 4), x.r(M.CONFIG_SPACE + 12), x.r(M.CONFIG_SPACE + 20)]).toEqual([64, 0, 1022, 512]);
    const ro = mmio(new VirtioBlk(memory, disk(8, true).backend, "", () => {}), memory);
    expect(ro.r(M.REG_DEVICE_FEATURES) & (1 << 5)).toBe(1 << 5);
  });

  test("a request of more buffers than one system call's list holds (direct ones, then an indirect table) is read through views, whole", () => {
    const memory = GuestMemory.anonymous([{ gpa: 0, size: RAM }]);
    try {
      const view = new DataView(memory.slice(0, RAM).buffer, memory.slice(0, RAM).byteOffset, RAM);
      const d = disk(1024);
      const calls: number[] = [];
      const backend = { ...d.backend, transferHost: (_o: number, addrs: Float64Array, _l: Float64Array, count: number) => {
        calls.push(count);
        if (count > addrs.length) throw new Error(`${count} ranges in a list of ${addrs.length}`);
      } };
      const x = mmio(new VirtioBlk(memory, backend, "", () => {}), memory);
      negotiate(x, V1 | M.bit(M.VIRTIO_F_INDIRECT_DESC));
      const q = driver(view, 8);
      // Header, 6 direct buffers of 256 bytes, then a table of 1022 more and the status: 1028 buffers, 514 sectors.
      const SEG = 256, DIRECT = 6, TABLE = 0x10000, DATA = 0x40000, HEADER = 0x8000, STATUS = 0x9000;
      view.setUint32(HEADER, 0, true); view.setBigUint64(HEADER + 8, 0n, true);
      q.desc(0, HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
      for (let i = 0; i < DIRECT; i++) q.desc(1 + i, DATA + SEG * i, SEG, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 + i);
      q.desc(1 + DIRECT, TABLE, 16 * 1023, VIRTQ_DESC_F_INDIRECT);
      for (let i = 0; i < 1022; i++) q.desc(i, DATA + SEG * (DIRECT + i), SEG, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, i + 1, TABLE);
      q.desc(1022, STATUS, 1, VIRTQ_DESC_F_WRITE, 0, TABLE);
      q.offer(0);
      x.w(M.REG_QUEUE_NOTIFY, 0);
      const total = SEG * (DIRECT + 1022);
      expect([view.getUint8(STATUS), q.used(0)[1]]).toEqual([0, total + 1]);
      expect(memory.slice(DATA, total)).toEqual(d.bytes.subarray(0, total));
      expect(calls).toEqual([]);
    } finally {
      memory.unmap();
    }
  });

  test("read, write, flush, GET_ID: the data, the status byte, the used length", () => {
    const { view, memory, d, blk, request } = setUp();
    expect(request(0, 2, 1024)).toEqual({ status: 0, used: 1025 });
    expect([...memory.slice(0x60000, 4)]).toEqual([0, 1, 2, 3]); // sector 2 starts at byte 1024: 1024 & 0xff = 0
    expect(memory.slice(0x60000, 1024)).toEqual(d.bytes.subarray(1024, 2048));
    memory.fill(0x60000, 512, 0xab);
    expect(request(1, 63, 512)).toEqual({ status: 0, used: 1 });
    expect(d.bytes.subarray(63 * 512).every((b) => b === 0xab)).toBe(true);
    expect(request(4, 0, 0)).toEqual({ status: 0, used: 1 });
    expect(d.calls.flush).toBe(1);
    expect(request(8, 0, 20)).toEqual({ status: 0, used: 21 });
    expect(new TextDecoder().decode(memory.slice(0x60000, 14))).toBe("microvmm-disk0");
    expect(view.getUint8(0x60000 + 14)).toBe(0);
    expect(blk.stats).toEqual({ requests: 4, bytesRead: 1024, bytesWritten: 512, flushes: 1, errors: 0, bytesDiscarded: 0, bytesZeroed: 0 });
  });

  test("bad requests get a status and the disk is untouched: past the end, not whole sectors, unknown type, read-only", () => {
    const { d, request } = setUp();
    const before = d.bytes.slice();
    expect(request(0, 64, 512).status).toBe(1); // past the end
    expect(request(1, 63, 1024).status).toBe(1); // runs past the end
    expect(request(1, 2 ** 53, 512).status).toBe(1);
    expect(request(0, 0, 100).status).toBe(1); // not whole sectors
    expect(request(99, 0, 512).status).toBe(2); // unsupported
    expect(d.bytes).toEqual(before);
    const ro = setUp(true);
    const roBefore = ro.d.bytes.slice();
    expect(ro.request(1, 0, 512).status).toBe(1);
    expect(ro.d.bytes).toEqual(roBefore);
  });

  test("discard and write-zeroes: offered with their limits for a writable image whose backend can; RO or a backend without them: not", () => {
    const { x, memory } = setUp();
    expect(x.r(M.REG_DEVICE_FEATURES) & (3 << 13)).toBe(3 << 13);
    // max_discard_sectors, max_discard_seg, discard_sector_alignment, max_write_zeroes_sectors, max_write_zeroes_seg, write_zeroes_may_unmap
    expect([36, 40, 44, 48, 52, 56].map((o) => x.r(M.CONFIG_SPACE + o))).toEqual([1 << 22, 32, 8, 1 << 22, 32, 1]);
    const ro = mmio(new VirtioBlk(memory, disk(8, true).backend, "", () => {}), memory);
    expect(ro.r(M.REG_DEVICE_FEATURES) & (3 << 13)).toBe(0);
    expect(ro.r(M.CONFIG_SPACE + 36)).toBe(0);
    const { discard: _d, writeZeroes: _z, ...plain } = disk(8).backend;
    expect(mmio(new VirtioBlk(memory, plain, "", () => {}), memory).r(M.REG_DEVICE_FEATURES) & (3 << 13)).toBe(0);
  });

  test("discard and write-zeroes: each range acted on; unmap passed on for write-zeroes; the counts", () => {
    const { view, d, blk, request } = setUp();
    const range = (i: number, sector: number, sectors: number, flags = 0) => {
      view.setBigUint64(0x60000 + i * 16, BigInt(sector), true);
      view.setUint32(0x60000 + i * 16 + 8, sectors, true);
      view.setUint32(0x60000 + i * 16 + 12, flags, true);
    };
    range(0, 4, 2); range(1, 60, 4);
    expect(request(11, 0, 32)).toEqual({ status: 0, used: 1 });
    range(0, 10, 1); range(1, 20, 3, 1);
    expect(request(13, 0, 32)).toEqual({ status: 0, used: 1 });
    expect(d.calls.zeroing).toEqual(["discard 2048+1024", "discard 30720+2048", "zeroes 5120+512", "zeroes 10240+1536 unmap"]);
    expect([d.bytes[2047], d.bytes[2048], d.bytes[3071], d.bytes[3072], d.bytes[5120], d.bytes[10240 + 1535], d.bytes[11776]]).toEqual([0xff, 0xdd, 0xdd, 0, 0, 0, 0]);
    expect(blk.stats).toMatchObject({ requests: 2, bytesDiscarded: 3072, bytesZeroed: 2048, errors: 0 });
  });

  test("bad discard and write-zeroes requests: unknown flags or unmap on a discard UNSUPP, the rest IOERR; no range acted on", () => {
    const { view, d, request } = setUp();
    const ranges = (list: Array<[number, number, number]>) => list.forEach(([sector, sectors, flags], i) => {
      view.setBigUint64(0x60000 + i * 16, BigInt(sector), true);
      view.setUint32(0x60000 + i * 16 + 8, sectors, true);
      view.setUint32(0x60000 + i * 16 + 12, flags, true);
    });
    const before = d.bytes.slice();
    ranges([[0, 1, 0], [1, 1, 2]]);
    expect(request(13, 0, 32).status).toBe(2); // a flag not defined
    ranges([[0, 1, 0], [1, 1, 1]]);
    expect(request(11, 0, 32).status).toBe(2); // unmap on a discard
    ranges([[0, 1, 0], [63, 2, 0]]);
    expect(request(11, 0, 32).status).toBe(1); // the second runs past the end
    ranges([[0, 1, 0], [2 ** 60, 1, 0]]);
    expect(request(13, 0, 32).status).toBe(1);
    ranges([[0, (1 << 22) + 1, 0]]);
    expect(request(13, 0, 16).status).toBe(1); // more than max_write_zeroes_sectors
    expect(request(11, 0, 24).status).toBe(1); // not whole ranges
    expect(request(11, 0, 0).status).toBe(1); // no range
    expect(request(11, 0, 33 * 16).status).toBe(1); // more than max_discard_seg
    expect(d.calls.zeroing).toEqual([]);
    expect(d.bytes).toEqual(before);
    const ro = setUp(true);
    ro.view.setUint32(0x60008, 1, true);
    expect(ro.request(11, 0, 16).status).toBe(2); // not offered
    expect(ro.request(13, 0, 16).status).toBe(2);
    expect(ro.d.calls.zeroing).toEqual([]);
  });

  test("a request without a status byte comes back with 0 bytes used; the queue goes on", () => {
    const { view, x, blk } = setUp();
    const q = driver(view, 8);
    q.desc(0, 0x50000, 16); // header only, nothing writable
    q.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(q.used(0)).toEqual([0, 0]);
    expect(blk.stats.errors).toBe(1);
    expect(x.r(M.REG_STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(0);
    q.desc(0, 0x50000, 16, VIRTQ_DESC_F_NEXT, 1);
    q.desc(1, 0x70000, 1, VIRTQ_DESC_F_WRITE);
    view.setUint32(0x50000, 4, true); // a flush
    q.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(q.used(1)).toEqual([0, 1]);
    expect(view.getUint8(0x70000)).toBe(0);
  });
});

describe("virtio-net", () => {
  const MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
  /** `vnet`: the link carries the virtio_net_hdr (as a TAP with IFF_VNET_HDR); `features` beyond VERSION_1 and MAC. */
  function setUp({ vnet = false, features = 0n } = {}) {
    const { memory, view } = ram();
    const frames: Uint8Array[] = [];
    const sent: Uint8Array[] = [];
    const offloads: object[] = [];
    const link = {
      vnetHeader: vnet,
      receive: (into: Uint8Array) => { const f = frames.shift(); if (f === undefined) return 0; into.set(f); return f.length; },
      send: (f: Uint8Array) => { sent.push(f.slice()); return true; },
      setOffloads: (o: object) => { offloads.push(o); },
    };
    // As on the device thread: its copy of the card does the work (the TAP is the thread's to read).
    let net: VirtioNet | undefined;
    const x = mmio(new VirtioNet(memory, link, MAC), memory, () => (net = new VirtioNet(memory, link, MAC)));
    // Both queues: receive (0) at DESC/AVAIL/USED, transmit (1) at 0x4000/0x5000/0x6000.
    // As negotiate() does, with the transmit queue set up too before DRIVER_OK.
    x.w(M.REG_QUEUE_SEL, 1); x.w(M.REG_QUEUE_NUM, 8);
    x.w(M.REG_QUEUE_DESC_LOW, 0x4000); x.w(M.REG_QUEUE_DRIVER_LOW, 0x5000); x.w(M.REG_QUEUE_DEVICE_LOW, 0x6000);
    x.w(M.REG_QUEUE_READY, 1);
    negotiate(x, V1 | (1n << 5n) | features);
    return { memory, view, net: net!, x, frames, sent, runner: x.runner!, offloads };
  }
  const F = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n);

  test("the MAC address in the configuration space; VIRTIO_NET_F_MAC offered", () => {
    const { x } = setUp();
    expect(x.r(M.REG_DEVICE_ID)).toBe(1);
    expect(x.r(M.CONFIG_SPACE)).toBe(0x12005452); // 52 54 00 12, little-endian
    const b = new Uint8Array(6);
    x.t.read(M.CONFIG_SPACE, b);
    expect([...b]).toEqual([...MAC]);
  });

  test("transmit: the frame after the 12-byte header goes to the link; a chain of only a header is dropped", () => {
    const { view, x, sent, net } = setUp();
    const tx = (i: number, addr: number, len: number) => {
      const at = 0x4000 + 16 * i;
      view.setBigUint64(at, BigInt(addr), true); view.setUint32(at + 8, len, true); view.setUint16(at + 12, 0, true);
    };
    for (let i = 0; i < 12; i++) view.setUint8(0x40000 + i, 0xaa); // a header, ignored
    for (let i = 0; i < 60; i++) view.setUint8(0x40000 + 12 + i, i);
    tx(0, 0x40000, 72);
    tx(1, 0x40000, 12);
    view.setUint16(0x5000 + 4, 0, true); view.setUint16(0x5000 + 6, 1, true); view.setUint16(0x5000 + 2, 2, true);
    x.w(M.REG_QUEUE_NOTIFY, 1);
    expect(sent.map((f) => [...f])).toEqual([Array.from({ length: 60 }, (_, i) => i)]);
    expect(view.getUint16(0x6000 + 2, true)).toBe(2);
    expect(net.stats).toMatchObject({ txFrames: 1, txBytes: 60, txDropped: 1 });
    expect(x.t.counters()).toMatchObject({ txFrames: 1, txBytes: 60, txDropped: 1 });
  });

  test("receive: a frame waits for a buffer, then arrives after a zero header with num_buffers 1; too big for its buffer: dropped", () => {
    const { memory, view, x, net, frames, runner } = setUp();
    frames.push(new Uint8Array(100).fill(7));
    runner.wake(0); // the TAP became readable

    expect(net.rxBlocked).toBe(true); // read from the link, no buffer yet
    const d = driver(view, 8);
    d.desc(0, 0x48000, 2048, VIRTQ_DESC_F_WRITE);
    d.desc(1, 0x49000, 50, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    x.w(M.REG_QUEUE_NOTIFY, 0);
    expect(d.used(0)).toEqual([0, 112]);
    expect([...memory.slice(0x48000, 14)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 7, 7]);
    expect(net.rxBlocked).toBe(false);
    x.w(M.REG_INTERRUPT_ACK, M.INT_USED_BUFFER); // the driver's handler: the next edge can come
    frames.push(new Uint8Array(100).fill(9));
    d.offer(1);
    runner.wake(0);
    expect(d.used(1)).toEqual([1, 0]);
    expect(net.stats).toMatchObject({ rxFrames: 1, rxBytes: 100, rxDropped: 1 });
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(M.INT_USED_BUFFER);
    expect(x.pulses()).toBe(2);
  });

  test("the thread takes no frame before the driver is ready, and after a reset none until it is again", () => {
    const { view, x, frames, runner, net } = setUp();
    x.w(M.REG_STATUS, 0);
    expect([runner.isLive(0), runner.isLive(1)]).toEqual([false, false]);
    frames.push(new Uint8Array(60).fill(1));
    runner.wake(0);
    expect([net.rxBlocked, frames.length]).toEqual([false, 1]);
    // A notification KVM passed on (the ioeventfd) for a queue the reset took down: reported, nothing used.
    const d = driver(view, 8);
    d.desc(0, 0x48000, 2048, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    runner.notified(0, 1);
    expect(d.usedIdx()).toBe(0);
    expect(x.reports).toEqual(["virtio net: notified queue 0, which is not ready: ignored"]);
  });

  test("the offloads are offered only over a link that carries the header; DRIVER_OK tells the link which the guest takes", () => {
    const plain = setUp();
    plain.x.w(M.REG_DEVICE_FEATURES_SEL, 0);
    expect(plain.x.r(M.REG_DEVICE_FEATURES)).toBe((1 << 5 | 1 << 15 | 1 << 28 | 1 << 29) >>> 0); // MAC, MRG_RXBUF, INDIRECT, EVENT_IDX
    expect(plain.offloads).toEqual([{ csum: false, tso4: false, tso6: false }, { csum: false, tso4: false, tso6: false }]);
    const vnet = setUp({ vnet: true, features: F(1, 7) }); // GUEST_CSUM, GUEST_TSO4
    vnet.x.w(M.REG_DEVICE_FEATURES_SEL, 0);
    expect(vnet.x.r(M.REG_DEVICE_FEATURES)).toBe((1 | 2 | 1 << 5 | 1 << 7 | 1 << 8 | 1 << 11 | 1 << 12 | 1 << 15 | 1 << 28 | 1 << 29) >>> 0);
    expect(vnet.x.r(M.REG_STATUS) & M.STATUS_FEATURES_OK).toBe(M.STATUS_FEATURES_OK);
    // Once from the transport's copy of the card, once from the thread's: the same flags.
    expect(vnet.offloads).toEqual([{ csum: true, tso4: true, tso6: false }, { csum: true, tso4: true, tso6: false }]);
  });

  test("over a header-carrying link the header passes through both ways (num_buffers set on receive)", () => {
    const { view, memory, x, sent, frames, runner } = setUp({ vnet: true, features: F(0, 11) });
    const hdr = [1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0, 0, 0]; // NEEDS_CSUM, TCPv4, hdr_len 54, gso_size 1448, csum_start 34, offset 16
    memory.write(0x40000, Uint8Array.from([...hdr, ...new Array(60).fill(9)]));
    view.setBigUint64(0x4000, 0x40000n, true); view.setUint32(0x4008, 72, true); view.setUint16(0x400c, 0, true);
    view.setUint16(0x5004, 0, true); view.setUint16(0x5002, 1, true);
    x.w(M.REG_QUEUE_NOTIFY, 1);
    expect([...sent[0]!.subarray(0, 12)]).toEqual(hdr);
    expect(sent[0]!.length).toBe(72);
    frames.push(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...new Array(60).fill(4)]));
    const d = driver(view, 8);
    d.desc(0, 0x48000, 2048, VIRTQ_DESC_F_WRITE);
    d.offer(0);
    runner.wake(0);
    expect(d.used(0)).toEqual([0, 72]);
    expect([...memory.slice(0x48000, 13)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4]);
  });

  test("transmit in place: over a link that can, the frame goes as host ranges of guest RAM, header first; header-only or too long: dropped", () => {
    const memory = GuestMemory.anonymous([{ gpa: 0, size: RAM }]);
    try {
      const view = new DataView(memory.slice(0, RAM).buffer, memory.slice(0, RAM).byteOffset, RAM);
      const got: number[][] = [];
      const link = {
        vnetHeader: true,
        receive: () => 0,
        send: (): boolean => { throw new Error("copied, not sent in place"); },
        sendHost: (addrs: Float64Array, lens: Float64Array, count: number, length: number) => {
          got.push([...addrs.subarray(0, count), ...lens.subarray(0, count), length]);
          return true;
        },
      };
      const net = new VirtioNet(memory, link, MAC);
      const q = queue(memory, 8);
      const d = driver(view, 8);
      d.desc(0, 0x40000, NET_HDR_SIZE, VIRTQ_DESC_F_NEXT, 1); // the header, then the frame
      d.desc(1, 0x41000, 60);
      d.desc(2, 0x42000, NET_HDR_SIZE);
      d.desc(3, 0x43000, NET_HDR_SIZE + MAX_FRAME + 1);
      for (const head of [0, 2, 3]) d.offer(head);
      net.process(q, TX_QUEUE);
      const base = memory.regions[0]!.hostAddr;
      expect(got).toEqual([[base + 0x40000, base + 0x41000, NET_HDR_SIZE, 60, 72]]);
      expect([d.usedIdx(), d.used(0), d.used(1), d.used(2)]).toEqual([3, [0, 0], [2, 0], [3, 0]]);
      expect(net.stats).toMatchObject({ txFrames: 1, txBytes: 60, txDropped: 2 });
    } finally {
      memory.unmap();
    }
  });

  test("merged receive buffers: the used index moves once per frame, past all its buffers (the driver drops a frame whose buffers it cannot all find)", () => {
    const { view, memory, frames, runner } = setUp({ features: F(15, 29) }); // MRG_RXBUF, EVENT_IDX
    const d = driver(view, 8);
    for (let i = 0; i < 3; i++) { d.desc(i, 0x48000 + 0x1000 * i, 100, VIRTQ_DESC_F_WRITE); d.offer(i); }
    const seen: number[] = []; // the used index as the driver could read it while each buffer is filled
    const copyIn = memory.copyIn.bind(memory);
    memory.copyIn = (...a: Parameters<typeof memory.copyIn>) => { seen.push(d.usedIdx()); return copyIn(...a); };
    frames.push(new Uint8Array(250));
    runner.wake(0);
    expect(seen).toEqual([0, 0, 0]);
    expect(d.usedIdx()).toBe(3);
  });

  test("merged receive buffers: a frame fills as many as it needs and num_buffers counts them; with too few it waits, none used", () => {
    const { view, memory, net, frames, runner } = setUp({ features: F(15, 29) }); // MRG_RXBUF, EVENT_IDX
    const d = driver(view, 8);
    for (let i = 0; i < 3; i++) d.desc(i, 0x48000 + 0x1000 * i, 100, VIRTQ_DESC_F_WRITE);
    d.offer(0); d.offer(1);
    frames.push(new Uint8Array(250).map((_, i) => i));
    runner.wake(0);
    expect([d.usedIdx(), net.rxBlocked]).toEqual([0, true]); // 262 bytes with the header: two buffers of 100 are not enough
    // The driver is asked to notify at its next buffer (its third), not at the two given back.
    expect(d.availEvent()).toBe(2);
    d.offer(2);
    runner.notified(0, 1);
    expect([d.usedIdx(), d.used(0), d.used(1), d.used(2)]).toEqual([3, [0, 100], [1, 100], [2, 62]]);
    expect([...memory.slice(0x48000 + 10, 3)]).toEqual([3, 0, 0]); // num_buffers 3, then the frame's first byte
    expect(memory.slice(0x49000, 100)).toEqual(new Uint8Array(100).map((_, i) => i + 88));
    expect(net.stats).toMatchObject({ rxFrames: 1, rxBytes: 250, rxDropped: 0 });
  });

  test("--net: tap=NAME with an optional unicast MAC", () => {
    expect(parseNetSpec("tap=tap0")).toEqual({ tap: "tap0", mac: Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56) });
    expect(parseNetSpec("tap=t1,mac=02:00:00:00:00:01").mac).toEqual(Uint8Array.of(2, 0, 0, 0, 0, 1));
    expect(() => parseNetSpec("tap=t1,mac=01:00:00:00:00:01")).toThrow('bad --net "tap=t1,mac=01:00:00:00:00:01": "01:00:00:00:00:01" is not a unicast MAC address');
    expect(() => parseNetSpec("mac=02:00:00:00:00:01")).toThrow("no TAP device named");
    expect(() => parseNetSpec("tap=t,speed=10")).toThrow('unknown part "speed=10"');
  });
});
