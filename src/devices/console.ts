// Console (port 0x42, write-only): a line printer. Printable bytes (0x20-0x7e) collect in a line
// buffer; '\n' prints the line and a newline; anything else is dropped. The buffer never grows
// past LINE_MAX: a full buffer is printed as it is and collecting starts over.
import { allOnes, type PortDevice } from "../vcpu/bus";

export const LINE_MAX = 4096;
const NEWLINE = 0x0a;

export class Console implements PortDevice {
  private readonly line = new Uint8Array(LINE_MAX + 1);
  private length = 0;
  /** Bytes dropped because they are not printable. */
  dropped = 0;

  /** `out` receives finished output; the bytes are only valid during the call. */
  constructor(private readonly out: (bytes: Uint8Array) => void) {}

  read(_offset: number, size: number): number {
    return allOnes(size); // write-only
  }

  /** A wider write carries that many characters, lowest byte first. */
  write(_offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.putByte((value >>> (8 * i)) & 0xff);
  }

  putByte(b: number): void {
    if (b === NEWLINE) {
      this.line[this.length++] = NEWLINE;
      this.emit();
    } else if (b >= 0x20 && b <= 0x7e) {
      this.line[this.length++] = b;
      if (this.length >= LINE_MAX) this.emit();
    } else {
      this.dropped++;
    }
  }

  /** Prints whatever is buffered (at VM end). */
  flush(): void {
    if (this.length > 0) this.emit();
  }

  private emit(): void {
    const n = this.length;
    this.length = 0;
    this.out(this.line.subarray(0, n));
  }
}
