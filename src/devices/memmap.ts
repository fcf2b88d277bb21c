// Memory-map hypercall (ports 0xF1, 0xF2): the guest's answer to the BIOS's e820 call. The guest
// writes a buffer's guest-physical address to 0xF1 and its capacity (in entries) to 0xF2, then
// reads 0xF2: the VMM writes up to that many entries into the buffer and returns how many the
// map has (more than the capacity means it was cut short).
//   struct memmap_entry (24 bytes, guest/include/paravirt.h): base, length, type (1 usable, 2 reserved), zero
import type { MemMapEntry } from "../arch/memmap";
import { struct } from "../binary/struct";
import type { GuestMemory } from "../memory/guest-memory";
import type { PortDevice } from "../vcpu/bus";

export const MEMMAP_BUFFER = 0;
export const MEMMAP_COUNT = 1;
export const memmap_entry = struct("memmap_entry", { base: "u64", length: "u64", type: "u32", zero: "u32" });
export const MEMMAP_ENTRY_SIZE = memmap_entry.size;

export class MemMapDevice implements PortDevice {
  private buffer = 0;
  private capacity = 0;
  calls = 0;

  constructor(private readonly memory: GuestMemory, private readonly map: readonly MemMapEntry[],
    private readonly warn: (message: string) => void) {}

  write(offset: number, _size: number, value: number): void {
    if (offset === MEMMAP_BUFFER) this.buffer = value >>> 0;
    else this.capacity = value >>> 0;
  }

  read(offset: number, _size: number): number {
    if (offset !== MEMMAP_COUNT) return 0xffffffff;
    this.calls++;
    const n = Math.min(this.capacity, this.map.length);
    if (!this.memory.contains(this.buffer, n * MEMMAP_ENTRY_SIZE)) {
      this.warn(`memory map: buffer 0x${this.buffer.toString(16)} for ${n} entries is not in guest RAM; nothing written`);
      return 0;
    }
    const bytes = new Uint8Array(n * MEMMAP_ENTRY_SIZE);
    const dv = new DataView(bytes.buffer);
    this.map.slice(0, n).forEach((e, i) => {
      memmap_entry.write(dv, { base: BigInt(e.base), length: BigInt(e.length), type: e.type, zero: 0 }, i * MEMMAP_ENTRY_SIZE);
    });
    this.memory.write(this.buffer, bytes, "memory map buffer");
    return this.map.length;
  }
}
