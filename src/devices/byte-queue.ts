// A bounded FIFO of bytes: the keyboard's type-ahead and the UART's receive FIFO.
export class ByteQueue {
  private readonly bytes: Uint8Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  get space(): number {
    return this.capacity - this.count;
  }

  /** Appends a byte; false (and nothing stored) when full. */
  push(byte: number): boolean {
    if (this.count === this.capacity) return false;
    this.bytes[(this.head + this.count) % this.capacity] = byte;
    this.count++;
    return true;
  }

  /** Takes the oldest byte; -1 when empty. */
  shift(): number {
    if (this.count === 0) return -1;
    const b = this.bytes[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return b;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
