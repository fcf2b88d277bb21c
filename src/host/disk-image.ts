// A disk image file as a block backend: pread/pwrite at byte offsets, fsync to flush. The image
// is locked (flock) so two VMs cannot write one image at once.
import { fstatSync, statSync, type Stats } from "node:fs";
import { BadInputError, HostError } from "../errors";
import { EAGAIN, ENOSYS, EOPNOTSUPP, EWOULDBLOCK } from "../libc/errno";
import * as libc from "../libc/libc";
import { SECTOR, type BlockBackend } from "../devices/pv-block";

export interface DiskSpec {
  path: string;
  readOnly: boolean;
  /** QEMU's index: the position on the IDE channel (0 master, 1 slave); undefined: the next free one. */
  index?: number;
}

/** "FILE", "FILE,ro", "FILE,index=1", "FILE,ro,index=1" (options after the name, in any order; the name may hold commas). */
export function parseDiskSpec(text: string): DiskSpec {
  let rest = text;
  let readOnly = false;
  let index: number | undefined;
  for (;;) {
    const m = /,(ro|rw|index=(\d+))$/.exec(rest);
    if (m === null) break;
    if (m[2] !== undefined) index = Number(m[2]);
    else readOnly = m[1] === "ro";
    rest = rest.slice(0, m.index);
  }
  if (rest === "") throw new BadInputError(`bad --disk "${text}": --disk FILE[,ro][,index=N]`);
  return index === undefined ? { path: rest, readOnly } : { path: rest, readOnly, index };
}

/** An open image as plain data, to hand to another thread. */
export interface DiskHandle { path: string; fd: number; sectors: number; readOnly: boolean }

export class DiskImage implements BlockBackend {
  private closed = false;
  /** Whether the file system can punch holes (FALLOC_FL_PUNCH_HOLE) and zero ranges (FALLOC_FL_ZERO_RANGE): true until it says no. */
  private holes = true;
  private zeroRange = true;

  private constructor(readonly path: string, readonly fd: number, readonly sectors: number, readonly readOnly: boolean) {}

  /** What another thread needs to use the same open image (`borrowed`): it is still this object's to close. */
  get handle(): DiskHandle {
    return { path: this.path, fd: this.fd, sectors: this.sectors, readOnly: this.readOnly };
  }

  /** The image another thread opened (and will close): reads, writes and flushes through its fd. */
  static borrowed(h: DiskHandle): DiskImage {
    const image = new DiskImage(h.path, h.fd, h.sectors, h.readOnly);
    image.closed = true; // not ours to close
    return image;
  }

  /**
   * Opens and locks an image: a regular file with at least one sector, or a block device. Looked
   * at before it is opened (opening a FIFO would block before signals are honoured) and again
   * through the open fd (the path could have changed in between); opened non-blocking all the same.
   */
  static open(spec: DiskSpec): DiskImage {
    checkKind(spec.path, () => statSync(spec.path));
    let fd: number;
    try {
      fd = libc.open(spec.path, (spec.readOnly ? libc.O_RDONLY : libc.O_RDWR) | libc.O_CLOEXEC | libc.O_NONBLOCK);
    } catch (e) {
      if (e instanceof libc.SyscallError) throw new BadInputError(`cannot open disk image ${spec.path}: ${e.message}`);
      throw e;
    }
    try {
      checkKind(spec.path, () => fstatSync(fd));
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    try {
      libc.flock(fd, (spec.readOnly ? libc.LOCK_SH : libc.LOCK_EX) | libc.LOCK_NB);
    } catch (e) {
      libc.close(fd);
      if (e instanceof libc.SyscallError && (e.errno === EAGAIN || e.errno === EWOULDBLOCK)) {
        throw new BadInputError(`disk image ${spec.path} is in use by another VM${spec.readOnly ? " for writing" : ""}`);
      }
      throw e;
    }
    const size = libc.fstatSize(fd);
    return new DiskImage(spec.path, fd, Math.floor(size / SECTOR), spec.readOnly);
  }

  read(offset: number, dst: Uint8Array): void {
    for (let done = 0; done < dst.length;) {
      const n = libc.pread(this.fd, done === 0 ? dst : dst.subarray(done), offset + done);
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at ${offset + done}`);
      done += n;
    }
  }

  readv(offset: number, dsts: readonly Uint8Array[]): void {
    this.vectored(offset, dsts, false);
  }

  writev(offset: number, srcs: readonly Uint8Array[]): void {
    if (this.readOnly) throw new Error(`${this.path} is read-only`);
    this.vectored(offset, srcs, true);
  }

  /** One preadv/pwritev for all the buffers (IOV_MAX at a time); a short transfer goes on where it stopped. */
  private vectored(offset: number, bufs: readonly Uint8Array[], write: boolean): void {
    let i = 0;
    while (i < bufs.length) {
      const batch = bufs.slice(i, i + libc.IOV_MAX);
      let n = libc.preadv(this.fd, batch, offset, write);
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at ${offset}`);
      offset += n;
      // Past the buffers done; a buffer done in part is finished by a plain read or write.
      while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
      if (n > 0) {
        const rest = bufs[i++]!.subarray(n);
        if (write) this.write(offset, rest); else this.read(offset, rest);
        offset += rest.length;
      }
    }
  }

  transferHost(offset: number, addrs: Float64Array, lens: Float64Array, count: number, write: boolean): void {
    if (write && this.readOnly) throw new Error(`${this.path} is read-only`);
    let i = 0;
    while (i < count) {
      // From entry i on: addrs and lens are shifted down so the call starts at index 0.
      if (i > 0) { addrs.copyWithin(0, i, count); lens.copyWithin(0, i, count); count -= i; i = 0; }
      let n = libc.preadvHost(this.fd, addrs, lens, count, offset, write);
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at ${offset}`);
      offset += n;
      while (i < count && n >= lens[i]!) n -= lens[i++]!;
      if (n > 0) { addrs[i]! += n; lens[i]! -= n; } // a range done in part goes on where it stopped
    }
  }

  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path} is read-only`);
    for (let done = 0; done < src.length;) done += libc.pwrite(this.fd, done === 0 ? src : src.subarray(done), offset + done);
  }

  /** A hole punched in the file (the size kept); a file system that cannot punch holes is left as it is: a discard is only advice. */
  discard(offset: number, length: number): void {
    if (this.readOnly) throw new Error(`${this.path} is read-only`);
    this.punchHole(offset, length);
  }

  /**
   * Zeroes as a hole where `unmap` allows and the file system can punch one; else in place: the
   * file system's zero range (blocks kept allocated), or, where it has none, zeroes written.
   */
  writeZeroes(offset: number, length: number, unmap: boolean): void {
    if (this.readOnly) throw new Error(`${this.path} is read-only`);
    if (unmap && this.punchHole(offset, length)) return;
    if (this.zeroRange) {
      try {
        libc.fallocate(this.fd, libc.FALLOC_FL_ZERO_RANGE | libc.FALLOC_FL_KEEP_SIZE, offset, length);
        return;
      } catch (e) {
        if (!unsupported(e)) throw e;
        this.zeroRange = false;
      }
    }
    for (let done = 0; done < length;) {
      const n = Math.min(ZEROES.length, length - done);
      this.write(offset + done, n === ZEROES.length ? ZEROES : ZEROES.subarray(0, n));
      done += n;
    }
  }

  /** Whether the range is now a hole. */
  private punchHole(offset: number, length: number): boolean {
    if (!this.holes) return false;
    try {
      libc.fallocate(this.fd, libc.FALLOC_FL_PUNCH_HOLE | libc.FALLOC_FL_KEEP_SIZE, offset, length);
      return true;
    } catch (e) {
      if (!unsupported(e)) throw e;
      this.holes = false; // asked once: the answer does not change for this file
      return false;
    }
  }

  flush(): void {
    if (this.readOnly) return;
    try {
      libc.fsync(this.fd);
    } catch (e) {
      throw e instanceof libc.SyscallError ? new HostError(`disk image ${this.path}: ${e.message} — the last writes may not be on disk`) : e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.flush(); } finally { libc.close(this.fd); }
  }
}

/** What zeroes are written from where the file system cannot zero a range itself. */
const ZEROES = new Uint8Array(1 << 20);

/** fallocate's answer where the file system (or kernel) lacks the mode. */
const unsupported = (e: unknown) => e instanceof libc.SyscallError && (e.errno === EOPNOTSUPP || e.errno === ENOSYS);

/** A disk image is a regular file holding at least one sector, or a block device. */
function checkKind(path: string, stat: () => Stats): void {
  let st: Stats;
  try {
    st = stat();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BadInputError(`cannot open disk image ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  if (st.isDirectory()) throw new BadInputError(`disk image ${path} is a directory`);
  if (st.isBlockDevice()) return;
  if (!st.isFile()) throw new BadInputError(`disk image ${path} is not a regular file or a block device`);
  if (st.size < SECTOR) throw new BadInputError(`disk image ${path} has ${st.size} bytes: an image needs at least one ${SECTOR}-byte sector`);
}
