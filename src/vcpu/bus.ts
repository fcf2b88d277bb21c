// Port-I/O and MMIO buses. A device claims a range and sees offsets into it, never absolute
// addresses, so the board alone decides where devices live. Accesses nobody claims read as
// all-ones and are counted; the first one at each address is reported.

/** A device on the port bus. `size` is 1, 2 or 4; values are little-endian, zero-extended. */
export interface PortDevice {
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

/** A device on the MMIO bus. `data` is the access (1-8 bytes); reads fill it. */
export interface MmioDevice {
  read(offset: number, data: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
}

export interface Miss { reads: number; writes: number }

/**
 * Distinct unclaimed MMIO addresses counted one by one; beyond this many, accesses to new ones go
 * into one "other addresses" count, so a guest touching millions of addresses cannot grow the table.
 */
export const MAX_MMIO_MISS_ADDRESSES = 256;

interface Entry<D> { base: number; length: number; name: string; device: D }

/** Called once per address the first time an access there finds no device. */
export type MissReporter = (bus: "port" | "mmio", addr: number, size: number, write: boolean) => void;

function checkRange(base: number, length: number, limit: number, what: string): void {
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(length) || base < 0 || length <= 0 || base + length > limit) {
    throw new Error(`${what}: bad range 0x${base.toString(16)}+${length}`);
  }
}

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

/** What a read of `size` bytes (1, 2 or 4) gives where nothing answers: every bit set. */
export const allOnes = (size: number): number => ALL_ONES[size] ?? 0xffffffff;

/** `value` cut to `size` bytes (1, 2 or 4), unsigned: what a narrower access carries. */
export const truncate = (value: number, size: number): number => (size >= 4 ? value >>> 0 : value & ((1 << (8 * size)) - 1));

export class PortBus {
  /** Which entry owns each of the 65536 ports, as index + 1 (0: none): one array load per access. */
  private readonly owner = new Uint8Array(0x10000);
  private readonly entries: Entry<PortDevice>[] = [];
  readonly misses = new Map<number, Miss>();

  constructor(private readonly reportMiss: MissReporter = () => {}) {}

  insert(base: number, length: number, name: string, device: PortDevice): void {
    checkRange(base, length, 0x10000, `port device ${name}`);
    if (this.entries.length === 255) throw new Error(`port device ${name}: too many port devices`);
    for (let p = base; p < base + length; p++) {
      const o = this.owner[p]!;
      if (o !== 0) throw new Error(`port device ${name} at 0x${p.toString(16)} overlaps ${this.entries[o - 1]!.name}`);
    }
    this.owner.fill(this.entries.length + 1, base, base + length);
    this.entries.push({ base, length, name, device });
  }

  read(port: number, size: number): number {
    const o = this.owner[port]!;
    if (o === 0) { this.miss(port, size, false); return allOnes(size); }
    const e = this.entries[o - 1]!;
    // The access is `size` bytes whatever the device returns (its value is cut to them).
    return truncate(e.device.read(port - e.base, size), size);
  }

  write(port: number, size: number, value: number): void {
    const o = this.owner[port]!;
    if (o === 0) { this.miss(port, size, true); return; }
    const e = this.entries[o - 1]!;
    e.device.write(port - e.base, size, value);
  }

  /** Name of the device at a port, for traces. */
  nameAt(port: number): string | undefined {
    const o = this.owner[port]!;
    return o === 0 ? undefined : this.entries[o - 1]!.name;
  }

  private miss(port: number, size: number, write: boolean): void {
    let m = this.misses.get(port);
    if (m === undefined) {
      m = { reads: 0, writes: 0 };
      this.misses.set(port, m);
      this.reportMiss("port", port, size, write);
    }
    if (write) m.writes++; else m.reads++;
  }
}

export class MmioBus {
  /** Sorted by base, non-overlapping. */
  private readonly entries: Entry<MmioDevice>[] = [];
  readonly misses = new Map<number, Miss>();
  /** Unclaimed accesses at addresses past the first MAX_MMIO_MISS_ADDRESSES. */
  readonly otherMisses: Miss = { reads: 0, writes: 0 };

  constructor(private readonly reportMiss: MissReporter = () => {}) {}

  insert(base: number, length: number, name: string, device: MmioDevice): void {
    checkRange(base, length, 2 ** 52, `MMIO device ${name}`);
    for (const e of this.entries) {
      if (base < e.base + e.length && e.base < base + length) throw new Error(`MMIO device ${name} overlaps ${e.name}`);
    }
    this.entries.push({ base, length, name, device });
    this.entries.sort((a, b) => a.base - b.base);
  }

  /** Takes the device at `base` off the bus (a debugger's watched page going back to RAM). */
  remove(base: number): void {
    const i = this.entries.findIndex((e) => e.base === base);
    if (i >= 0) this.entries.splice(i, 1);
  }

  read(addr: number, data: Uint8Array): void {
    const e = this.find(addr);
    if (e === undefined) { this.miss(addr, data.length, false); data.fill(0xff); return; }
    e.device.read(addr - e.base, data);
  }

  write(addr: number, data: Uint8Array): void {
    const e = this.find(addr);
    if (e === undefined) { this.miss(addr, data.length, true); return; }
    e.device.write(addr - e.base, data);
  }

  private find(addr: number): Entry<MmioDevice> | undefined {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.entries[mid]!;
      if (addr < e.base) hi = mid - 1;
      else if (addr >= e.base + e.length) lo = mid + 1;
      else return e;
    }
    return undefined;
  }

  private miss(addr: number, size: number, write: boolean): void {
    let m = this.misses.get(addr);
    if (m === undefined) {
      if (this.misses.size >= MAX_MMIO_MISS_ADDRESSES) m = this.otherMisses;
      else {
        m = { reads: 0, writes: 0 };
        this.misses.set(addr, m);
      }
      this.reportMiss("mmio", addr, size, write);
    }
    if (write) m.writes++; else m.reads++;
  }
}
