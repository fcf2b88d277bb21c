// An IDE channel with up to two ATA disks (master and slave), driven by PIO as in ATA/ATAPI-6:
// the command block at 0x1F0-0x1F7 (data, error/features, sector count, LBA low/mid/high, device,
// status/command) and the control block at 0x3F6 (alternate status / device control), IRQ 14.
// Commands: IDENTIFY DEVICE; READ/WRITE SECTORS and MULTIPLE, LBA28 (or CHS) and LBA48 (EXT, with
// the registers' "previous" bytes); SET MULTIPLE MODE; FLUSH CACHE (fsync); READ VERIFY; and the
// housekeeping ones a driver sends (SET FEATURES, INITIALIZE DEVICE PARAMETERS, IDLE, SEEK,
// EXECUTE DEVICE DIAGNOSTIC) accepted. Anything else is aborted (ERR, ABRT), as are writes to a
// read-only disk; sectors past the end are ID NOT FOUND. Each such error is reported through `warn`.
// The data port moves 2 or 4 bytes per access (rep insw/insl arrive as many accesses); a block is
// one sector, or the multiple count for the MULTIPLE commands. INTRQ rises when a block is ready
// (read), wanted (write after the first) or the command is done, and falls when status is read.
// Absent drives read as QEMU's do: with no drive at all the bus floats (0xFF); an absent slave
// reads status 0 and ignores commands; an absent master beside a slave is ready but aborts commands.
// Nothing here knows about KVM: the board turns `irq(level)` into an interrupt line.
import { allOnes, type PortDevice } from "../vcpu/bus";
import type { BlockBackend } from "./pv-block";

export const SECTOR = 512;
/** The largest multiple count we accept (SET MULTIPLE MODE), and offer in IDENTIFY word 47. */
export const MAX_MULTIPLE = 16;

// Command block offsets (from 0x1F0).
export const REG_DATA = 0;
export const REG_ERROR = 1; // write: features
export const REG_COUNT = 2;
export const REG_LBA_LOW = 3;
export const REG_LBA_MID = 4;
export const REG_LBA_HIGH = 5;
export const REG_DEVICE = 6;
export const REG_STATUS = 7; // write: command

// Status
export const ST_ERR = 0x01;
export const ST_DRQ = 0x08;
export const ST_DSC = 0x10;
export const ST_DF = 0x20;
export const ST_DRDY = 0x40;
export const ST_BSY = 0x80;
const READY = ST_DRDY | ST_DSC;

// Error
export const ERR_ABRT = 0x04;
export const ERR_IDNF = 0x10;
export const ERR_UNC = 0x40;

// Device register
export const DEV_SLAVE = 0x10;
export const DEV_LBA = 0x40;

// Device control
export const CTL_NIEN = 0x02;
export const CTL_SRST = 0x04;
export const CTL_HOB = 0x80;

// Commands
export const CMD_RECALIBRATE = 0x10;
export const CMD_READ_SECTORS = 0x20;
export const CMD_READ_SECTORS_NORETRY = 0x21;
export const CMD_READ_SECTORS_EXT = 0x24;
export const CMD_READ_MULTIPLE_EXT = 0x29;
export const CMD_WRITE_SECTORS = 0x30;
export const CMD_WRITE_SECTORS_NORETRY = 0x31;
export const CMD_WRITE_SECTORS_EXT = 0x34;
export const CMD_WRITE_MULTIPLE_EXT = 0x39;
export const CMD_READ_VERIFY = 0x40;
export const CMD_READ_VERIFY_NORETRY = 0x41;
export const CMD_READ_VERIFY_EXT = 0x42;
export const CMD_SEEK = 0x70;
export const CMD_DIAGNOSTIC = 0x90;
export const CMD_INIT_PARAMETERS = 0x91;
export const CMD_READ_MULTIPLE = 0xc4;
export const CMD_WRITE_MULTIPLE = 0xc5;
export const CMD_SET_MULTIPLE = 0xc6;
export const CMD_STANDBY_IMMEDIATE = 0xe0;
export const CMD_IDLE_IMMEDIATE = 0xe1;
export const CMD_STANDBY = 0xe2;
export const CMD_IDLE = 0xe3;
export const CMD_CHECK_POWER = 0xe5;
export const CMD_FLUSH_CACHE = 0xe7;
export const CMD_FLUSH_CACHE_EXT = 0xea;
export const CMD_IDENTIFY = 0xec;
export const CMD_SET_FEATURES = 0xef;

/** The CHS geometry IDENTIFY reports and CHS addressing uses (what BIOSes translate to). */
const HEADS = 16;
const SECTORS_PER_TRACK = 63;
const LBA28_MAX = 0x0fff_ffff;

interface Transfer {
  write: boolean;
  lba: number;
  /** Sectors left, this block included. */
  remaining: number;
  /** Sectors per block: 1, or the multiple count. */
  block: number;
}

export interface IdeStats { commands: number; sectorsRead: number; sectorsWritten: number; flushes: number; errors: number }

class Drive {
  status = READY;
  error = 0x01;
  multiple = 0;
  readonly buffer = new Uint8Array(SECTOR * MAX_MULTIPLE);
  position = 0;
  length = 0;
  transfer: Transfer | undefined;
  constructor(readonly disk: BlockBackend, readonly index: number) {}
}

export class IdeChannel implements PortDevice {
  readonly stats: IdeStats = { commands: 0, sectorsRead: 0, sectorsWritten: 0, flushes: 0, errors: 0 };
  private readonly drives: ReadonlyArray<Drive | undefined>;
  // Sector count and LBA registers: what was written last, and the byte before it (LBA48's high half).
  private readonly current = new Uint8Array(8);
  private readonly previous = new Uint8Array(8);
  private device = 0xa0;
  private control = 0;
  private pendingIrq = false;
  private irqLevel = false;
  /** Status of an absent master beside a present slave (never changes: it does no command). */
  private absentMasterStatus = READY;

  /** `disks[0]` is the master, `disks[1]` the slave; `warn` reports what the guest got wrong. */
  constructor(disks: ReadonlyArray<BlockBackend | undefined>, private readonly irq: (level: boolean) => void,
    private readonly warn: (message: string) => void = () => {}) {
    this.drives = [0, 1].map((i) => disks[i] === undefined ? undefined : new Drive(disks[i]!, i));
    this.signature();
  }

  private get selected(): Drive | undefined {
    return this.drives[(this.device & DEV_SLAVE) ? 1 : 0];
  }

  private get empty(): boolean {
    return this.drives[0] === undefined && this.drives[1] === undefined;
  }

  /** The status register as the selected position on the cable shows it. */
  get status(): number {
    if (this.empty) return 0xff;
    const d = this.selected;
    if (d !== undefined) return d.status;
    return (this.device & DEV_SLAVE) ? 0 : this.absentMasterStatus;
  }

  read(offset: number, size: number): number {
    if (this.empty) return allOnes(size);
    if (offset === REG_DATA) return this.readData(size);
    const hob = (this.control & CTL_HOB) !== 0;
    switch (offset) {
      case REG_ERROR: return this.selected?.error ?? 0;
      case REG_COUNT: case REG_LBA_LOW: case REG_LBA_MID: case REG_LBA_HIGH:
        if ((this.device & DEV_SLAVE) && this.selected === undefined) return 0;
        return (hob ? this.previous : this.current)[offset]!;
      case REG_DEVICE: return this.device;
      case REG_STATUS: {
        const s = this.status;
        this.pendingIrq = false; // reading status acknowledges the interrupt
        this.updateIrq();
        return s;
      }
      default: return 0xff;
    }
  }

  write(offset: number, size: number, value: number): void {
    if (offset === REG_DATA) { this.writeData(size, value); return; }
    const v = value & 0xff;
    this.control &= ~CTL_HOB; // a write to the command block clears HOB
    switch (offset) {
      case REG_ERROR: break; // features: only SET FEATURES reads them, and it accepts every one
      case REG_COUNT: case REG_LBA_LOW: case REG_LBA_MID: case REG_LBA_HIGH:
        this.previous[offset] = this.current[offset]!;
        this.current[offset] = v;
        break;
      case REG_DEVICE: this.device = v | 0xa0; break; // bits 5 and 7 are obsolete and read as 1
      case REG_STATUS: this.command(v); break;
    }
  }

  /** The control block at 0x3F6: reads give the alternate status (no acknowledgement), writes the device control register. */
  readonly controlPort: PortDevice = {
    read: (_offset, size) => this.empty ? allOnes(size) : this.status,
    write: (_offset, _size, value) => {
      const was = this.control;
      this.control = value & 0xff;
      // Software reset: both drives are reset while SRST is set, and come back with their signature.
      if ((value & CTL_SRST) !== 0 && (was & CTL_SRST) === 0) this.resetDrives();
      this.updateIrq();
    },
  };

  private resetDrives(): void {
    for (const d of this.drives) {
      if (d === undefined) continue;
      d.status = READY;
      d.error = 0x01; // diagnostic passed
      d.transfer = undefined;
      d.length = d.position = 0;
    }
    this.device = 0xa0;
    this.signature();
  }

  /** The ATA device signature in the task file: count 1, LBA 1, 0, 0. */
  private signature(): void {
    this.current.set([0, 0, 1, 1, 0, 0], 0);
  }

  private command(cmd: number): void {
    const d = this.selected;
    if (d === undefined) {
      if ((this.device & DEV_SLAVE) === 0 && !this.empty) this.fail(undefined, ERR_ABRT, undefined); // absent master
      return;
    }
    this.stats.commands++;
    d.transfer = undefined;
    d.length = d.position = 0;
    const ext = cmd === CMD_READ_SECTORS_EXT || cmd === CMD_WRITE_SECTORS_EXT || cmd === CMD_READ_MULTIPLE_EXT ||
      cmd === CMD_WRITE_MULTIPLE_EXT || cmd === CMD_READ_VERIFY_EXT;
    switch (cmd) {
      case CMD_IDENTIFY:
        d.buffer.set(identify(d.disk, d.multiple), 0);
        d.length = SECTOR;
        d.status = READY | ST_DRQ;
        this.raise();
        return;
      case CMD_READ_SECTORS: case CMD_READ_SECTORS_NORETRY: case CMD_READ_SECTORS_EXT:
      case CMD_WRITE_SECTORS: case CMD_WRITE_SECTORS_NORETRY: case CMD_WRITE_SECTORS_EXT:
        this.start(d, cmd, ext, 1);
        return;
      case CMD_READ_MULTIPLE: case CMD_READ_MULTIPLE_EXT: case CMD_WRITE_MULTIPLE: case CMD_WRITE_MULTIPLE_EXT:
        if (d.multiple === 0) { this.fail(d, ERR_ABRT, "READ/WRITE MULTIPLE before SET MULTIPLE MODE"); return; }
        this.start(d, cmd, ext, d.multiple);
        return;
      case CMD_SET_MULTIPLE: {
        const n = this.current[REG_COUNT]!;
        if (n !== 0 && (n > MAX_MULTIPLE || (n & (n - 1)) !== 0)) { this.fail(d, ERR_ABRT, `SET MULTIPLE MODE to ${n} (1, 2, 4, 8 or 16)`); return; }
        d.multiple = n;
        return this.done(d);
      }
      case CMD_READ_VERIFY: case CMD_READ_VERIFY_NORETRY: case CMD_READ_VERIFY_EXT: {
        const r = this.range(d, ext);
        if (r !== undefined) this.done(d);
        return;
      }
      case CMD_FLUSH_CACHE: case CMD_FLUSH_CACHE_EXT:
        this.stats.flushes++;
        try { d.disk.flush(); } catch (e) { this.fail(d, ERR_ABRT, `flush failed: ${(e as Error).message}`); return; }
        return this.done(d);
      case CMD_DIAGNOSTIC:
        this.resetDrives();
        return this.done(d, 0x01);
      case CMD_CHECK_POWER:
        this.current[REG_COUNT] = 0xff; // active or idle
        return this.done(d);
      case CMD_SET_FEATURES: case CMD_INIT_PARAMETERS: case CMD_SEEK:
      case CMD_STANDBY_IMMEDIATE: case CMD_IDLE_IMMEDIATE: case CMD_STANDBY: case CMD_IDLE:
        return this.done(d);
      default:
        if ((cmd & 0xf0) === CMD_RECALIBRATE) return this.done(d);
        this.fail(d, ERR_ABRT, `unknown ATA command 0x${cmd.toString(16)}`);
    }
  }

  /** The first sector and the count the task file gives, checked against the disk; undefined (and the error set) when out of range. */
  private range(d: Drive, ext: boolean): { lba: number; count: number } | undefined {
    const c = this.current;
    const p = this.previous;
    let lba: number;
    let count: number;
    if (ext) {
      lba = (p[REG_LBA_HIGH]! * 2 ** 40) + (p[REG_LBA_MID]! * 2 ** 32) + (p[REG_LBA_LOW]! * 2 ** 24) +
        (c[REG_LBA_HIGH]! << 16 | c[REG_LBA_MID]! << 8 | c[REG_LBA_LOW]!);
      count = (p[REG_COUNT]! << 8 | c[REG_COUNT]!) || 0x10000;
    } else {
      count = c[REG_COUNT]! || 0x100;
      if (this.device & DEV_LBA) {
        lba = ((this.device & 0x0f) << 24 | c[REG_LBA_HIGH]! << 16 | c[REG_LBA_MID]! << 8 | c[REG_LBA_LOW]!) >>> 0;
      } else {
        const cylinder = c[REG_LBA_HIGH]! << 8 | c[REG_LBA_MID]!;
        const sector = c[REG_LBA_LOW]!;
        if (sector === 0) { this.fail(d, ERR_IDNF, "CHS sector 0 (sectors count from 1)"); return undefined; }
        lba = (cylinder * HEADS + (this.device & 0x0f)) * SECTORS_PER_TRACK + sector - 1;
      }
    }
    if (lba + count > d.disk.sectors) {
      this.fail(d, ERR_IDNF, `disk ${d.index}: sectors ${lba}-${lba + count - 1} are past its end (${d.disk.sectors} sectors)`);
      return undefined;
    }
    return { lba, count };
  }

  private start(d: Drive, cmd: number, ext: boolean, block: number): void {
    const write = cmd === CMD_WRITE_SECTORS || cmd === CMD_WRITE_SECTORS_NORETRY || cmd === CMD_WRITE_SECTORS_EXT ||
      cmd === CMD_WRITE_MULTIPLE || cmd === CMD_WRITE_MULTIPLE_EXT;
    if (write && d.disk.readOnly) { this.fail(d, ERR_ABRT, `disk ${d.index} is read-only: write refused`); return; }
    const r = this.range(d, ext);
    if (r === undefined) return;
    d.transfer = { write, lba: r.lba, remaining: r.count, block };
    if (write) this.wantBlock(d, false);
    else this.loadBlock(d);
  }

  /** Reads the transfer's next block into the buffer and offers it (DRQ, interrupt). */
  private loadBlock(d: Drive): void {
    const t = d.transfer!;
    const n = Math.min(t.block, t.remaining);
    const bytes = d.buffer.subarray(0, n * SECTOR);
    try {
      d.disk.read(t.lba * SECTOR, bytes);
    } catch (e) {
      this.fail(d, ERR_UNC, `disk ${d.index}: read of sector ${t.lba} failed: ${(e as Error).message}`);
      return;
    }
    this.stats.sectorsRead += n;
    d.position = 0;
    d.length = bytes.length;
    d.status = READY | ST_DRQ;
    this.raise();
  }

  /** Asks for the transfer's next block (DRQ); the interrupt comes with every block but the first. */
  private wantBlock(d: Drive, interrupt: boolean): void {
    const t = d.transfer!;
    d.position = 0;
    d.length = Math.min(t.block, t.remaining) * SECTOR;
    d.status = READY | ST_DRQ;
    if (interrupt) this.raise();
  }

  private readData(size: number): number {
    const d = this.selected;
    if (d === undefined || (d.status & ST_DRQ) === 0 || d.transfer?.write === true) return allOnes(size);
    let v = 0;
    const n = Math.min(size, d.length - d.position);
    for (let i = 0; i < n; i++) v |= d.buffer[d.position + i]! << (8 * i);
    d.position += n;
    if (d.position >= d.length) this.blockRead(d);
    return v >>> 0;
  }

  private blockRead(d: Drive): void {
    const t = d.transfer;
    d.length = d.position = 0;
    if (t === undefined) { d.status = READY; return; } // IDENTIFY's one block
    const n = Math.min(t.block, t.remaining);
    t.remaining -= n;
    t.lba += n;
    if (t.remaining > 0) { this.loadBlock(d); return; }
    d.transfer = undefined;
    d.status = READY;
  }

  private writeData(size: number, value: number): void {
    const d = this.selected;
    const t = d?.transfer;
    if (d === undefined || t === undefined || !t.write || (d.status & ST_DRQ) === 0) return;
    const n = Math.min(size, d.length - d.position);
    for (let i = 0; i < n; i++) d.buffer[d.position + i] = (value >>> (8 * i)) & 0xff;
    d.position += n;
    if (d.position < d.length) return;
    try {
      d.disk.write(t.lba * SECTOR, d.buffer.subarray(0, d.length));
    } catch (e) {
      this.fail(d, ERR_UNC, `disk ${d.index}: write of sector ${t.lba} failed: ${(e as Error).message}`);
      return;
    }
    const sectors = d.length / SECTOR;
    this.stats.sectorsWritten += sectors;
    t.remaining -= sectors;
    t.lba += sectors;
    if (t.remaining > 0) { this.wantBlock(d, true); return; }
    d.transfer = undefined;
    d.length = d.position = 0;
    this.done(d);
  }

  private done(d: Drive, error = 0): void {
    d.status = READY;
    d.error = error;
    this.raise();
  }

  /** Ends the command with an error; `why` (if any) is reported. An absent master has no drive to hold it. */
  private fail(d: Drive | undefined, error: number, why: string | undefined): void {
    this.stats.errors++;
    if (why !== undefined) this.warn(`IDE: ${why}: the guest gets an ATA error`);
    if (d === undefined) {
      this.absentMasterStatus = READY | ST_ERR;
    } else {
      d.transfer = undefined;
      d.length = d.position = 0;
      d.status = READY | ST_ERR;
      d.error = error;
    }
    this.raise();
  }

  private raise(): void {
    this.pendingIrq = true;
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = this.pendingIrq && (this.control & CTL_NIEN) === 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}

/** The 512 bytes IDENTIFY DEVICE returns (ATA/ATAPI-6 table 27) for a disk. */
export function identify(disk: BlockBackend, multiple: number): Uint8Array {
  const w = new Uint16Array(256);
  const sectors = disk.sectors;
  const cylinders = Math.min(16383, Math.floor(sectors / (HEADS * SECTORS_PER_TRACK)) || 1);
  const lba28 = Math.min(sectors, LBA28_MAX);
  const text = (at: number, words: number, s: string) => {
    const padded = s.padEnd(words * 2, " ");
    for (let i = 0; i < words; i++) w[at + i] = (padded.charCodeAt(2 * i) << 8) | padded.charCodeAt(2 * i + 1);
  };
  w[0] = 0x0040; // fixed disk
  w[1] = cylinders;
  w[3] = HEADS;
  w[6] = SECTORS_PER_TRACK;
  text(10, 10, "MVMM0001");
  text(23, 4, "1.0");
  text(27, 20, "microvmm disk");
  w[47] = 0x8000 | MAX_MULTIPLE;
  w[49] = 0x0200; // LBA supported
  w[53] = 0x0001; // words 54-58 valid
  w[54] = cylinders;
  w[55] = HEADS;
  w[56] = SECTORS_PER_TRACK;
  const chs = cylinders * HEADS * SECTORS_PER_TRACK;
  w[57] = chs & 0xffff;
  w[58] = chs >>> 16;
  w[59] = multiple === 0 ? 0 : 0x0100 | multiple;
  w[60] = lba28 & 0xffff;
  w[61] = lba28 >>> 16;
  w[80] = 0x007e; // ATA-1 to ATA-6
  w[82] = 0x4000; // (word 82-84 valid marker in 83/84)
  w[83] = 0x4000 | 0x0400 | 0x1000 | 0x2000; // LBA48, FLUSH CACHE, FLUSH CACHE EXT
  w[84] = 0x4000;
  w[85] = 0x4000;
  w[86] = 0x0400 | 0x1000 | 0x2000;
  w[87] = 0x4000;
  for (let i = 0; i < 4; i++) w[100 + i] = Math.floor(sectors / 2 ** (16 * i)) & 0xffff;
  const bytes = new Uint8Array(SECTOR);
  const dv = new DataView(bytes.buffer);
  w.forEach((v, i) => dv.setUint16(i * 2, v, true));
  return bytes;
}
