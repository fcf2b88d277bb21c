// Legacy ports a kernel probes that microvmm answers quietly, like absent hardware: reads give
// all-ones, writes vanish, nothing is reported. Each range is listed with why it is probed.
import type { PortDevice } from "../vcpu/bus";

export const QUIET_PORTS: ReadonlyArray<{ base: number; length: number; why: string }> = [
  { base: 0x2e, length: 2, why: "Super I/O configuration (first address): no Super I/O chip" },
  { base: 0x4e, length: 2, why: "Super I/O configuration (second address)" },
  { base: 0x80, length: 1, why: "POST code port, written as an I/O delay" },
  { base: 0x87, length: 1, why: "DMA page register" },
  { base: 0x2e8, length: 8, why: "COM4 probe: absent" },
  { base: 0x2f8, length: 8, why: "COM2 probe: absent" },
  { base: 0x3e8, length: 8, why: "COM3 probe: absent" },
  { base: 0xcf8, length: 8, why: "PCI configuration mechanism 1: no PCI bus" },
];

export class Quiet implements PortDevice {
  read(_offset: number, size: number): number {
    return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
  }

  write(): void {}
}
