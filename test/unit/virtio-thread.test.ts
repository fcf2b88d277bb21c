// What the virtio transport and the device thread share (io-shared.ts), without a thread: the
// report area both sides lock, the counters the thread publishes, and the thread's side of one
// device (io-device.ts) taking the transport's set-up, resets and broken queues.
import { describe, expect, test } from "bun:test";
import {
  CONTROL_WORDS, REPORT_BYTES, SharedDevice, T_REPORT_LOCK, W_BROKEN, W_INTERRUPT_STATUS, postReport, takeReports,
} from "../../src/virtio/io-shared";
import { ThreadedDevice } from "../../src/virtio/io-device";
import { GuestMemory } from "../../src/memory/guest-memory";
import { VirtioRng } from "../../src/virtio/rng";
import * as M from "../../src/virtio/mmio";

const area = () => ({ control: new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS)), text: new Uint8Array(new SharedArrayBuffer(REPORT_BYTES)) });

describe("the device thread's reports", () => {
  test("taken in order, each with its kind, once; the lock is free after each side", () => {
    const { control, text } = area();
    postReport(control, text, "virtio blk0", "queue 0: a buffer outside RAM");
    postReport(control, text, "virtio net", "two\nlines become one");
    expect(Atomics.load(control, T_REPORT_LOCK)).toBe(0);
    expect(takeReports(control, text)).toEqual({
      reports: [{ kind: "virtio blk0", message: "queue 0: a buffer outside RAM" }, { kind: "virtio net", message: "two lines become one" }], lost: 0,
    });
    expect(takeReports(control, text)).toEqual({ reports: [], lost: 0 });
  });

  test("when the area is full, later reports are counted as lost, not written over earlier ones", () => {
    const { control, text } = area();
    const long = "x".repeat(1000);
    for (let i = 0; i < 6; i++) postReport(control, text, "k", `${i}${long}`);
    const { reports, lost } = takeReports(control, text);
    expect(reports.map((r) => r.message[0])).toEqual(["0", "1", "2", "3"]);
    expect(lost).toBe(2);
  });
});

describe("the thread's side of a device", () => {
  const RAM = 0x100000;
  function setUp() {
    const memory = GuestMemory.fromBuffers([{ gpa: 0, size: RAM }]);
    const shared = SharedDevice.create(1);
    const reports: string[] = [];
    let signals = 0;
    const rng = new VirtioRng(memory, (b) => b.fill(0x33));
    const td = new ThreadedDevice(memory, rng, shared, () => { signals++; }, (m) => reports.push(m));
    // The transport on the vCPU thread, its offload this ThreadedDevice. An ACK that exits is
    // handed on at once (the thread's eventfd); one through KVM's ioeventfd is the test's to deliver.
    const t = new M.VirtioMmio(memory, new VirtioRng(memory), () => {}, () => {}, {
      shared, sync: () => { td.configure(); }, pulse: () => { signals++; }, forward: (i) => td.notified(i, 1), acknowledge: () => td.acknowledged(),
    });
    const w = (off: number, v: number) => t.write(off, new Uint8Array(new Uint32Array([v]).buffer));
    const r = (off: number) => { const b = new Uint8Array(4); t.read(off, b); return new Uint32Array(b.buffer)[0]!; };
    return { memory, shared, td, t, w, r, reports, rng, signals: () => signals };
  }
  function ready(x: ReturnType<typeof setUp>, desc = 0x1000) {
    x.w(M.REG_STATUS, 3);
    x.w(M.REG_DRIVER_FEATURES_SEL, 1); x.w(M.REG_DRIVER_FEATURES, 1); x.w(M.REG_STATUS, 11);
    x.w(M.REG_QUEUE_NUM, 8); x.w(M.REG_QUEUE_DESC_LOW, desc); x.w(M.REG_QUEUE_DRIVER_LOW, 0x2000); x.w(M.REG_QUEUE_DEVICE_LOW, 0x3000);
    x.w(M.REG_QUEUE_READY, 1); x.w(M.REG_STATUS, 15);
  }
  /** One 16-byte writable buffer at 0x8000 offered as head 0, as entry `n` of the available ring. */
  function offer(memory: GuestMemory, n: number) {
    const b = new DataView(new ArrayBuffer(16));
    b.setBigUint64(0, 0x8000n, true); b.setUint32(8, 16, true); b.setUint16(12, 2, true);
    memory.write(0x1000, new Uint8Array(b.buffer));
    memory.write(0x2000 + 4 + 2 * (n % 8), new Uint8Array(2));
    memory.write(0x2002, new Uint8Array(new Uint16Array([n + 1]).buffer));
  }

  test("the set-up arrives with QueueReady and DRIVER_OK; a notification through the eventfd is served with one signal", () => {
    const x = setUp();
    expect(x.td.isLive(0)).toBe(false);
    ready(x);
    expect(x.td.isLive(0)).toBe(true);
    offer(x.memory, 0);
    x.td.notified(0, 3); // three writes to QueueNotify, one eventfd read
    expect([...x.memory.slice(0x8000, 4)]).toEqual([0x33, 0x33, 0x33, 0x33]);
    expect([x.signals(), x.r(M.REG_INTERRUPT_STATUS)]).toEqual([1, M.INT_USED_BUFFER]);
    x.td.publish();
    expect(x.t.counters()).toEqual({ notifications: 3, interrupts: 1, errors: 0, requests: 1, bytes: 16 });
  });

  test("one edge while InterruptStatus is unacknowledged; the next after the driver's ACK", () => {
    const x = setUp();
    ready(x);
    offer(x.memory, 0);
    x.td.notified(0, 1);
    offer(x.memory, 1); // served before the driver's handler has acknowledged the first
    x.td.notified(0, 1);
    expect([x.signals(), x.r(M.REG_INTERRUPT_STATUS)]).toEqual([1, M.INT_USED_BUFFER]);
    expect(x.memory.readU16(0x3002)).toBe(2); // both returned all the same
    x.w(M.REG_INTERRUPT_ACK, M.INT_USED_BUFFER);
    offer(x.memory, 2);
    x.td.notified(0, 1);
    expect([x.signals(), x.r(M.REG_INTERRUPT_STATUS)]).toEqual([2, M.INT_USED_BUFFER]);
    x.td.publish();
    expect(x.t.counters()).toMatchObject({ notifications: 3, interrupts: 2, requests: 3 });
  });

  test("an ACK the thread hears of late (KVM's ioeventfd): an edge left out after the driver's read of InterruptStatus comes with it, one left out before does not", () => {
    const x = setUp();
    ready(x);
    offer(x.memory, 0);
    x.td.notified(0, 1);
    expect(x.signals()).toBe(1);
    // The driver's handler reads the status and writes its ACK, which waits in the eventfd; it
    // looks at the queue before the thread takes the ACK, and the device returns a buffer after that look.
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(M.INT_USED_BUFFER);
    offer(x.memory, 1);
    x.td.notified(0, 1);
    expect(x.signals()).toBe(1); // the bit is still set: no edge now
    x.td.acknowledged();
    expect([x.signals(), x.r(M.REG_INTERRUPT_STATUS)]).toEqual([2, M.INT_USED_BUFFER]); // so it comes with the ACK
    // A buffer returned before the handler's read is covered by that read: its ACK brings no edge.
    offer(x.memory, 2);
    x.td.notified(0, 1);
    expect([x.signals(), x.r(M.REG_INTERRUPT_STATUS)]).toEqual([2, M.INT_USED_BUFFER]);
    x.td.acknowledged();
    expect([x.signals(), x.r(M.REG_INTERRUPT_STATUS)]).toEqual([2, 0]);
    // An ACK of both bits exits: the transport clears the configuration bit and hands the used-buffer bit on.
    x.shared.words[0] = M.INT_USED_BUFFER | M.INT_CONFIG_CHANGE;
    x.w(M.REG_INTERRUPT_ACK, M.INT_USED_BUFFER | M.INT_CONFIG_CHANGE);
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(0);
    x.td.publish();
    expect(x.t.counters()).toMatchObject({ interrupts: 2, requests: 3 });
  });

  test("a queue the thread finds broken: DEVICE_NEEDS_RESET on the transport, a configuration interrupt, nothing more until a reset", () => {
    const x = setUp();
    ready(x);
    x.memory.write(0x2002, new Uint8Array([9, 0])); // 9 entries offered in a queue of 8
    x.td.notified(0, 1);
    expect(x.shared.word(W_BROKEN)).toBe(1);
    expect(x.r(M.REG_STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(M.STATUS_DEVICE_NEEDS_RESET);
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(M.INT_CONFIG_CHANGE);
    expect(x.reports).toEqual(["virtio rng: queue 0: the available index 9 is 9 ahead of the device's 0, more than the queue's 8; the device needs a reset"]);
    x.td.notified(0, 1);
    expect(x.reports.length).toBe(1);
    // The reset reaches the thread before the flags are cleared; then it serves again.
    x.w(M.REG_STATUS, 0);
    expect([x.shared.word(W_BROKEN), x.shared.word(W_INTERRUPT_STATUS), x.td.isLive(0)]).toEqual([0, 0, false]);
    x.memory.write(0x3002, new Uint8Array(2));
    ready(x);
    offer(x.memory, 0);
    x.td.notified(0, 1);
    expect(x.r(M.REG_INTERRUPT_STATUS)).toBe(M.INT_USED_BUFFER);
  });

  test("a queue the transport refuses at QueueReady never goes live on the thread", () => {
    const x = setUp();
    ready(x, RAM - 16); // the descriptor table runs past RAM
    expect(x.r(M.REG_STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(M.STATUS_DEVICE_NEEDS_RESET);
    expect([x.td.isLive(0), x.shared.word(W_BROKEN), x.signals()]).toEqual([false, 1, 0]);
  });
});
