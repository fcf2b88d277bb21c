// QEMU's isa-debug-exit: a write of v ends the VM with exit status (v << 1) | 1 (so a guest can
// never make it look like a clean 0). Test suites of hobby kernels end their runs this way.
// Like QEMU's, the status is what the OS keeps of it: the low 8 bits.
import type { PortDevice } from "../vcpu/bus";

export class DebugExit implements PortDevice {
  /** `exit` ends the VM with the status (the board turns it into a stop request). */
  constructor(private readonly exit: (status: number, value: number) => void) {}

  read(_offset: number, _size: number): number {
    return 0xffffffff; // nothing to read, as in QEMU
  }

  write(_offset: number, _size: number, value: number): void {
    this.exit(((value << 1) | 1) & 0xff, value);
  }
}
