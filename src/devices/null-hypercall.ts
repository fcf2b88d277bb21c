// Null hypercalls (ports 0x10, 0x11): an `out` that does nothing but leave the guest and come
// back, as the scheduling exercises' guests use ("Matrix": one VM on 0x10, the other on 0x11).
// Each is counted; reads give 0.
import type { PortDevice } from "../vcpu/bus";

export class NullHypercall implements PortDevice {
  readonly calls = [0, 0];

  read(_offset: number, _size: number): number {
    return 0;
  }

  write(offset: number, _size: number, _value: number): void {
    this.calls[offset]!++;
  }
}
