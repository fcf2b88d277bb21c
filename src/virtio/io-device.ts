// One virtio device as the device thread runs it: its own copy of each queue, set up from what
// the transport shared (io-shared.ts), and the device's work when the driver notifies a queue
// (through KVM's ioeventfd: the vCPU never left the guest) or the host has something for it (a
// frame on the TAP). The used-buffer interrupt is InterruptStatus in shared memory plus a signal
// on the irqfd, which KVM turns into an edge on the device's GSI: no vCPU exit, no ioctl. The
// driver's acknowledgement of it comes here too (KVM's ioeventfd on InterruptACK): no exit either.
// It knows no fds and no KVM: the caller gives it `signal`, so tests run it with a counter.
import type { GuestMemory } from "../memory/guest-memory";
import { INT_CONFIG_CHANGE, INT_USED_BUFFER, VIRTIO_F_EVENT_IDX, bit, deviceName, runQueue, type VirtioDevice, type VirtioStats } from "./mmio";
import { QueueError, VirtQueue } from "./queue";
import {
  C_ERRORS, C_INTERRUPTS, C_NOTIFICATIONS, Q_DESC, Q_DEVICE, Q_DRIVER, Q_READY, Q_SIZE, W_BROKEN, W_DRIVER_OK,
  W_INTERRUPT_STATUS, W_RESETS, W_USED_EDGE_SKIPPED, type SharedDevice,
} from "./io-shared";

export class ThreadedDevice {
  readonly queues: VirtQueue[];
  readonly stats: VirtioStats = { notifications: 0, interrupts: 0, errors: 0 };
  private resets = 0;
  /** DRIVER_OK as last taken: the device hears of it once per set-up. */
  private driverOk = false;

  /** `signal`: raise the interrupt (the irqfd); `report(message)`: a problem the guest caused. */
  constructor(memory: GuestMemory, readonly device: VirtioDevice & { stats: object }, readonly shared: SharedDevice,
    private readonly signal: () => void, private readonly report: (message: string) => void) {
    this.queues = device.queueSizes.map((n) => new VirtQueue(memory, n));
  }

  private get live(): boolean {
    return this.shared.word(W_DRIVER_OK) !== 0 && this.shared.word(W_BROKEN) === 0;
  }

  /** Takes the transport's set-up: a device reset, queues made ready or not. True if the device was reset. */
  configure(): boolean {
    const s = this.shared;
    const resets = s.word(W_RESETS);
    const reset = resets !== this.resets;
    if (reset) {
      this.resets = resets;
      for (const q of this.queues) q.reset();
      this.device.reset?.();
      this.driverOk = false;
    }
    if (s.word(W_DRIVER_OK) !== 0 && !this.driverOk) this.device.driverOk?.(s.features);
    this.driverOk = s.word(W_DRIVER_OK) !== 0;
    this.queues.forEach((q, i) => {
      const ready = s.queue(i, Q_READY) !== 0;
      if (!ready) { if (q.ready) q.reset(); return; }
      if (q.ready) return;
      q.size = s.queue(i, Q_SIZE);
      q.descAddr = s.queue(i, Q_DESC);
      q.driverAddr = s.queue(i, Q_DRIVER);
      q.deviceAddr = s.queue(i, Q_DEVICE);
      q.eventIdx = (s.features & bit(VIRTIO_F_EVENT_IDX)) !== 0n;
      try {
        q.activate(); // the transport checked the same areas: this fails only if it did not
      } catch (e) {
        if (!(e instanceof QueueError)) throw e;
        this.broken(i, e);
      }
    });
    return reset;
  }

  /** The driver notified queue `index` `count` times (an eventfd's counter) since the last look. */
  notified(index: number, count: number): void {
    this.stats.notifications += count;
    const q = this.queues[index];
    if (this.shared.word(W_BROKEN) !== 0 || q === undefined) return;
    if (!q.ready || this.shared.word(W_DRIVER_OK) === 0) {
      this.stats.errors++;
      this.report(`virtio ${deviceName(this.device)}: notified queue ${index}, which is not ready: ignored`);
      return;
    }
    this.run(q, index);
  }

  /** The host has something for queue `index` (a frame arrived): as on a notification, if the queue is live. */
  wake(index: number): void {
    const q = this.queues[index];
    if (q !== undefined && q.ready && this.live) this.run(q, index);
  }

  /** Whether queue `index` is live: the device may take work for it. */
  isLive(index: number): boolean {
    return this.queues[index]?.ready === true && this.live;
  }

  private run(q: VirtQueue, index: number): void {
    const r = runQueue(this.device, q, index);
    if (r instanceof QueueError) this.broken(index, r);
    else if (r) this.interrupt(INT_USED_BUFFER);
  }

  private broken(index: number, e: QueueError): void {
    this.stats.errors++;
    this.report(`virtio ${deviceName(this.device)}: queue ${index}: ${e.message}; the device needs a reset`);
    this.shared.setWord(W_BROKEN, 1);
    if (this.shared.word(W_DRIVER_OK) !== 0) this.interrupt(INT_CONFIG_CHANGE);
  }

  /**
   * Sets `bits` in InterruptStatus; an edge only if that gains one. While a bit is still set the
   * driver's handler has yet to acknowledge it, and after its ACK it looks at every queue: it
   * will see what we returned, and a second edge would only make it read a status of 0.
   * A used-buffer edge left out is noted for acknowledged().
   */
  private interrupt(bits: number): void {
    const before = Atomics.or(this.shared.words, W_INTERRUPT_STATUS, bits);
    if ((before & bits) === bits) {
      if (bits & INT_USED_BUFFER) this.shared.setWord(W_USED_EDGE_SKIPPED, 1);
      return;
    }
    this.stats.interrupts++;
    this.signal();
  }

  /**
   * The driver acknowledged the used-buffer interrupt (KVM's ioeventfd on InterruptACK, or the
   * transport for it). It wrote the ACK after reading InterruptStatus and looks at the queues
   * after that, but we hear of it late: an edge interrupt() left out meanwhile may have been for
   * a buffer returned after its last look. So if one was left out since the driver's last read
   * of InterruptStatus (the transport clears the note before each read), the edge comes now; at
   * worst the driver finds nothing new, as on a shared line.
   */
  acknowledged(): void {
    Atomics.and(this.shared.words, W_INTERRUPT_STATUS, ~INT_USED_BUFFER);
    if (Atomics.exchange(this.shared.words, W_USED_EDGE_SKIPPED, 0) !== 0 && this.live) this.interrupt(INT_USED_BUFFER);
  }

  /** Puts the counters where the transport reads them (--stats). */
  publish(): void {
    const s = this.stats;
    const t: number[] = [];
    t[C_NOTIFICATIONS] = s.notifications;
    t[C_INTERRUPTS] = s.interrupts;
    t[C_ERRORS] = s.errors;
    this.shared.publishCounts(t, this.device.stats);
  }
}
