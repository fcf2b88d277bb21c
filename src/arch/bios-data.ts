// What a PC BIOS leaves behind for the kernel it boots, which kernels written for a PC read: the
// BIOS data area at 0x400 (serial ports, EBDA segment, base memory size, video mode and cursor),
// the EBDA's size byte, a blank text screen, and the CMOS NVRAM bytes that give the memory size.
// There is no BIOS code: only this data, written before the guest starts.
import type { GuestMemory } from "../memory/guest-memory";
import { BLANK_CELL, COLUMNS, ROWS, SCREEN_BYTES, TEXT_WINDOW } from "../devices/vga";
import { BDA_BASE, EBDA_BASE, MMIO_HOLE_END } from "./layout";

// BDA offsets (from 0x400).
export const BDA_COM1 = 0x00; // u16 ×4: COM1-COM4 base ports
export const BDA_EBDA_SEGMENT = 0x0e; // u16
export const BDA_EQUIPMENT = 0x10; // u16
export const BDA_BASE_MEMORY_KB = 0x13; // u16
export const BDA_VIDEO_MODE = 0x49; // u8
export const BDA_COLUMNS = 0x4a; // u16
export const BDA_PAGE_SIZE = 0x4c; // u16
export const BDA_CURSOR_POSITION = 0x50; // u16 ×8 (column, row)
export const BDA_CURSOR_SHAPE = 0x60; // u16 (end, start)
export const BDA_CRT_PORT = 0x63; // u16
export const BDA_ROWS_MINUS_ONE = 0x84; // u8
export const BDA_CHAR_HEIGHT = 0x85; // u16
export const BDA_SIZE = 0x100;

/** Conventional memory the BIOS reports: 639 KiB (the EBDA takes the last KiB below 640). */
export const BASE_MEMORY_KB = EBDA_BASE >> 10;
const EBDA_SIZE_KB = 1;
/** One serial port; an 80×25 colour display; no floppy drives. */
const EQUIPMENT = (1 << 9) | (0b10 << 4);

export interface BiosFacts {
  com1: number;
  crtPort: number;
}

/** The BIOS data area's bytes. */
export function biosDataArea(f: BiosFacts): Uint8Array {
  const b = new Uint8Array(BDA_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(BDA_COM1, f.com1, true);
  dv.setUint16(BDA_EBDA_SEGMENT, EBDA_BASE >> 4, true);
  dv.setUint16(BDA_EQUIPMENT, EQUIPMENT, true);
  dv.setUint16(BDA_BASE_MEMORY_KB, BASE_MEMORY_KB, true);
  dv.setUint8(BDA_VIDEO_MODE, 3);
  dv.setUint16(BDA_COLUMNS, COLUMNS, true);
  dv.setUint16(BDA_PAGE_SIZE, 0x1000, true);
  dv.setUint16(BDA_CURSOR_SHAPE, 0x0d0e, true); // start line 13 (high byte), end line 14: the CRT's own values
  dv.setUint16(BDA_CRT_PORT, f.crtPort, true);
  dv.setUint8(BDA_ROWS_MINUS_ONE, ROWS - 1);
  dv.setUint16(BDA_CHAR_HEIGHT, 16, true);
  return b;
}

/** Writes the BDA, the EBDA's size byte and a blank screen into guest RAM. */
export function writeBiosData(memory: GuestMemory, f: BiosFacts): void {
  memory.write(BDA_BASE, biosDataArea(f), "BIOS data area");
  memory.write(EBDA_BASE, Uint8Array.of(EBDA_SIZE_KB), "extended BIOS data area");
  const blank = new Uint8Array(SCREEN_BYTES);
  const dv = new DataView(blank.buffer);
  for (let i = 0; i < SCREEN_BYTES; i += 2) dv.setUint16(i, BLANK_CELL, true);
  memory.write(TEXT_WINDOW, blank, "VGA text screen");
}

// CMOS NVRAM memory-size bytes (as BIOSes and QEMU fill them).
const CMOS_BASE_MEMORY = 0x15; // u16 KiB below 1 MiB
const CMOS_EXTENDED_MEMORY = 0x17; // u16 KiB from 1 MiB, at most 0xFFFF
const CMOS_EXTENDED_MEMORY_2 = 0x30; // the same again
const CMOS_MEMORY_ABOVE_16M = 0x34; // u16 64 KiB units from 16 MiB to the end of low RAM
const CMOS_MEMORY_ABOVE_4G = 0x5b; // u24 64 KiB units above 4 GiB
const CMOS_EQUIPMENT = 0x14; // bits 4-5 clear: EGA/VGA; bit 1: a maths coprocessor

/** The CMOS bytes that tell the memory size, for RAM ranges as the board lays them out. */
export function cmosMemoryFields(ram: ReadonlyArray<{ gpa: number; size: number }>): Array<[number, number]> {
  const low = ram.filter((r) => r.gpa < MMIO_HOLE_END).reduce((end, r) => Math.max(end, r.gpa + r.size), 0);
  const high = ram.filter((r) => r.gpa >= MMIO_HOLE_END).reduce((n, r) => n + r.size, 0);
  const extendedKb = Math.min(0xffff, Math.max(0, Math.floor((low - 0x100000) / 1024)));
  const above16m = Math.min(0xffff, Math.max(0, Math.floor((low - 0x1000000) / 0x10000)));
  const above4g = Math.min(0xffffff, Math.floor(high / 0x10000));
  const u16 = (at: number, v: number): Array<[number, number]> => [[at, v & 0xff], [at + 1, v >> 8]];
  return [
    ...u16(CMOS_BASE_MEMORY, 640),
    ...u16(CMOS_EXTENDED_MEMORY, extendedKb),
    ...u16(CMOS_EXTENDED_MEMORY_2, extendedKb),
    ...u16(CMOS_MEMORY_ABOVE_16M, above16m),
    [CMOS_MEMORY_ABOVE_4G, above4g & 0xff], [CMOS_MEMORY_ABOVE_4G + 1, (above4g >> 8) & 0xff], [CMOS_MEMORY_ABOVE_4G + 2, above4g >> 16],
    [CMOS_EQUIPMENT, 0x02],
  ];
}
