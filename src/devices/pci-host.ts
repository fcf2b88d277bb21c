// The PCI host bridge's configuration mechanism #1 (ports 0xCF8-0xCFF) on a board with no PCI
// devices: the address register at 0xCF8 keeps what a 32-bit write puts there (a kernel's probe
// for the mechanism reads it back), and every configuration read at 0xCFC-0xCFF gives all-ones,
// "no device". The byte at 0xCF9 is the PC's reset control register: writing it with bit 2 set
// (0x06 or 0x0E, how many kernels reboot) resets the machine, which ends the VM through `reset`.
import { allOnes, type PortDevice } from "../vcpu/bus";

export const CONFIG_ADDRESS = 0; // 0xCF8
export const RESET_CONTROL = 1; // 0xCF9, byte access
export const CONFIG_DATA = 4; // 0xCFC-0xCFF
const RESET_CPU = 0x04;

export class PciHostNoDevices implements PortDevice {
  private address = 0;
  private resetControl = 0;

  constructor(private readonly reset: () => void) {}

  read(offset: number, size: number): number {
    if (offset === CONFIG_ADDRESS && size === 4) return this.address;
    if (offset === RESET_CONTROL && size === 1) return this.resetControl;
    return allOnes(size);
  }

  write(offset: number, size: number, value: number): void {
    if (offset === CONFIG_ADDRESS && size === 4) { this.address = (value & 0x80ff_fffc) >>> 0; return; }
    if (offset === RESET_CONTROL && size === 1) {
      this.resetControl = value & 0x0e;
      if (value & RESET_CPU) this.reset();
    }
    // Configuration writes to absent devices vanish.
  }
}
