// Paravirtual block device. The guest builds a request in its RAM and writes the request's
// guest-physical address to the doorbell port; the VMM moves the data straight between the image
// file and guest RAM (no per-sector exits) and writes the status and byte count back.
//
// struct disk_request (48 bytes, little-endian; guest/include/paravirt.h has it in C):
//   op       in   OP_INFO, OP_READ, OP_WRITE, OP_FLUSH
//   drive    in   0 for the first --disk, 1 for the second, ...
//   sector   in   first 512-byte sector
//   count    in   sectors
//   status   out  STATUS_*
//   buffer   in   guest-physical address of the data
//   result   out  bytes moved (read, write); size in sectors (info)
//   flags    out  info: FLAG_READ_ONLY
// Nothing is read or written unless the whole request checks out.
import { struct } from "../binary/struct";
import type { GuestMemory } from "../memory/guest-memory";
import { allOnes, type PortDevice } from "../vcpu/bus";

export const SECTOR = 512;
export const disk_request = struct("disk_request", {
  op: "u32", drive: "u32", sector: "u64", count: "u32", status: "u32", buffer: "u64", result: "u64", flags: "u32", reserved: "u32",
});
export const REQUEST_SIZE = disk_request.size;
/** One request moves at most this much (well over the 1 MiB a guest may ask for). */
export const MAX_TRANSFER = 64 << 20;

export const OP_INFO = 0;
export const OP_READ = 1;
export const OP_WRITE = 2;
export const OP_FLUSH = 3;

export const STATUS_OK = 0;
export const STATUS_BAD_REQUEST = 1;
export const STATUS_OUT_OF_RANGE = 2;
export const STATUS_READ_ONLY = 3;
export const STATUS_IO_ERROR = 4;

export const FLAG_READ_ONLY = 1;

const R_OP = disk_request.offsetOf("op");
const R_DRIVE = disk_request.offsetOf("drive");
const R_SECTOR = disk_request.offsetOf("sector");
const R_COUNT = disk_request.offsetOf("count");
const R_STATUS = disk_request.offsetOf("status");
const R_BUFFER = disk_request.offsetOf("buffer");
const R_RESULT = disk_request.offsetOf("result");
const R_FLAGS = disk_request.offsetOf("flags");

/** The host side of one drive: an image file, or memory in tests. Offsets are in bytes. */
export interface BlockBackend {
  readonly sectors: number;
  readonly readOnly: boolean;
  /** Fills dst from the image at offset; throws on I/O errors. */
  read(offset: number, dst: Uint8Array): void;
  /** Writes src to the image at offset; throws on I/O errors. */
  write(offset: number, src: Uint8Array): void;
  /** Returns once everything written is on stable storage (fsync). */
  flush(): void;
  /** Fills the buffers one after another from the image at offset, in one call where it can (preadv). */
  readv?(offset: number, dsts: readonly Uint8Array[]): void;
  /** Writes the buffers one after another to the image at offset (pwritev). */
  writev?(offset: number, srcs: readonly Uint8Array[]): void;
  /**
   * Reads (writes) the image at offset into (from) `count` host memory ranges, addrs[i] and
   * lens[i], back to back: guest RAM moved in place, no view made. The arrays are scratch: they
   * may be changed.
   */
  transferHost?(offset: number, addrs: Float64Array, lens: Float64Array, count: number, write: boolean): void;
  /** Advice that the range's data is no longer needed: its blocks may be freed (it may then read as zeroes, or not). */
  discard?(offset: number, length: number): void;
  /** Makes the range read as zeroes; with `unmap`, by freeing its blocks where the host can. */
  writeZeroes?(offset: number, length: number, unmap: boolean): void;
}

export interface BlockStats { requests: number; bytesRead: number; bytesWritten: number; flushes: number; errors: number }

export class PvBlock implements PortDevice {
  readonly stats: BlockStats = { requests: 0, bytesRead: 0, bytesWritten: 0, flushes: 0, errors: 0 };
  private readonly req = new Uint8Array(REQUEST_SIZE);
  private readonly view = new DataView(this.req.buffer);

  constructor(private readonly memory: GuestMemory, private readonly drives: readonly BlockBackend[],
    private readonly warn: (message: string) => void) {}

  read(_offset: number, size: number): number {
    return allOnes(size); // the doorbell is write-only
  }

  write(_offset: number, size: number, value: number): void {
    const gpa = size === 4 ? value >>> 0 : value;
    if (!this.memory.contains(gpa, REQUEST_SIZE)) {
      // No status can be written back: say so on the host side.
      this.warn(`disk: request at guest physical 0x${gpa.toString(16)} is not in guest RAM; ignored`);
      this.stats.errors++;
      return;
    }
    this.stats.requests++;
    this.memory.read(gpa, this.req, "disk request");
    this.view.setBigUint64(R_RESULT, 0n, true);
    this.view.setUint32(R_FLAGS, 0, true);
    const status = this.execute();
    if (status !== STATUS_OK) this.stats.errors++;
    this.view.setUint32(R_STATUS, status, true);
    // Only the output fields go back, so a guest changing the request meanwhile changes nothing.
    this.memory.write(gpa + R_STATUS, this.req.subarray(R_STATUS, R_STATUS + 4), "disk request");
    this.memory.write(gpa + R_RESULT, this.req.subarray(R_RESULT, R_FLAGS + 4), "disk request");
  }

  /** Flushes every drive (at VM end). */
  flushAll(): void {
    for (const d of this.drives) if (!d.readOnly) d.flush();
  }

  private execute(): number {
    const v = this.view;
    const op = v.getUint32(R_OP, true);
    const drive = this.drives[v.getUint32(R_DRIVE, true)];
    if (drive === undefined || op > OP_FLUSH) return STATUS_BAD_REQUEST;
    if (op === OP_INFO) {
      v.setBigUint64(R_RESULT, BigInt(drive.sectors), true);
      v.setUint32(R_FLAGS, drive.readOnly ? FLAG_READ_ONLY : 0, true);
      return STATUS_OK;
    }
    if (op === OP_FLUSH) {
      if (drive.readOnly) return STATUS_OK;
      try { drive.flush(); } catch { return STATUS_IO_ERROR; }
      this.stats.flushes++;
      return STATUS_OK;
    }
    const sector = v.getBigUint64(R_SECTOR, true);
    const count = v.getUint32(R_COUNT, true);
    const bytes = count * SECTOR;
    if (bytes > MAX_TRANSFER) return STATUS_BAD_REQUEST;
    if (sector + BigInt(count) > BigInt(drive.sectors)) return STATUS_OUT_OF_RANGE;
    const buffer = Number(v.getBigUint64(R_BUFFER, true));
    if (!this.memory.contains(buffer, bytes)) return STATUS_BAD_REQUEST;
    if (op === OP_WRITE && drive.readOnly) return STATUS_READ_ONLY;
    let offset = Number(sector) * SECTOR;
    try {
      // Straight between the file and guest RAM: the views are the guest's memory.
      for (const piece of this.memory.slices(buffer, bytes, "disk buffer")) {
        if (op === OP_READ) drive.read(offset, piece); else drive.write(offset, piece);
        offset += piece.length;
      }
    } catch (e) {
      this.warn(`disk: drive ${v.getUint32(R_DRIVE, true)}: ${e instanceof Error ? e.message : String(e)}`);
      return STATUS_IO_ERROR;
    }
    if (op === OP_READ) this.stats.bytesRead += bytes; else this.stats.bytesWritten += bytes;
    v.setBigUint64(R_RESULT, BigInt(bytes), true);
    return STATUS_OK;
  }
}
