import { describe, expect, test } from "bun:test";
import * as I from "../../src/devices/ide";
import type { BlockBackend } from "../../src/devices/pv-block";

/** A disk in memory: sector n starts with the dword 1000 + n. */
function memDisk(sectors: number, readOnly = false): BlockBackend & { bytes: Uint8Array; flushes: number } {
  const bytes = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) new DataView(bytes.buffer).setUint32(s * 512, 1000 + s, true);
  return {
    bytes, sectors, readOnly, flushes: 0,
    read(offset, dst) { dst.set(bytes.subarray(offset, offset + dst.length)); },
    write(offset, src) { bytes.set(src, offset); },
    flush() { this.flushes++; },
  };
}

function channel(disks: Array<BlockBackend | undefined>) {
  const irqs: boolean[] = [];
  const warnings: string[] = [];
  const ide = new I.IdeChannel(disks, (l) => irqs.push(l), (w) => warnings.push(w));
  const out = (reg: number, v: number) => ide.write(reg, 1, v);
  const lba28 = (lba: number, count: number, slave = false) => {
    out(I.REG_COUNT, count & 0xff);
    out(I.REG_LBA_LOW, lba & 0xff);
    out(I.REG_LBA_MID, (lba >> 8) & 0xff);
    out(I.REG_LBA_HIGH, (lba >> 16) & 0xff);
    out(I.REG_DEVICE, 0xe0 | (slave ? I.DEV_SLAVE : 0) | ((lba >> 24) & 0x0f));
  };
  const readWords = (n: number) => Array.from({ length: n }, () => ide.read(I.REG_DATA, 2));
  return { ide, irqs, warnings, out, lba28, readWords, status: () => ide.read(I.REG_STATUS, 1) };
}

describe("IDE channel", () => {
  test("IDENTIFY DEVICE: 256 words; sector counts, LBA48, model string; INTRQ until status is read", () => {
    const c = channel([memDisk(100)]);
    c.out(I.REG_DEVICE, 0xa0);
    c.out(I.REG_STATUS, I.CMD_IDENTIFY);
    expect(c.irqs).toEqual([true]);
    expect(c.ide.controlPort.read(0, 1)).toBe(I.ST_DRDY | I.ST_DSC | I.ST_DRQ); // alternate status: no acknowledgement
    expect(c.irqs).toEqual([true]);
    expect(c.status()).toBe(I.ST_DRDY | I.ST_DSC | I.ST_DRQ);
    expect(c.irqs).toEqual([true, false]);
    const w = c.readWords(256);
    expect(w[0]).toBe(0x0040);
    expect(w[60]! | (w[61]! << 16)).toBe(100);
    expect(w[100]).toBe(100);
    expect(w[83]! & 0x0400).toBe(0x0400); // LBA48
    expect(w[49]! & 0x0200).toBe(0x0200); // LBA
    const model = w.slice(27, 47).map((x) => String.fromCharCode(x >> 8, x & 0xff)).join("").trim();
    expect(model).toBe("microvmm disk");
    expect(c.status()).toBe(I.ST_DRDY | I.ST_DSC); // DRQ gone after the last word
  });

  test("READ SECTORS (LBA28): one interrupt per sector, 16- and 32-bit data reads", () => {
    const c = channel([memDisk(16)]);
    c.lba28(3, 2);
    c.out(I.REG_STATUS, I.CMD_READ_SECTORS);
    expect(c.irqs).toEqual([true]);
    c.status();
    expect(c.ide.read(I.REG_DATA, 4)).toBe(1003);
    for (let i = 1; i < 128; i++) c.ide.read(I.REG_DATA, 4);
    expect(c.irqs).toEqual([true, false, true]); // the second sector is ready
    c.status();
    expect(c.ide.read(I.REG_DATA, 2)).toBe(1004);
    c.readWords(255);
    expect(c.status()).toBe(I.ST_DRDY | I.ST_DSC);
    expect(c.ide.stats.sectorsRead).toBe(2);
  });

  test("WRITE SECTORS: DRQ at once, the interrupt when the data is written; count 0 is 256", () => {
    const d = memDisk(300);
    const c = channel([d]);
    c.lba28(5, 1);
    c.out(I.REG_STATUS, I.CMD_WRITE_SECTORS);
    expect(c.irqs).toEqual([]); // no interrupt before the first block of a write
    expect(c.status() & I.ST_DRQ).toBe(I.ST_DRQ);
    for (let i = 0; i < 128; i++) c.ide.write(I.REG_DATA, 4, 0x11223344);
    expect(c.irqs).toEqual([true]);
    expect(c.status()).toBe(I.ST_DRDY | I.ST_DSC);
    expect(new DataView(d.bytes.buffer).getUint32(5 * 512 + 508, true)).toBe(0x11223344);
    expect(new DataView(d.bytes.buffer).getUint32(6 * 512, true)).toBe(1006);
    c.lba28(0, 0); // 256 sectors
    c.out(I.REG_STATUS, I.CMD_WRITE_SECTORS);
    for (let i = 0; i < 256 * 256; i++) c.ide.write(I.REG_DATA, 2, 0);
    expect(c.ide.stats.sectorsWritten).toBe(257);
  });

  test("LBA48: the registers' previous bytes are the high half; HOB reads them back", () => {
    const reads: number[] = [];
    const big: BlockBackend = { sectors: 2 ** 40, readOnly: false, read: (offset) => { reads.push(offset / 512); }, write() {}, flush() {} };
    const c = channel([big]);
    const lba = 2 ** 32 + 0x030201; // past LBA28's reach
    c.out(I.REG_COUNT, 0); c.out(I.REG_COUNT, 2);
    c.out(I.REG_LBA_LOW, 0); c.out(I.REG_LBA_LOW, 0x01);
    c.out(I.REG_LBA_MID, 1); c.out(I.REG_LBA_MID, 0x02);
    c.out(I.REG_LBA_HIGH, 0); c.out(I.REG_LBA_HIGH, 0x03);
    c.out(I.REG_DEVICE, 0x40);
    c.ide.controlPort.write(0, 1, I.CTL_HOB);
    expect(c.ide.read(I.REG_LBA_MID, 1)).toBe(1);
    c.ide.controlPort.write(0, 1, 0);
    expect(c.ide.read(I.REG_LBA_MID, 1)).toBe(2);
    c.out(I.REG_STATUS, I.CMD_READ_SECTORS_EXT);
    expect(c.status() & I.ST_ERR).toBe(0);
    c.readWords(256);
    expect(reads).toEqual([lba, lba + 1]);
  });

  test("READ MULTIPLE: blocks of the multiple count, one interrupt each; refused before SET MULTIPLE MODE", () => {
    const c = channel([memDisk(64)]);
    c.lba28(0, 4);
    c.out(I.REG_STATUS, I.CMD_READ_MULTIPLE);
    expect(c.status() & (I.ST_ERR | I.ST_DRQ)).toBe(I.ST_ERR);
    expect(c.ide.read(I.REG_ERROR, 1)).toBe(I.ERR_ABRT);
    c.out(I.REG_COUNT, 3);
    c.out(I.REG_STATUS, I.CMD_SET_MULTIPLE);
    expect(c.status() & I.ST_ERR).toBe(I.ST_ERR); // not a power of two
    c.out(I.REG_COUNT, 2);
    c.out(I.REG_STATUS, I.CMD_SET_MULTIPLE);
    expect(c.status() & I.ST_ERR).toBe(0);
    c.lba28(10, 4);
    c.irqs.length = 0;
    c.out(I.REG_STATUS, I.CMD_READ_MULTIPLE);
    c.status();
    expect(c.ide.read(I.REG_DATA, 4)).toBe(1010);
    for (let i = 1; i < 128; i++) c.ide.read(I.REG_DATA, 4);
    expect(c.ide.read(I.REG_DATA, 4)).toBe(1011); // same block, no interrupt between
    for (let i = 1; i < 128; i++) c.ide.read(I.REG_DATA, 4);
    expect(c.irqs).toEqual([true, false, true]);
  });

  test("errors for the guest, each reported: past the end (IDNF), read-only (ABRT), unknown command (ABRT)", () => {
    const c = channel([memDisk(8, true)]);
    c.lba28(7, 2);
    c.out(I.REG_STATUS, I.CMD_READ_SECTORS);
    expect(c.status()).toBe(I.ST_DRDY | I.ST_DSC | I.ST_ERR);
    expect(c.ide.read(I.REG_ERROR, 1)).toBe(I.ERR_IDNF);
    expect(c.ide.read(I.REG_DATA, 2)).toBe(0xffff); // no data
    c.lba28(0, 1);
    c.out(I.REG_STATUS, I.CMD_WRITE_SECTORS);
    expect(c.ide.read(I.REG_ERROR, 1)).toBe(I.ERR_ABRT);
    c.out(I.REG_STATUS, 0x99);
    expect(c.ide.read(I.REG_ERROR, 1)).toBe(I.ERR_ABRT);
    expect(c.warnings).toEqual([
      "IDE: disk 0: sectors 7-8 are past its end (8 sectors): the guest gets an ATA error",
      "IDE: disk 0 is read-only: write refused: the guest gets an ATA error",
      "IDE: unknown ATA command 0x99: the guest gets an ATA error",
    ]);
    expect(c.ide.stats.errors).toBe(3);
  });

  test("FLUSH CACHE flushes the image; nIEN keeps INTRQ low", () => {
    const d = memDisk(8);
    const c = channel([d]);
    c.ide.controlPort.write(0, 1, I.CTL_NIEN);
    c.out(I.REG_STATUS, I.CMD_FLUSH_CACHE);
    expect(d.flushes).toBe(1);
    expect(c.irqs).toEqual([]);
    c.ide.controlPort.write(0, 1, 0);
    expect(c.irqs).toEqual([true]); // still pending: it rises once enabled
  });

  test("absent drives: no drive reads all-ones; an absent slave reads 0 and ignores commands; an absent master beside a slave is ready but aborts", () => {
    const none = channel([]);
    expect(none.status()).toBe(0xff);
    const slaveOnly = channel([undefined, memDisk(8)]);
    expect(slaveOnly.status()).toBe(I.ST_DRDY | I.ST_DSC); // the master's position: what xv6's first wait needs
    slaveOnly.out(I.REG_STATUS, I.CMD_IDENTIFY);
    expect(slaveOnly.status() & I.ST_ERR).toBe(I.ST_ERR);
    slaveOnly.out(I.REG_DEVICE, 0xf0);
    expect(slaveOnly.status()).toBe(I.ST_DRDY | I.ST_DSC);
    const masterOnly = channel([memDisk(8)]);
    masterOnly.out(I.REG_DEVICE, 0xb0);
    expect(masterOnly.status()).toBe(0);
    masterOnly.out(I.REG_STATUS, I.CMD_IDENTIFY);
    expect(masterOnly.status()).toBe(0);
    expect(masterOnly.irqs).toEqual([]);
  });

  test("software reset: the ATA signature in the task file", () => {
    const c = channel([memDisk(8)]);
    c.lba28(0x123456, 9);
    c.ide.controlPort.write(0, 1, I.CTL_SRST);
    c.ide.controlPort.write(0, 1, 0);
    expect([I.REG_COUNT, I.REG_LBA_LOW, I.REG_LBA_MID, I.REG_LBA_HIGH].map((r) => c.ide.read(r, 1))).toEqual([1, 1, 0, 0]);
    expect(c.ide.read(I.REG_ERROR, 1)).toBe(1);
    expect(c.status()).toBe(I.ST_DRDY | I.ST_DSC);
  });
});
