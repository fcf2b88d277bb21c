// System control port A (0x92, "fast A20"): bit 1 is the A20 gate, bit 0 a fast reset (writing 1
// resets the machine, which ends the VM through `reset`). A20 is always on in a VM here (KVM has
// no A20 mask): the bit reads back as set whatever is written, so kernels that check it see it on.
import type { PortDevice } from "../vcpu/bus";

const FAST_RESET = 0x01;
const A20 = 0x02;

export class SystemControlA implements PortDevice {
  constructor(private readonly reset: () => void) {}

  read(_offset: number, _size: number): number {
    return A20;
  }

  write(_offset: number, _size: number, value: number): void {
    if (value & FAST_RESET) this.reset();
  }
}
