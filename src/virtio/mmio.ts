// The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): one page of registers per device,
// which the driver uses to negotiate features, set up each queue and notify it; the device's
// configuration space follows at 0x100. It knows nothing of KVM: the board gives it an interrupt
// line and puts it on the MMIO bus. The line is high while InterruptStatus is not zero, so each
// new event after the driver's acknowledgement is a fresh edge, whichever trigger mode the
// driver's interrupt controller uses.
// A driver that breaks the queue rules (queue.ts) puts the device in DEVICE_NEEDS_RESET: it is
// reported once, the device does nothing more until the driver resets it.
import type { GuestMemory } from "../memory/guest-memory";
import type { MmioDevice } from "../vcpu/bus";
import { QueueError, VirtQueue } from "./queue";

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
}

export interface VirtioStats { notifications: number; interrupts: number; errors: number }

export class VirtioMmio implements MmioDevice {
  readonly queues: VirtQueue[];
  readonly stats: VirtioStats = { notifications: 0, interrupts: 0, errors: 0 };
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private line = false;
  private readonly offered: bigint;

  /**
   * `irq(level)`: the interrupt line. `report(message)`: a problem the guest caused (the board
   * rate-limits it).
   */
  constructor(memory: GuestMemory, readonly device: VirtioDevice, private readonly irq: (level: boolean) => void,
    private readonly report: (message: string) => void) {
    this.queues = device.queueSizes.map((n) => new VirtQueue(memory, n));
    this.offered = device.features | bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_F_EVENT_IDX);
  }

  /** The features both sides agreed on (valid from FEATURES_OK). */
  get negotiated(): bigint {
    return this.driverFeatures & this.offered;
  }

  get deviceStatus(): number {
    return this.status;
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
      case REG_INTERRUPT_STATUS: return this.interruptStatus;
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
        this.interruptStatus &= ~value;
        this.updateLine();
        break;
      case REG_STATUS: this.setStatus(value & 0xff); break;
      default: break; // read-only and reserved registers: writes are ignored
    }
  }

  private setQueueReady(q: VirtQueue | undefined, on: boolean): void {
    if (q === undefined || this.status & STATUS_DEVICE_NEEDS_RESET) return;
    if (!on) { q.reset(); return; }
    if (q.ready) return;
    q.eventIdx = (this.negotiated & bit(VIRTIO_F_EVENT_IDX)) !== 0n;
    try {
      q.activate();
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      this.broken(this.queues.indexOf(q), e);
    }
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
    this.status = next;
  }

  private resetDevice(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = 0;
    for (const q of this.queues) q.reset();
    this.interruptStatus = 0;
    this.updateLine();
    this.device.reset?.();
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
    this.run(q, index);
  }

  /** The host has something for queue `index` (a frame arrived): processed as on a notification, if the queue is live. */
  wake(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || !(this.status & STATUS_DRIVER_OK) || (this.status & STATUS_DEVICE_NEEDS_RESET)) return;
    this.run(q, index);
  }

  private run(q: VirtQueue, index: number): void {
    try {
      this.device.process(q, index);
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      this.broken(index, e);
      return;
    }
    if (q.needsInterrupt()) this.interrupt(INT_USED_BUFFER);
  }

  private get name(): string {
    return DEVICE_NAMES[this.device.deviceId] ?? `device ${this.device.deviceId}`;
  }

  /** The driver broke queue `index`: DEVICE_NEEDS_RESET, one report, a configuration-change interrupt (2.1.2). */
  private broken(index: number, e: QueueError): void {
    this.stats.errors++;
    this.report(`virtio ${this.name}: queue ${index}: ${e.message}; the device needs a reset`);
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if (this.status & STATUS_DRIVER_OK) this.interrupt(INT_CONFIG_CHANGE);
  }

  private interrupt(bits: number): void {
    this.stats.interrupts++;
    this.interruptStatus |= bits;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.interruptStatus !== 0;
    if (level === this.line) return;
    this.line = level;
    this.irq(level);
  }
}

const DEVICE_NAMES: Record<number, string> = { 1: "net", 2: "blk", 4: "rng" };

const low = (v: number, lo: number) => Math.floor(v / 2 ** 32) * 2 ** 32 + lo;
// Above 2^53 an address cannot be RAM anyway: activate() refuses it.
const high = (v: number, hi: number) => hi * 2 ** 32 + (v % 2 ** 32);
