// Absent hardware that is expected to be probed: reads give all-ones, writes vanish, nothing is
// reported (unlike an unclaimed port). The board lists where, and why each range is probed.
import { allOnes, type PortDevice } from "../vcpu/bus";

export class Quiet implements PortDevice {
  read(_offset: number, size: number): number {
    return allOnes(size);
  }

  write(): void {}
}
