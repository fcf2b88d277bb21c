// Keyboard (ports 0x44 data, 0x45 status). The VMM puts a pending key in DATA and sets STATUS
// to 1 only while STATUS is 0; the guest acks by writing 0 to STATUS, and only then can the next
// key appear. Keys that arrive faster than the guest acks wait in a bounded queue; when it is
// full the host side stops reading input (the bytes stay in the host's buffer, none are lost).
import type { PortDevice } from "../vcpu/bus";

export const KBD_DATA = 0;
export const KBD_STATUS = 1;
export const KBD_STATUS_FULL = 1;
export const QUEUE_SIZE = 4096;

export class Keyboard implements PortDevice {
  private readonly queue = new Uint8Array(QUEUE_SIZE);
  private head = 0;
  private count = 0;
  private data = 0;
  private status = 0;
  /** Keys handed to the guest. */
  delivered = 0;

  /** `refill` is called before the guest looks, to pull any new host input into the queue. */
  constructor(private readonly refill: () => void = () => {}) {}

  /** Room left in the queue. */
  get space(): number {
    return QUEUE_SIZE - this.count;
  }

  /** Queues a key from the host; false when the queue is full. */
  push(byte: number): boolean {
    if (this.count === QUEUE_SIZE) return false;
    this.queue[(this.head + this.count) % QUEUE_SIZE] = byte;
    this.count++;
    this.deliver();
    return true;
  }

  read(offset: number, _size: number): number {
    this.refill();
    return offset === KBD_DATA ? this.data : this.status;
  }

  write(offset: number, _size: number, value: number): void {
    // Only "0 to STATUS" means anything: the ack. DATA and STATUS belong to the VMM otherwise.
    if (offset === KBD_STATUS && value === 0 && this.status !== 0) {
      this.status = 0;
      this.deliver();
    }
  }

  private deliver(): void {
    if (this.status !== 0 || this.count === 0) return;
    this.data = this.queue[this.head]!;
    this.head = (this.head + 1) % QUEUE_SIZE;
    this.count--;
    this.status = KBD_STATUS_FULL;
    this.delivered++;
  }
}
