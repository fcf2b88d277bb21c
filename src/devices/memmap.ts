// Memory-map hypercall (ports 0xF1, 0xF2): the guest's answer to the BIOS's e820 call. The guest
// writes a buffer's guest-physical address to 0xF1 and its capacity (in entries) to 0xF2, then
// reads 0xF2: the VMM writes up to that many entries into the buffer and returns how many the
// map has (more than the capacity means it was cut short).
//   entry (24 bytes): u64 base, u64 length, u32 type (1 usable, 2 reserved), u32 zero
import type { MemMapEntry } from "../arch/memmap";
import type { GuestMemory } from "../memory/guest-memory";
import type { PortDevice } from "../vcpu/bus";

export const MEMMAP_BUFFER = 0;
export const MEMMAP_COUNT = 1;
export const MEMMAP_ENTRY_SIZE = 24;

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
      dv.setBigUint64(i * MEMMAP_ENTRY_SIZE, BigInt(e.base), true);
      dv.setBigUint64(i * MEMMAP_ENTRY_SIZE + 8, BigInt(e.length), true);
      dv.setUint32(i * MEMMAP_ENTRY_SIZE + 16, e.type, true);
    });
    this.memory.write(this.buffer, bytes, "memory map buffer");
    return this.map.length;
  }
}
