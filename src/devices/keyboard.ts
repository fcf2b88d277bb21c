// Keyboard (ports 0x44 data, 0x45 status). The VMM puts a pending key in DATA and sets STATUS
// to 1 only while STATUS is 0; the guest acks by writing 0 to STATUS, and only then can the next
// key appear. Keys that arrive faster than the guest acks wait in a bounded queue; when it is
// full the host side stops reading input (the bytes stay in the host's buffer, none are lost).
import type { KeySource } from "../host/input";
import type { PortDevice } from "../vcpu/bus";
import { ByteQueue } from "./byte-queue";

export const KBD_DATA = 0;
export const KBD_STATUS = 1;
export const KBD_STATUS_FULL = 1;
export const QUEUE_SIZE = 4096;

export class Keyboard implements PortDevice {
  private readonly queue = new ByteQueue(QUEUE_SIZE);
  private data = 0;
  private status = 0;
  /** Keys handed to the guest. */
  delivered = 0;

  /** Before the guest looks, any new host input is pulled from `source` into the queue. */
  constructor(private readonly source?: KeySource) {}

  /** Room left in the queue. */
  get space(): number {
    return this.queue.space;
  }

  /** Queues a key from the host; false when the queue is full. */
  push(byte: number): boolean {
    if (!this.queue.push(byte)) return false;
    this.deliver();
    return true;
  }

  read(offset: number, _size: number): number {
    this.source?.pull(this);
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
    if (this.status !== 0 || this.queue.length === 0) return;
    this.data = this.queue.shift();
    this.status = KBD_STATUS_FULL;
    this.delivered++;
  }
}
