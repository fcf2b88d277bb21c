// virtio-blk (virtio 1.2, 5.2): one request queue over a disk image. A request is a 16-byte
// header the device reads (type, reserved, sector), the data buffers, and a status byte the
// device writes last. Data moves straight between the image file and guest RAM (one preadv or
// pwritev given the buffers' checked host addresses), never through a copy. Flush is fsync
// (VIRTIO_BLK_F_FLUSH); GET_ID gives the image's serial; a read-only image offers
// VIRTIO_BLK_F_RO and refuses writes. Discard gives the image's blocks back to the host file
// system (a hole); write-zeroes makes a range read as zeroes, by a hole where the driver allows
// unmapping, else in place (DiskImage says how).
// A malformed request (no header, no status byte, data past the disk's end) gets a status, not a
// reset: it is the driver's request that is wrong, not the queue.
import type { GuestMemory } from "../memory/guest-memory";
import type { BlockBackend, BlockStats } from "../devices/pv-block";
import type { VirtioDevice } from "./mmio";
import { readFromChain, type Segment, type VirtQueue } from "./queue";

export const VIRTIO_ID_BLOCK = 2;
export const SECTOR = 512;
/**
 * 1024, not the usual 256: a chain may be no longer than the queue, so seg_max is 1022, and a
 * 1 MiB direct read into 256 scattered 4 KiB pages goes as one request, not two.
 */
const QUEUE_SIZE = 1024;

// Feature bits (5.2.3).
export const VIRTIO_BLK_F_SEG_MAX = 2n;
export const VIRTIO_BLK_F_RO = 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 6n;
export const VIRTIO_BLK_F_FLUSH = 9n;
export const VIRTIO_BLK_F_DISCARD = 13n;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14n;

// Request types and statuses (5.2.6).
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const HEADER_SIZE = 16;
export const ID_BYTES = 20;
/** Data buffers per request at most (seg_max): the queue can hold no more, less header and status. */
export const SEG_MAX = QUEUE_SIZE - 2;

// Configuration space (5.2.4): capacity u64 at 0, seg_max u32 at 12, blk_size u32 at 20; for
// discard and write-zeroes the largest range, ranges per request and alignment at 36..56.
const CONFIG_SIZE = 60;
const C_MAX_DISCARD_SECTORS = 36;
const C_MAX_DISCARD_SEG = 40;
const C_DISCARD_SECTOR_ALIGNMENT = 44;
const C_MAX_WRITE_ZEROES_SECTORS = 48;
const C_MAX_WRITE_ZEROES_SEG = 52;
const C_WRITE_ZEROES_MAY_UNMAP = 56;

/** A discard or write-zeroes range (5.2.6.2): sector u64, num_sectors u32, flags u32 (bit 0: unmap). */
const RANGE_SIZE = 16;
const RANGE_F_UNMAP = 1;
/** Sectors one range may cover (2 GiB), and ranges one request may hold. */
export const MAX_RANGE_SECTORS = 1 << 22;
export const MAX_RANGES = 32;
/** The alignment the driver is asked to keep: 4 KiB, a host file system block, so a discard frees whole blocks. */
const DISCARD_ALIGNMENT_SECTORS = 8;

export interface VirtioBlkStats extends BlockStats { bytesDiscarded: number; bytesZeroed: number }

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueSizes = [QUEUE_SIZE];
  readonly stats: VirtioBlkStats = { requests: 0, bytesRead: 0, bytesWritten: 0, flushes: 0, errors: 0, bytesDiscarded: 0, bytesZeroed: 0 };
  private readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly header = new Uint8Array(HEADER_SIZE);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly id: Uint8Array;
  private readonly status = new Uint8Array(1);
  private readonly ranges = new Uint8Array(MAX_RANGES * RANGE_SIZE);
  /** A request's data buffers as host addresses and lengths, for the image's transferHost. */
  private readonly addrs = new Float64Array(QUEUE_SIZE);
  private readonly lens = new Float64Array(QUEUE_SIZE);
  private readonly rangesView = new DataView(this.ranges.buffer);
  /** Discard and write-zeroes: offered for a writable image whose backend can do them. */
  private readonly zeroing: boolean;

  /** `serial`: what GET_ID answers (at most 20 bytes kept). `warn`: an I/O error on the host. */
  constructor(private readonly memory: GuestMemory, private readonly disk: BlockBackend, serial: string,
    private readonly warn: (message: string) => void) {
    this.zeroing = !disk.readOnly && disk.discard !== undefined && disk.writeZeroes !== undefined;
    this.features = (1n << VIRTIO_BLK_F_SEG_MAX) | (1n << VIRTIO_BLK_F_BLK_SIZE) | (1n << VIRTIO_BLK_F_FLUSH) | (disk.readOnly ? 1n << VIRTIO_BLK_F_RO : 0n) |
      (this.zeroing ? (1n << VIRTIO_BLK_F_DISCARD) | (1n << VIRTIO_BLK_F_WRITE_ZEROES) : 0n);
    const v = new DataView(this.config.buffer);
    v.setBigUint64(0, BigInt(disk.sectors), true);
    v.setUint32(12, SEG_MAX, true);
    v.setUint32(20, SECTOR, true);
    if (this.zeroing) {
      v.setUint32(C_MAX_DISCARD_SECTORS, MAX_RANGE_SECTORS, true);
      v.setUint32(C_MAX_DISCARD_SEG, MAX_RANGES, true);
      v.setUint32(C_DISCARD_SECTOR_ALIGNMENT, DISCARD_ALIGNMENT_SECTORS, true);
      v.setUint32(C_MAX_WRITE_ZEROES_SECTORS, MAX_RANGE_SECTORS, true);
      v.setUint32(C_MAX_WRITE_ZEROES_SEG, MAX_RANGES, true);
      v.setUint8(C_WRITE_ZEROES_MAY_UNMAP, 1);
    }
    this.id = new Uint8Array(ID_BYTES);
    this.id.set(new TextEncoder().encode(serial).subarray(0, ID_BYTES));
  }

  readConfig(offset: number, data: Uint8Array): void {
    if (offset < CONFIG_SIZE) data.set(this.config.subarray(offset, Math.min(CONFIG_SIZE, offset + data.length)));
  }

  writeConfig(): void {} // writeback (5.2.4) is not offered: nothing here is writable

  process(queue: VirtQueue): void {
    for (let c = queue.pop(); c !== undefined; c = queue.pop()) {
      // The status byte is the last writable byte; the data lies between header and status.
      const last = c.writable.at(-1);
      if (last === undefined || last.len === 0) {
        // Nowhere to say what happened: the request is returned untouched.
        this.stats.errors++;
        queue.push(c.head, 0);
        continue;
      }
      const statusAt = last.gpa + last.len - 1;
      const { status, written } = this.request(c.readable, trimLast(c.writable));
      this.status[0] = status;
      this.memory.write(statusAt, this.status, "virtio-blk status");
      if (status !== VIRTIO_BLK_S_OK) this.stats.errors++;
      queue.push(c.head, written + 1);
    }
  }

  /** One request: its status and the bytes written into the driver's data buffers. */
  private request(readable: readonly Segment[], writable: readonly Segment[]): { status: number; written: number } {
    this.stats.requests++;
    this.header.fill(0);
    if (readFromChain(this.memory, readable, this.header) < HEADER_SIZE) return { status: VIRTIO_BLK_S_IOERR, written: 0 };
    const type = this.headerView.getUint32(0, true);
    const sector = this.headerView.getBigUint64(8, true);
    const out = dropBytes(readable, HEADER_SIZE); // an OUT request's data follows the header
    try {
      switch (type) {
        case VIRTIO_BLK_T_IN: return this.transfer(sector, writable, false);
        case VIRTIO_BLK_T_OUT:
          if (this.disk.readOnly) return { status: VIRTIO_BLK_S_IOERR, written: 0 };
          return this.transfer(sector, out, true);
        case VIRTIO_BLK_T_FLUSH:
          this.disk.flush();
          this.stats.flushes++;
          return { status: VIRTIO_BLK_S_OK, written: 0 };
        case VIRTIO_BLK_T_GET_ID: {
          let done = 0;
          for (const s of writable) {
            const n = Math.min(s.len, ID_BYTES - done);
            this.memory.write(s.gpa, this.id.subarray(done, done + n), "virtio-blk id");
            done += n;
          }
          return { status: VIRTIO_BLK_S_OK, written: done };
        }
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES:
          return { status: this.zero(type === VIRTIO_BLK_T_DISCARD, out), written: 0 };
        default: return { status: VIRTIO_BLK_S_UNSUPP, written: 0 };
      }
    } catch (e) {
      this.warn(`virtio-blk: I/O error on the image: ${(e as Error).message}`);
      return { status: VIRTIO_BLK_S_IOERR, written: 0 };
    }
  }

  /** Reads (or writes) the image from `sector` into (from) the buffers, which must lie wholly on the disk. */
  private transfer(sector: bigint, buffers: readonly Segment[], write: boolean): { status: number; written: number } {
    const total = buffers.reduce((n, s) => n + s.len, 0);
    if (total % SECTOR !== 0 || sector > BigInt(this.disk.sectors) || Number(sector) + total / SECTOR > this.disk.sectors) {
      return { status: VIRTIO_BLK_S_IOERR, written: 0 };
    }
    const offset = Number(sector) * SECTOR;
    if (this.disk.transferHost !== undefined && this.memory.hostRanges(buffers, this.addrs, this.lens, "virtio-blk data")) {
      // One preadv (pwritev) straight between the image and guest RAM, as QEMU does: no view made.
      this.disk.transferHost(offset, this.addrs, this.lens, buffers.length, write);
      if (write) this.stats.bytesWritten += total; else this.stats.bytesRead += total;
      return { status: VIRTIO_BLK_S_OK, written: write ? 0 : total };
    }
    const views = buffers.flatMap((s) => this.memory.slices(s.gpa, s.len, "virtio-blk data"));
    // One preadv (pwritev) for the whole request where the image can, as QEMU does.
    if (write && this.disk.writev !== undefined) this.disk.writev(offset, views);
    else if (!write && this.disk.readv !== undefined) this.disk.readv(offset, views);
    else {
      let at = offset;
      for (const view of views) {
        if (write) this.disk.write(at, view); else this.disk.read(at, view);
        at += view.length;
      }
    }
    if (write) this.stats.bytesWritten += total; else this.stats.bytesRead += total;
    return { status: VIRTIO_BLK_S_OK, written: write ? 0 : total };
  }

  /** Discard or write-zeroes: every range is checked before any is acted on (5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP). */
  private zero(discard: boolean, buffers: readonly Segment[]): number {
    if (!this.zeroing) return VIRTIO_BLK_S_UNSUPP;
    let total = 0;
    for (const s of buffers) total += s.len;
    if (total === 0 || total % RANGE_SIZE !== 0 || total > this.ranges.length) return VIRTIO_BLK_S_IOERR;
    readFromChain(this.memory, buffers, this.ranges);
    const v = this.rangesView;
    const count = total / RANGE_SIZE;
    for (let i = 0; i < count; i++) {
      const sector = v.getBigUint64(i * RANGE_SIZE, true);
      const sectors = v.getUint32(i * RANGE_SIZE + 8, true);
      const flags = v.getUint32(i * RANGE_SIZE + 12, true);
      if ((flags & ~RANGE_F_UNMAP) !== 0 || (discard && flags !== 0)) return VIRTIO_BLK_S_UNSUPP;
      if (sectors > MAX_RANGE_SECTORS || sector > BigInt(this.disk.sectors) || Number(sector) + sectors > this.disk.sectors) return VIRTIO_BLK_S_IOERR;
    }
    for (let i = 0; i < count; i++) {
      const offset = Number(v.getBigUint64(i * RANGE_SIZE, true)) * SECTOR;
      const length = v.getUint32(i * RANGE_SIZE + 8, true) * SECTOR;
      if (length === 0) continue;
      if (discard) {
        this.disk.discard!(offset, length);
        this.stats.bytesDiscarded += length;
      } else {
        this.disk.writeZeroes!(offset, length, (v.getUint32(i * RANGE_SIZE + 12, true) & RANGE_F_UNMAP) !== 0);
        this.stats.bytesZeroed += length;
      }
    }
    return VIRTIO_BLK_S_OK;
  }
}

/** The buffers less their last byte (the status). */
function trimLast(segments: readonly Segment[]): Segment[] {
  const out = segments.slice(0, -1);
  const last = segments.at(-1)!;
  if (last.len > 1) out.push({ gpa: last.gpa, len: last.len - 1 });
  return out;
}

/** The buffers less their first `n` bytes. */
function dropBytes(segments: readonly Segment[], n: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    if (n >= s.len) { n -= s.len; continue; }
    out.push({ gpa: s.gpa + n, len: s.len - n });
    n = 0;
  }
  return out;
}
