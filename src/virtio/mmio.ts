// The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): one page of registers per device,
// which the driver uses to negotiate features, set up each queue and notify it; the device's
// configuration space follows at 0x100. It knows nothing of KVM: the board gives it an interrupt
// line and puts it on the MMIO bus. The line is high while InterruptStatus is not zero, so each
// new event after the driver's acknowledgement is a fresh edge, whichever trigger mode the
// driver's interrupt controller uses.
// A driver that breaks the queue rules (queue.ts) puts the device in DEVICE_NEEDS_RESET: it is
// reported once, the device does nothing more until the driver resets it.
// A device may do its queues' work here, when the driver notifies (an exit), or on a device
// thread (an Offload: io-thread.ts): then notifications reach the thread through KVM's ioeventfd
// without an exit, the thread raises the interrupt through an irqfd, and this transport shares
// the queues' set-up and InterruptStatus with it (io-shared.ts).
import type { GuestMemory } from "../memory/guest-memory";
import type { MmioDevice } from "../vcpu/bus";
import { QueueError, VirtQueue } from "./queue";
import {
  C_ERRORS, C_INTERRUPTS, C_NOTIFICATIONS, Q_DESC, Q_DEVICE, Q_DRIVER, Q_READY, Q_SIZE, W_BROKEN, W_DRIVER_OK,
  W_INTERRUPT_STATUS, W_RESETS, W_USED_EDGE_SKIPPED, type SharedDevice,
} from "./io-shared";

export const VIRTIO_MMIO_SIZE = 0x200;
export const MAGIC = 0x74726976; // "virt"
export const VERSION = 2;
/** Our vendor ID: "MVMM" would not fit the 16 bits PCI IDs have; virtio-mmio takes 32. */
export const VENDOR_ID = 0x4d564d4d; // "MMVM" little-endian

// Registers (4.2.2).
export const REG_MAGIC = 0x000;
export const REG_VERSION = 0x004;
export const REG_DEVICE_ID = 0x008;
export const REG_VENDOR_ID = 0x00c;
export const REG_DEVICE_FEATURES = 0x010;
export const REG_DEVICE_FEATURES_SEL = 0x014;
export const REG_DRIVER_FEATURES = 0x020;
export const REG_DRIVER_FEATURES_SEL = 0x024;
export const REG_QUEUE_SEL = 0x030;
export const REG_QUEUE_NUM_MAX = 0x034;
export const REG_QUEUE_NUM = 0x038;
export const REG_QUEUE_READY = 0x044;
export const REG_QUEUE_NOTIFY = 0x050;
export const REG_INTERRUPT_STATUS = 0x060;
export const REG_INTERRUPT_ACK = 0x064;
export const REG_STATUS = 0x070;
export const REG_QUEUE_DESC_LOW = 0x080;
export const REG_QUEUE_DESC_HIGH = 0x084;
export const REG_QUEUE_DRIVER_LOW = 0x090;
export const REG_QUEUE_DRIVER_HIGH = 0x094;
export const REG_QUEUE_DEVICE_LOW = 0x0a0;
export const REG_QUEUE_DEVICE_HIGH = 0x0a4;
export const REG_CONFIG_GENERATION = 0x0fc;
export const CONFIG_SPACE = 0x100;

// Device status bits (2.1).
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

// InterruptStatus bits.
export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

// Transport feature bits (6).
export const VIRTIO_F_INDIRECT_DESC = 28n;
export const VIRTIO_F_EVENT_IDX = 29n;
export const VIRTIO_F_VERSION_1 = 32n;
export const bit = (n: bigint) => 1n << n;

/** A virtio device behind the transport: what it offers, its configuration space, its queues' work. */
export interface VirtioDevice {
  /** 5: 2 block, 4 entropy, 1 network. */
  readonly deviceId: number;
  /** Device-specific feature bits (the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX). */
  readonly features: bigint;
  /** Each queue's largest size (a power of two). */
  readonly queueSizes: readonly number[];
  /** Configuration space accesses at offsets from 0x100; reads fill `data` (zeros past its end). */
  readConfig(offset: number, data: Uint8Array): void;
  writeConfig(offset: number, data: Uint8Array): void;
  /**
   * The driver notified queue `index` (or the device was woken for it): take its requests,
   * return them with push(); `interrupt()` raises the used-buffer interrupt if the queue wants it.
   * Throws QueueError if the driver broke the rules.
   */
  process(queue: VirtQueue, index: number): void;
  /** The driver reset the device (status 0). */
  reset?(): void;
  /** The driver set DRIVER_OK, having agreed to `features` (the transport's bits among them). */
  driverOk?(features: bigint): void;
}

export interface VirtioStats { notifications: number; interrupts: number; errors: number }

/** The device thread as one device's transport sees it (io-thread.ts). */
export interface Offload {
  readonly shared: SharedDevice;
  /** Has the thread take what the transport wrote to `shared`, and waits until it has. */
  sync(): void;
  /** Raises the device's interrupt (its irqfd), from this thread. */
  pulse(): void;
  /** Hands the thread a notification that came as an exit rather than through the ioeventfd. */
  forward(index: number): void;
  /**
   * Hands the thread an acknowledgement of the used-buffer interrupt that came as an exit (an ACK
   * of more than that bit) rather than through the ioeventfd: the thread clears that bit.
   */
  acknowledge(): void;
}

export const deviceName = (device: VirtioDevice): string => DEVICE_NAMES[device.deviceId] ?? `device ${device.deviceId}`;

/** The device's work on queue `index`: whether the driver wants an interrupt for it, or how the driver broke the queue. */
export function runQueue(device: VirtioDevice, q: VirtQueue, index: number): boolean | QueueError {
  try {
    device.process(q, index);
  } catch (e) {
    if (!(e instanceof QueueError)) throw e;
    return e;
  }
  return q.needsInterrupt();
}

export class VirtioMmio implements MmioDevice {
  readonly queues: VirtQueue[];
  readonly stats: VirtioStats = { notifications: 0, interrupts: 0, errors: 0 };
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  /** InterruptStatus: word W_INTERRUPT_STATUS, shared with the device thread if there is one. */
  private readonly isr: Int32Array;
  private line = false;
  private readonly offered: bigint;

  /**
   * `irq(level)`: the interrupt line (unused with an offload, which has its irqfd). `report(message)`:
   * a problem the guest caused (the board rate-limits it). `offload`: the device thread doing the
   * queues' work; without it, this transport does it when the driver notifies.
   */
  constructor(memory: GuestMemory, readonly device: VirtioDevice & { stats?: object }, private readonly irq: (level: boolean) => void,
    private readonly report: (message: string) => void, private readonly offload?: Offload) {
    this.queues = device.queueSizes.map((n) => new VirtQueue(memory, n));
    this.offered = device.features | bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_F_EVENT_IDX);
    this.isr = offload?.shared.words ?? new Int32Array(1);
  }

  /** The transport's counters and the device's, wherever the work was done. */
  counters(): VirtioStats & Record<string, number> {
    const o = this.offload;
    const own = this.device.stats ?? {};
    if (o === undefined) return { ...this.stats, ...own } as VirtioStats & Record<string, number>;
    const c = o.shared.counts;
    return {
      notifications: this.stats.notifications + c[C_NOTIFICATIONS]!, interrupts: this.stats.interrupts + c[C_INTERRUPTS]!,
      errors: this.stats.errors + c[C_ERRORS]!, ...o.shared.deviceCounts(own),
    } as VirtioStats & Record<string, number>;
  }

  /** The features both sides agreed on (valid from FEATURES_OK). */
  get negotiated(): bigint {
    return this.driverFeatures & this.offered;
  }

  get deviceStatus(): number {
    this.absorbBroken();
    return this.status;
  }

  /** The device thread found the driver breaking a queue: DEVICE_NEEDS_RESET from now on. */
  private absorbBroken(): void {
    if (this.offload !== undefined && this.offload.shared.word(W_BROKEN) !== 0) this.status |= STATUS_DEVICE_NEEDS_RESET;
  }

  read(offset: number, data: Uint8Array): void {
    if (offset >= CONFIG_SPACE) {
      data.fill(0);
      this.device.readConfig(offset - CONFIG_SPACE, data);
      return;
    }
    // Registers are 32 bits wide; a narrower read gets the bytes of the register it starts in.
    const value = this.register(offset & ~3) >>> 0;
    data.fill(0);
    for (let i = 0, shift = 8 * (offset & 3); i < data.length && shift < 32; i++, shift += 8) data[i] = (value >>> shift) & 0xff;
  }

  private register(offset: number): number {
    this.absorbBroken();
    const q = this.queues[this.queueSel];
    switch (offset) {
      case REG_MAGIC: return MAGIC;
      case REG_VERSION: return VERSION;
      case REG_DEVICE_ID: return this.device.deviceId;
      case REG_VENDOR_ID: return VENDOR_ID;
      case REG_DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1 ? 0 : Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffffffffn);
      case REG_QUEUE_NUM_MAX: return q?.maxSize ?? 0; // 0: no such queue
      case REG_QUEUE_READY: return q?.ready ? 1 : 0;
      case REG_INTERRUPT_STATUS:
        // With the thread: the note of an edge left out is about what happens after this read.
        this.offload?.shared.setWord(W_USED_EDGE_SKIPPED, 0);
        return Atomics.load(this.isr, W_INTERRUPT_STATUS);
      case REG_STATUS: return this.status;
      case REG_CONFIG_GENERATION: return 0; // the configuration never changes under the driver
      default: return 0; // write-only and reserved registers read as 0
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (offset >= CONFIG_SPACE) {
      this.device.writeConfig(offset - CONFIG_SPACE, data);
      return;
    }
    if (data.length !== 4 || offset % 4 !== 0) return; // 4.2.2.2: registers take aligned 32-bit writes only
    this.absorbBroken();
    const value = (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
    const q = this.queues[this.queueSel];
    // The queue's set-up registers are the driver's only while the queue is not live.
    const settable = q !== undefined && !q.ready && (this.status & STATUS_DRIVER_OK) === 0;
    switch (offset) {
      case REG_DEVICE_FEATURES_SEL: this.deviceFeaturesSel = value; break;
      case REG_DRIVER_FEATURES_SEL: this.driverFeaturesSel = value; break;
      case REG_DRIVER_FEATURES:
        if (this.driverFeaturesSel <= 1 && (this.status & STATUS_FEATURES_OK) === 0) {
          const shift = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(value) << shift);
        }
        break;
      case REG_QUEUE_SEL: this.queueSel = value; break;
      case REG_QUEUE_NUM: if (settable) q.size = value; break;
      case REG_QUEUE_DESC_LOW: if (settable) q.descAddr = low(q.descAddr, value); break;
      case REG_QUEUE_DESC_HIGH: if (settable) q.descAddr = high(q.descAddr, value); break;
      case REG_QUEUE_DRIVER_LOW: if (settable) q.driverAddr = low(q.driverAddr, value); break;
      case REG_QUEUE_DRIVER_HIGH: if (settable) q.driverAddr = high(q.driverAddr, value); break;
      case REG_QUEUE_DEVICE_LOW: if (settable) q.deviceAddr = low(q.deviceAddr, value); break;
      case REG_QUEUE_DEVICE_HIGH: if (settable) q.deviceAddr = high(q.deviceAddr, value); break;
      case REG_QUEUE_READY: this.setQueueReady(q, value === 1); break;
      case REG_QUEUE_NOTIFY: this.notify(value & 0xffff); break;
      case REG_INTERRUPT_ACK:
        if (this.offload !== undefined && (value & INT_USED_BUFFER) !== 0) {
          // The used-buffer bit is the thread's to clear, in order with its other acknowledgements.
          Atomics.and(this.isr, W_INTERRUPT_STATUS, ~(value & ~INT_USED_BUFFER));
          this.offload.acknowledge();
        } else {
          Atomics.and(this.isr, W_INTERRUPT_STATUS, ~value);
        }
        this.updateLine();
        break;
      case REG_STATUS: this.setStatus(value & 0xff); break;
      default: break; // read-only and reserved registers: writes are ignored
    }
  }

  private setQueueReady(q: VirtQueue | undefined, on: boolean): void {
    if (q === undefined || this.status & STATUS_DEVICE_NEEDS_RESET) return;
    if (!on) { q.reset(); this.share(); return; }
    if (q.ready) return;
    q.eventIdx = (this.negotiated & bit(VIRTIO_F_EVENT_IDX)) !== 0n;
    try {
      q.activate();
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      this.broken(this.queues.indexOf(q), e);
      return;
    }
    this.share();
  }

  /** Gives the device thread the queues' set-up and DRIVER_OK, and waits until it has them. */
  private share(): void {
    const o = this.offload;
    if (o === undefined) return;
    const s = o.shared;
    this.queues.forEach((q, i) => {
      s.setQueue(i, Q_READY, q.ready ? 1 : 0);
      s.setQueue(i, Q_SIZE, q.size);
      s.setQueue(i, Q_DESC, q.descAddr);
      s.setQueue(i, Q_DRIVER, q.driverAddr);
      s.setQueue(i, Q_DEVICE, q.deviceAddr);
    });
    s.features = this.negotiated;
    s.setWord(W_DRIVER_OK, this.status & STATUS_DRIVER_OK ? 1 : 0);
    o.sync();
  }

  private setStatus(value: number): void {
    if (value === 0) { this.resetDevice(); return; }
    // The driver may only add bits (2.1.1); DEVICE_NEEDS_RESET is ours to set.
    let next = (value | this.status) & ~STATUS_DEVICE_NEEDS_RESET | (this.status & STATUS_DEVICE_NEEDS_RESET);
    if ((next & STATUS_FEATURES_OK) && !(this.status & STATUS_FEATURES_OK)) {
      // 3.1.1: features the device did not offer, or no VERSION_1 (this is a modern-only device): refused.
      const f = this.driverFeatures;
      if ((f & ~this.offered) !== 0n || (f & bit(VIRTIO_F_VERSION_1)) === 0n) next &= ~STATUS_FEATURES_OK;
    }
    const driverOk = (next & ~this.status & STATUS_DRIVER_OK) !== 0;
    this.status = next;
    if (driverOk) {
      this.device.driverOk?.(this.negotiated);
      this.share();
    }
  }

  private resetDevice(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    for (const q of this.queues) q.reset();
    this.device.reset?.();
    const o = this.offload;
    if (o !== undefined) {
      // The thread resets its queues and its copy of the device, and is done with them, before
      // the driver can see status 0; only then are its interrupt and broken flag cleared.
      o.shared.setWord(W_RESETS, o.shared.word(W_RESETS) + 1);
      this.share();
      o.shared.setWord(W_BROKEN, 0);
      o.shared.setWord(W_USED_EDGE_SKIPPED, 0);
    }
    Atomics.store(this.isr, W_INTERRUPT_STATUS, 0);
    this.updateLine();
  }

  /** QueueNotify: the driver has new requests on queue `index`. */
  notify(index: number): void {
    this.stats.notifications++;
    const q = this.queues[index];
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    if (q === undefined || !q.ready || !(this.status & STATUS_DRIVER_OK)) {
      this.stats.errors++;
      this.report(`virtio ${this.name}: notified queue ${index}, which is ${q === undefined ? "not there" : "not ready"}: ignored`);
      return;
    }
    if (this.offload !== undefined) this.offload.forward(index);
    else this.run(q, index);
  }

  private run(q: VirtQueue, index: number): void {
    const r = runQueue(this.device, q, index);
    if (r instanceof QueueError) this.broken(index, r);
    else if (r) this.interrupt(INT_USED_BUFFER);
  }

  private get name(): string {
    return deviceName(this.device);
  }

  /** The driver broke queue `index`: DEVICE_NEEDS_RESET, one report, a configuration-change interrupt (2.1.2). */
  private broken(index: number, e: QueueError): void {
    this.stats.errors++;
    this.report(`virtio ${this.name}: queue ${index}: ${e.message}; the device needs a reset`);
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    this.offload?.shared.setWord(W_BROKEN, 1); // the thread stops touching the queues
    if (this.status & STATUS_DRIVER_OK) this.interrupt(INT_CONFIG_CHANGE);
  }

  /** Sets `bits` in InterruptStatus: with an offload an edge, only if that gains one (ThreadedDevice.interrupt says why). */
  private interrupt(bits: number): void {
    const before = Atomics.or(this.isr, W_INTERRUPT_STATUS, bits);
    if ((before & bits) === bits) return;
    this.stats.interrupts++;
    if (this.offload !== undefined) this.offload.pulse();
    else this.updateLine();
  }

  /** Without an offload: the line is high while InterruptStatus is not zero. */
  private updateLine(): void {
    if (this.offload !== undefined) return;
    const level = Atomics.load(this.isr, W_INTERRUPT_STATUS) !== 0;
    if (level === this.line) return;
    this.line = level;
    this.irq(level);
  }
}

const DEVICE_NAMES: Record<number, string> = { 1: "net", 2: "blk", 4: "rng" };

const low = (v: number, lo: number) => Math.floor(v / 2 ** 32) * 2 ** 32 + lo;
// Above 2^53 an address cannot be RAM anyway: activate() refuses it.
const high = (v: number, hi: number) => hi * 2 ** 32 + (v % 2 ** 32);
