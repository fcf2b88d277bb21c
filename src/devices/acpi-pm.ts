// ACPI PM1a event and control blocks (ports 0x600-0x603 and 0x604-0x605): enough for the
// kernel's ACPI to find the hardware in ACPI mode (SCI_EN reads 1) and to power off: a write to
// PM1a_CNT with SLP_EN and SLP_TYP = 5 (S5, soft off) calls `powerOff`.
import type { PortDevice } from "../vcpu/bus";

export const PM1_CNT_SCI_EN = 1 << 0;
export const PM1_CNT_SLP_TYP_SHIFT = 10;
export const PM1_CNT_SLP_EN = 1 << 13;
export const SLP_TYP_S5 = 5;

/** PM1a_EVT: status (offset 0, write 1 to clear) and enable (offset 2). Nothing ever fires. */
export class AcpiPm1Event implements PortDevice {
  private enable = 0;

  read(offset: number, _size: number): number {
    return offset === 2 ? this.enable : 0;
  }

  write(offset: number, _size: number, value: number): void {
    if (offset === 2) this.enable = value & 0xffff;
  }
}

export class AcpiPm1Control implements PortDevice {
  private value = PM1_CNT_SCI_EN;

  constructor(private readonly powerOff: () => void) {}

  read(_offset: number, _size: number): number {
    return this.value;
  }

  write(_offset: number, _size: number, value: number): void {
    this.value = (value & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
    const slpTyp = (value >> PM1_CNT_SLP_TYP_SHIFT) & 7;
    if ((value & PM1_CNT_SLP_EN) !== 0 && slpTyp === SLP_TYP_S5) this.powerOff();
  }
}
