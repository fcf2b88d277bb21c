// A page of guest RAM a debugger watches for reads and accesses where KVM fires no data
// breakpoints (kvm-target.ts): taken out of KVM's memory slots, it sits on the MMIO bus and every
// guest access to it comes here. Each is served from the same RAM, and one that touches watched
// bytes is reported. Pure: no KVM.
import { PAGE_SIZE } from "../arch/x86";
import type { GuestMemory } from "../memory/guest-memory";
import type { MmioDevice } from "../vcpu/bus";

export class WatchedPage implements MmioDevice {
  /** `touched(gpa, length, write)`: a guest access of `length` bytes at `gpa` was served. */
  constructor(private readonly memory: GuestMemory, readonly page: number,
    private readonly touched: (gpa: number, length: number, write: boolean) => void) {}

  read(offset: number, data: Uint8Array): void {
    const n = this.served(offset, data.length);
    this.memory.read(this.page + offset, data.subarray(0, n), "watched page");
    data.fill(0xff, n); // past the end of guest RAM: as an unclaimed address reads
    this.touched(this.page + offset, data.length, false);
  }

  write(offset: number, data: Uint8Array): void {
    this.memory.write(this.page + offset, data.subarray(0, this.served(offset, data.length)), "watched page");
    this.touched(this.page + offset, data.length, true);
  }

  /**
   * How many of the access's bytes are guest RAM: all of them, the rest of this page at least.
   * (KVM cuts accesses at page boundaries, but an access that ran past the end of RAM must not
   * reach GuestMemory's bounds check as an exception.)
   */
  private served(offset: number, length: number): number {
    return this.memory.contains(this.page + offset, length) ? length : Math.min(length, PAGE_SIZE - offset);
  }
}
