// VGA in colour text mode, as a kernel finds it after a PC BIOS set mode 3: 80×25 cells of
// (character, attribute) in the text window at 0xB8000, which is guest RAM (the guest writes cells
// without exits; the board reads them), and the registers kernels touch, at 0x3C0-0x3DF:
//   0x3C0/0x3C1 attribute controller (index and data share 0x3C0 through a flip-flop)
//   0x3C2 misc output (write; 0x3CC reads it back)    0x3C4/0x3C5 sequencer
//   0x3C6-0x3C9 DAC mask, read index, write index, palette data (three reads or writes per colour)
//   0x3CE/0x3CF graphics controller    0x3D4/0x3D5 CRT controller    0x3DA input status 1
// Every register keeps what is written and reads it back; the CRT controller's cursor shape
// (0x0A/0x0B), start address (0x0C/0x0D) and cursor location (0x0E/0x0F) say what the screen shows.
// A 16-bit write to an index port writes the index (low byte) and the data (high byte), as kernels do.
// Nothing here knows about KVM or guest memory.
import type { PortDevice } from "../vcpu/bus";

export const VGA_PORT_BASE = 0x3c0;
export const VGA_PORT_COUNT = 0x20;
/** The colour text window: 32 KiB of cells at this guest-physical address. */
export const TEXT_WINDOW = 0xb8000;
export const TEXT_WINDOW_SIZE = 0x8000;
export const COLUMNS = 80;
export const ROWS = 25;
/** Bytes of one screen: a character and an attribute per cell. */
export const SCREEN_BYTES = COLUMNS * ROWS * 2;
/** What the BIOS fills the screen with: spaces, light grey on black. */
export const BLANK_CELL = 0x0720;

// Offsets from 0x3C0.
const ATTR = 0x00;
const ATTR_READ = 0x01;
const MISC_WRITE = 0x02; // reads: input status 0
const SEQ_INDEX = 0x04;
const SEQ_DATA = 0x05;
const DAC_MASK = 0x06;
const DAC_READ_INDEX = 0x07; // reads: DAC state
const DAC_WRITE_INDEX = 0x08;
const DAC_DATA = 0x09;
const MISC_READ = 0x0c;
const GC_INDEX = 0x0e;
const GC_DATA = 0x0f;
const CRT_INDEX = 0x14;
const CRT_DATA = 0x15;
const INPUT_STATUS_1 = 0x1a;

// CRT controller registers.
export const CRT_CURSOR_START = 0x0a; // bit 5: cursor off
export const CRT_CURSOR_END = 0x0b;
export const CRT_START_HIGH = 0x0c;
export const CRT_START_LOW = 0x0d;
export const CRT_CURSOR_HIGH = 0x0e;
export const CRT_CURSOR_LOW = 0x0f;
const CURSOR_OFF = 0x20;

// Mode 3's register values (IBM VGA technical reference, the BIOS's mode table).
const MODE3_CRT = [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff];
const MODE3_SEQ = [0x03, 0x00, 0x03, 0x00, 0x02];
const MODE3_GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
const MODE3_ATTR = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00];
/** Colour, I/O at 0x3Dx, RAM enabled, 28 MHz clock, the polarities for 400 lines. */
const MODE3_MISC = 0x67;
// Input status 1: bit 0 display disabled (between lines), bit 3 vertical retrace.
const DISPLAY_DISABLED = 0x01;
const VERTICAL_RETRACE = 0x08;

export class Vga implements PortDevice {
  readonly crt = new Uint8Array(0x20);
  private readonly seq = new Uint8Array(8);
  private readonly gc = new Uint8Array(16);
  private readonly attr = new Uint8Array(0x20);
  private readonly dac = new Uint8Array(256 * 3);
  private crtIndex = 0;
  private seqIndex = 0;
  private gcIndex = 0;
  private attrIndex = 0;
  /** False: the next write to 0x3C0 is an index; true: data. Reading 0x3DA resets it. */
  private attrData = false;
  private misc = MODE3_MISC;
  private dacMask = 0xff;
  private dacRead = 0;
  private dacWrite = 0;
  /** 0: the last index written was the read index (DAC state 3), else the write index (0). */
  private dacReading = false;
  private retrace = 0;

  constructor() {
    this.crt.set(MODE3_CRT);
    this.seq.set(MODE3_SEQ);
    this.gc.set(MODE3_GC);
    this.attr.set(MODE3_ATTR);
  }

  /** The cell the first character on screen is, in cells from the window's start (CRT start address). */
  get startAddress(): number {
    return (this.crt[CRT_START_HIGH]! << 8) | this.crt[CRT_START_LOW]!;
  }

  /** The cursor's cell, counted from the window's start as the CRT controller holds it. */
  get cursorAddress(): number {
    return (this.crt[CRT_CURSOR_HIGH]! << 8) | this.crt[CRT_CURSOR_LOW]!;
  }

  /** Where the cursor is on screen, or undefined when it is off or off screen. */
  get cursor(): { row: number; column: number } | undefined {
    if (this.crt[CRT_CURSOR_START]! & CURSOR_OFF) return undefined;
    const at = this.cursorAddress - this.startAddress;
    if (at < 0 || at >= COLUMNS * ROWS) return undefined;
    return { row: Math.floor(at / COLUMNS), column: at % COLUMNS };
  }

  read(offset: number, size: number): number {
    const lo = this.readByte(offset);
    return size === 1 ? lo : lo | (this.readByte(offset + 1) << 8);
  }

  write(offset: number, size: number, value: number): void {
    this.writeByte(offset, value & 0xff);
    if (size >= 2) this.writeByte(offset + 1, (value >> 8) & 0xff);
  }

  private readByte(offset: number): number {
    switch (offset) {
      case ATTR: return this.attrIndex;
      case ATTR_READ: return this.attr[this.attrIndex & 0x1f]!;
      case MISC_WRITE: return 0x00; // input status 0: no switch sense, no interrupt
      case SEQ_INDEX: return this.seqIndex;
      case SEQ_DATA: return this.seq[this.seqIndex & 0x07]!;
      case DAC_MASK: return this.dacMask;
      case DAC_READ_INDEX: return this.dacReading ? 0x03 : 0x00;
      case DAC_WRITE_INDEX: return this.dacWrite / 3 | 0;
      case DAC_DATA: {
        const v = this.dac[this.dacRead]!;
        this.dacRead = (this.dacRead + 1) % this.dac.length;
        return v;
      }
      case MISC_READ: return this.misc;
      case GC_INDEX: return this.gcIndex;
      case GC_DATA: return this.gc[this.gcIndex & 0x0f]!;
      case CRT_INDEX: return this.crtIndex;
      case CRT_DATA: return this.crt[this.crtIndex & 0x1f]!;
      case INPUT_STATUS_1: {
        // Polling loops wait for retrace to start and end: let it come and go on each read.
        this.attrData = false;
        this.retrace ^= DISPLAY_DISABLED | VERTICAL_RETRACE;
        return this.retrace;
      }
      default: return 0xff;
    }
  }

  private writeByte(offset: number, v: number): void {
    switch (offset) {
      case ATTR:
        if (this.attrData) this.attr[this.attrIndex & 0x1f] = v;
        else this.attrIndex = v & 0x3f;
        this.attrData = !this.attrData;
        break;
      case MISC_WRITE: this.misc = v; break;
      case SEQ_INDEX: this.seqIndex = v; break;
      case SEQ_DATA: this.seq[this.seqIndex & 0x07] = v; break;
      case DAC_MASK: this.dacMask = v; break;
      case DAC_READ_INDEX: this.dacRead = v * 3; this.dacReading = true; break;
      case DAC_WRITE_INDEX: this.dacWrite = v * 3; this.dacReading = false; break;
      case DAC_DATA:
        this.dac[this.dacWrite] = v & 0x3f;
        this.dacWrite = (this.dacWrite + 1) % this.dac.length;
        break;
      case GC_INDEX: this.gcIndex = v; break;
      case GC_DATA: this.gc[this.gcIndex & 0x0f] = v; break;
      case CRT_INDEX: this.crtIndex = v; break;
      case CRT_DATA: this.crt[this.crtIndex & 0x1f] = v; break;
      default: break; // read-only or nothing there
    }
  }
}

/**
 * The 25 rows of cells the screen shows, from the text window (TEXT_WINDOW_SIZE bytes) and the
 * start address: SCREEN_BYTES bytes, wrapping within the window as the hardware does.
 */
export function visibleCells(window: Uint8Array, startAddress: number, out = new Uint8Array(SCREEN_BYTES)): Uint8Array {
  const from = (startAddress * 2) % TEXT_WINDOW_SIZE;
  const first = Math.min(SCREEN_BYTES, TEXT_WINDOW_SIZE - from);
  out.set(window.subarray(from, from + first), 0);
  if (first < SCREEN_BYTES) out.set(window.subarray(0, SCREEN_BYTES - first), first);
  return out;
}
