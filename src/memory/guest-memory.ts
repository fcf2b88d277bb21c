// Guest physical memory: the only code that turns a guest-physical address (GPA) into bytes.
// Every access names a GPA and a length and is checked against the RAM regions first; an access
// that is not wholly inside one region throws GuestMemoryError carrying the address. The host side
// of a region is one mapping, seen through views of at most CHUNK bytes (the largest typed array
// Bun makes), each made the first time an access reaches it. Views are few on purpose: a view
// tells the JavaScript heap its size, and each costs a full garbage collection soon after (1-2 ms
// at startup), so all RAM below the MMIO hole is one view, and RAM above 4 GiB costs nothing until
// something there is read or written.
import { HostError } from "../errors";
import * as libc from "../libc/libc";

/** Bytes per view into a region's host mapping: 4 GiB (6 GiB is refused). */
export const CHUNK = 2 ** 32;
/** An x86 large page: what transparent huge pages and KVM map at once. */
export const HUGE_PAGE = 2 << 20;

export class GuestMemoryError extends Error {
  constructor(readonly gpa: number, readonly length: number, what: string) {
    super(`${what}: guest physical 0x${gpa.toString(16)}+0x${length.toString(16)} is not in guest RAM`);
    this.name = "GuestMemoryError";
  }
}

export interface RegionSpec {
  /** First guest-physical address of the region. */
  gpa: number;
  size: number;
}

export interface Region extends RegionSpec {
  /** Host virtual address of the mapping (0 for memory that is not mmap'd, as in tests). */
  hostAddr: number;
  /** Bytes per view (CHUNK, or smaller in tests). */
  chunkSize: number;
  /** Views of the region, chunkSize bytes each but the last; undefined until first used (`view` makes them). */
  chunks: Array<Uint8Array | undefined>;
  /** Makes the view of chunk i (the region's bytes from i · chunkSize). */
  view: (i: number) => Uint8Array;
}

/** A region of host memory mapped at `hostAddr`, seen through views made on first use. */
function hostRegion(gpa: number, size: number, hostAddr: number): Region {
  const view = (i: number) => new Uint8Array(libc.hostView(hostAddr + i * CHUNK, Math.min(CHUNK, size - i * CHUNK)));
  return { gpa, size, hostAddr, chunkSize: CHUNK, chunks: new Array(Math.ceil(size / CHUNK)).fill(undefined), view };
}

export class GuestMemory {
  readonly regions: readonly Region[];
  private readonly unmaps: Array<() => void>;
  private readonly scratch = new Uint8Array(8);
  private readonly scratchView = new DataView(this.scratch.buffer);
  /** chunkHolding's answer, reused: the copy paths make no object per call. */
  private readonly hold: { view: Uint8Array; start: number } = { view: new Uint8Array(0), start: 0 };

  private constructor(regions: Region[], unmaps: Array<() => void>) {
    this.regions = regions.slice().sort((a, b) => a.gpa - b.gpa);
    for (let i = 1; i < this.regions.length; i++) {
      const prev = this.regions[i - 1]!;
      if (prev.gpa + prev.size > this.regions[i]!.gpa) throw new Error("guest RAM regions overlap");
    }
    this.unmaps = unmaps;
  }

  /**
   * Anonymous private memory for each region. MAP_NORESERVE: pages cost nothing until the guest
   * touches them, so a large guest is cheap to create. A host that cannot map it is a HostError.
   * `hugePages`: each region starts on a 2 MiB boundary (as its guest-physical address does) and
   * is advised for transparent huge pages, so KVM can map guest RAM 2 MiB at a time: far fewer
   * faults for a guest that touches much of its RAM (a kernel clearing its free pages), at the
   * price of RSS in 2 MiB steps; small guests that touch a few pages do better without.
   */
  static anonymous(specs: readonly RegionSpec[], hugePages = false): GuestMemory {
    const regions: Region[] = [];
    const unmaps: Array<() => void> = [];
    try {
      for (const s of specs) {
        let addr: number;
        const slack = hugePages ? HUGE_PAGE : 0;
        try {
          addr = libc.mmap(s.size + slack, libc.PROT_READ | libc.PROT_WRITE,
            libc.MAP_PRIVATE | libc.MAP_ANONYMOUS | libc.MAP_NORESERVE, -1, 0, "guest RAM");
        } catch (e) {
          if (!(e instanceof libc.SyscallError)) throw e;
          const total = specs.reduce((n, r) => n + r.size, 0);
          throw new HostError(`cannot reserve ${Math.floor(total / 2 ** 20)} MiB of guest RAM: ${e.message} — lower --memory`);
        }
        if (hugePages) {
          // Keep the 2 MiB-aligned part; give back the slack before and after it.
          const aligned = Math.ceil(addr / HUGE_PAGE) * HUGE_PAGE;
          if (aligned > addr) libc.munmap(addr, aligned - addr);
          if (addr + slack > aligned) libc.munmap(aligned + s.size, addr + slack - aligned);
          addr = aligned;
          libc.madvise(addr, s.size, libc.MADV_HUGEPAGE); // a hint: a host without THP simply ignores it
        }
        const base = addr;
        unmaps.push(() => libc.munmap(base, s.size));
        regions.push(hostRegion(s.gpa, s.size, addr));
      }
    } catch (e) {
      for (const u of unmaps) u();
      throw e;
    }
    return new GuestMemory(regions, unmaps);
  }

  /**
   * Another thread's views of RAM this process has mapped already (each region's gpa, size and
   * hostAddr, as `regions` gives them): the same bytes, checked the same way; never unmapped here.
   */
  static mapped(regions: ReadonlyArray<{ gpa: number; size: number; hostAddr: number }>): GuestMemory {
    return new GuestMemory(regions.map((r) => hostRegion(r.gpa, r.size, r.hostAddr)), []);
  }

  /** Memory backed by ordinary buffers, for tests: one region per spec, chunked like the real thing. */
  static fromBuffers(specs: readonly RegionSpec[], chunk = CHUNK): GuestMemory {
    return new GuestMemory(specs.map((s) => {
      const chunks: Uint8Array[] = [];
      for (let off = 0; off < s.size; off += chunk) chunks.push(new Uint8Array(Math.min(chunk, s.size - off)));
      return { gpa: s.gpa, size: s.size, hostAddr: 0, chunkSize: chunk, chunks, view: (i: number) => chunks[i]! };
    }), []);
  }

  /** Total bytes of RAM. */
  get size(): number {
    return this.regions.reduce((n, r) => n + r.size, 0);
  }

  /** One past the highest RAM address. */
  get end(): number {
    const last = this.regions[this.regions.length - 1];
    return last === undefined ? 0 : last.gpa + last.size;
  }

  /** The region holding all of [gpa, gpa + length), or undefined. */
  regionFor(gpa: number, length: number): Region | undefined {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) return undefined;
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa - r.gpa + length <= r.size) return r;
    }
    return undefined;
  }

  /** True when all of [gpa, gpa + length) is RAM. */
  contains(gpa: number, length: number): boolean {
    return this.regionFor(gpa, length) !== undefined;
  }

  /**
   * The host address of [gpa, gpa + length), for a system call to read or write it in place (one
   * region is one mapping); throws unless all of it is RAM. Undefined for memory that is not
   * mmap'd (tests): use slices() there.
   */
  hostRange(gpa: number, length: number, what = "guest memory access"): number | undefined {
    const r = this.regionFor(gpa, length);
    if (r === undefined) throw new GuestMemoryError(gpa, length, what);
    return r.hostAddr === 0 ? undefined : r.hostAddr + (gpa - r.gpa);
  }

  /**
   * The host addresses of `ranges` into addrs and lens, each checked as hostRange() checks it, for
   * one system call over all of them. False when there are more than addrs holds or the memory is
   * not mmap'd (tests): the caller then goes through views.
   */
  hostRanges(ranges: ReadonlyArray<{ gpa: number; len: number }>, addrs: Float64Array, lens: Float64Array, what?: string): boolean {
    if (ranges.length > addrs.length || ranges.length > lens.length) return false;
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i]!;
      const a = this.hostRange(r.gpa, r.len, what);
      if (a === undefined) return false;
      addrs[i] = a;
      lens[i] = r.len;
    }
    return true;
  }

  /** The host views covering [gpa, gpa + length), in order; throws unless all of it is RAM. */
  slices(gpa: number, length: number, what = "guest memory access"): Uint8Array[] {
    const r = this.regionFor(gpa, length);
    if (r === undefined) throw new GuestMemoryError(gpa, length, what);
    const out: Uint8Array[] = [];
    let off = gpa - r.gpa;
    let left = length;
    const chunkSize = r.chunkSize;
    while (left > 0) {
      const i = Math.floor(off / chunkSize);
      const c = r.chunks[i] ??= r.view(i);
      const start = off % chunkSize;
      const n = Math.min(left, c.length - start);
      out.push(c.subarray(start, start + n));
      off += n;
      left -= n;
    }
    return out;
  }

  /** A single view of [gpa, gpa + length); throws if it is not RAM or crosses a view boundary. */
  slice(gpa: number, length: number, what = "guest memory access"): Uint8Array {
    const s = this.slices(gpa, length, what);
    if (s.length > 1) throw new GuestMemoryError(gpa, length, `${what} (crosses a ${CHUNK / 2 ** 30} GiB view boundary)`);
    return s[0] ?? new Uint8Array(0);
  }

  read(gpa: number, dst: Uint8Array, what?: string): void {
    this.copyOut(gpa, dst, 0, dst.length, what);
  }

  write(gpa: number, src: Uint8Array, what?: string): void {
    this.copyIn(gpa, src, 0, src.length, what);
  }

  /**
   * Copies guest RAM [gpa, gpa + length) into dst from index `at`. The device paths copy a buffer
   * at a time: inside one view this makes one view of the source and no array (slices() makes both).
   */
  copyOut(gpa: number, dst: Uint8Array, at: number, length: number, what?: string): void {
    const c = this.chunkHolding(gpa, length);
    if (c !== undefined) { dst.set(c.view.subarray(c.start, c.start + length), at); return; }
    for (const s of this.slices(gpa, length, what)) { dst.set(s, at); at += s.length; }
  }

  /** Copies src[from, from + length) into guest RAM at gpa (no view made when that is all of src and inside one view). */
  copyIn(gpa: number, src: Uint8Array, from: number, length: number, what?: string): void {
    const c = this.chunkHolding(gpa, length);
    if (c !== undefined) { c.view.set(from === 0 && length === src.length ? src : src.subarray(from, from + length), c.start); return; }
    for (const s of this.slices(gpa, length, what)) { s.set(src.subarray(from, from + s.length)); from += s.length; }
  }

  /** The view holding all of [gpa, gpa + length) and where in it that starts; undefined if none does (slices() then says why). */
  private chunkHolding(gpa: number, length: number): { view: Uint8Array; start: number } | undefined {
    const r = this.regionFor(gpa, length);
    if (r === undefined || length === 0) return undefined;
    const off = gpa - r.gpa;
    const i = Math.floor(off / r.chunkSize);
    const start = off - i * r.chunkSize;
    if (start + length > r.chunkSize) return undefined;
    this.hold.view = r.chunks[i] ??= r.view(i);
    this.hold.start = start;
    return this.hold;
  }

  fill(gpa: number, length: number, value: number, what?: string): void {
    for (const s of this.slices(gpa, length, what)) s.fill(value);
  }

  // Scalar accessors go through an 8-byte scratch so an access straddling two views still works.
  readU8(gpa: number): number { this.read(gpa, this.scratch.subarray(0, 1)); return this.scratchView.getUint8(0); }
  readU16(gpa: number): number { this.read(gpa, this.scratch.subarray(0, 2)); return this.scratchView.getUint16(0, true); }
  readU32(gpa: number): number { this.read(gpa, this.scratch.subarray(0, 4)); return this.scratchView.getUint32(0, true); }
  readU64(gpa: number): bigint { this.read(gpa, this.scratch); return this.scratchView.getBigUint64(0, true); }
  writeU8(gpa: number, v: number): void { this.scratchView.setUint8(0, v); this.write(gpa, this.scratch.subarray(0, 1)); }
  writeU16(gpa: number, v: number): void { this.scratchView.setUint16(0, v, true); this.write(gpa, this.scratch.subarray(0, 2)); }
  writeU32(gpa: number, v: number): void { this.scratchView.setUint32(0, v, true); this.write(gpa, this.scratch.subarray(0, 4)); }
  writeU64(gpa: number, v: bigint): void { this.scratchView.setBigUint64(0, v, true); this.write(gpa, this.scratch); }

  /**
   * Host virtual address of a GPA (for diagnostics only: nothing in the VMM dereferences it),
   * or undefined when the GPA is not RAM or the memory is not mmap'd.
   */
  hostAddress(gpa: number): number | undefined {
    const r = this.regionFor(gpa, 1);
    return r === undefined || r.hostAddr === 0 ? undefined : r.hostAddr + (gpa - r.gpa);
  }

  /** Unmaps the host memory. No view may be used afterwards. */
  unmap(): void {
    for (const u of this.unmaps.splice(0)) u();
  }

}
