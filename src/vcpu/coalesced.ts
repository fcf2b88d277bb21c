// The coalesced-write ring (KVM_CAP_COALESCED_MMIO / _PIO): writes to registered ports wait in a
// page shared with KVM instead of each leaving the guest. KVM appends at `last`; we take from
// `first` and hand each write to the port bus, exactly as its exit would have. The ring is drained
// before any other exit is handled and at the end of every slice, so devices see every write in
// the guest's order. Each write is counted as the I/O exit it stands for (and as coalesced), so
// --stats, --trace and the exit-count hypercalls read the same with or without the ring.
import { kvm_coalesced_mmio, kvm_coalesced_mmio_ring } from "../kvm/bindings";
import type { PortBus } from "./bus";
import { ioTraceLine } from "./exits";
import type { ExitStats } from "./stats";

const PAGE = 4096;
const FIRST = kvm_coalesced_mmio_ring.offsetOf("first");
const LAST = kvm_coalesced_mmio_ring.offsetOf("last");
const ENTRIES = kvm_coalesced_mmio_ring.size;
const ENTRY = kvm_coalesced_mmio.size;
const ADDR = kvm_coalesced_mmio.offsetOf("phys_addr");
const LEN = kvm_coalesced_mmio.offsetOf("len");
const DATA = kvm_coalesced_mmio.offsetOf("data");
/** KVM_COALESCED_MMIO_MAX: entries in the page. */
export const RING_ENTRIES = Math.floor((PAGE - ENTRIES) / ENTRY);

export class CoalescedRing {
  private readonly view: DataView;

  /** `page`: the ring's page in the vCPU mapping. `trace`: as the exit handler's. */
  constructor(page: Uint8Array, private readonly ports: PortBus, private readonly stats: ExitStats,
    private readonly trace: ((line: string) => void) | undefined) {
    this.view = new DataView(page.buffer, page.byteOffset, PAGE);
  }

  /** Hands every queued write to the port bus, oldest first. */
  drain(): void {
    const v = this.view;
    let first = v.getUint32(FIRST, true);
    const last = v.getUint32(LAST, true);
    // Both indices come from a page KVM writes; out of range would be its bug, but we read nothing then.
    if (first === last || first >= RING_ENTRIES || last >= RING_ENTRIES) return;
    while (first !== last) {
      const at = ENTRIES + first * ENTRY;
      const port = v.getUint32(at + ADDR, true) & 0xffff;
      const size = v.getUint32(at + LEN, true);
      if (size === 1 || size === 2 || size === 4) {
        const value = size === 1 ? v.getUint8(at + DATA) : size === 2 ? v.getUint16(at + DATA, true) : v.getUint32(at + DATA, true);
        this.stats.countCoalesced(port);
        this.ports.write(port, size, value);
        if (this.trace !== undefined) this.trace(`${ioTraceLine(this.ports, true, port, size, 1, value.toString(16).padStart(size * 2, "0"))} coalesced`);
      }
      first = (first + 1) % RING_ENTRIES;
    }
    v.setUint32(FIRST, first, true); // KVM may reuse the entries now
  }
}
