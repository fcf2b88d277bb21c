// 16550A UART (8 ports; the PC's COM1 is at 0x3f8, IRQ 4). The VMM is the other end of the
// line: what the guest transmits goes straight to `out` (THR is always empty again at once), and
// host input is received into a 16-byte FIFO. The interrupt output is a level, recomputed after
// every register access, from the highest-priority pending cause (NS16550A data sheet, table 4).
// Nothing here knows about KVM: the board turns `irq(level)` into an interrupt line.
import type { PortDevice } from "../vcpu/bus";
import { ByteQueue } from "./byte-queue";

// Register offsets (DLAB = LCR bit 7 selects the divisor latch at 0 and 1).
export const RBR_THR_DLL = 0;
export const IER_DLM = 1;
export const IIR_FCR = 2;
export const LCR = 3;
export const MCR = 4;
export const LSR = 5;
export const MSR = 6;
export const SCR = 7;

// IER: which causes may interrupt.
export const IER_RDA = 0x01; // received data available
export const IER_THRE = 0x02; // transmitter holding register empty
export const IER_RLS = 0x04; // receiver line status (overrun)
export const IER_MS = 0x08; // modem status

// IIR: bit 0 clear when an interrupt is pending; bits 1-3 say which; 6-7 set with FIFOs on.
export const IIR_NONE = 0x01;
export const IIR_RLS = 0x06;
export const IIR_RDA = 0x04;
export const IIR_THRE = 0x02;
export const IIR_MS = 0x00;
export const IIR_FIFO_ON = 0xc0;

// FCR
export const FCR_ENABLE = 0x01;
export const FCR_CLEAR_RX = 0x02;
export const FCR_CLEAR_TX = 0x04;

export const LCR_DLAB = 0x80;

// MCR
export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

// LSR
export const LSR_DR = 0x01; // data ready
export const LSR_OE = 0x02; // overrun
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;

// MSR: the line as the VMM presents it: carrier, data set ready, clear to send.
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
const MSR_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS;

export const FIFO_SIZE = 16;

export class Serial implements PortDevice {
  private readonly rx = new ByteQueue(FIFO_SIZE);
  private ier = 0;
  private lcr = 0x03; // 8N1
  private mcr = MCR_OUT2;
  private lsrErrors = 0;
  private scr = 0;
  private dll = 0x0c; // 9600 baud
  private dlm = 0;
  private fifoOn = false;
  /** THRE interrupt pending: set when THR empties, cleared by reading IIR or writing THR. */
  private threPending = false;
  private irqLevel = false;
  /** Bytes the guest sent, and the received bytes it never read (overruns). */
  readonly counts = { transmitted: 0, received: 0, overruns: 0 };

  /**
   * `rxDrained` is called when the guest has read the receive FIFO empty: the host's input can
   * refill it then, instead of waiting for its next look (a paste longer than 16 bytes).
   */
  constructor(private readonly out: (byte: number) => void, private readonly irq: (level: boolean) => void,
    private readonly rxDrained: () => void = () => {}) {}

  /** Room for host input in the receive FIFO (in loopback mode, none: the line is not connected). */
  get rxSpace(): number {
    return (this.mcr & MCR_LOOP) !== 0 ? 0 : this.rx.space;
  }

  /** Host input arrives on the line. False (and nothing queued) when the FIFO is full. */
  receive(byte: number): boolean {
    if (this.rxSpace === 0) return false;
    this.push(byte);
    this.update();
    return true;
  }

  read(offset: number, _size: number): number {
    let v: number;
    switch (offset) {
      case RBR_THR_DLL: {
        if (this.lcr & LCR_DLAB) { v = this.dll; break; }
        const b = this.rx.shift();
        v = Math.max(b, 0); // an empty FIFO reads 0
        if (b >= 0 && this.rx.length === 0) this.rxDrained();
        break;
      }
      case IER_DLM:
        v = this.lcr & LCR_DLAB ? this.dlm : this.ier;
        break;
      case IIR_FCR:
        v = this.iir() | (this.fifoOn ? IIR_FIFO_ON : 0);
        if ((v & 0x0f) === IIR_THRE) this.threPending = false; // reading IIR acknowledges THRE
        break;
      case LCR: v = this.lcr; break;
      case MCR: v = this.mcr; break;
      case LSR:
        v = (this.rx.length > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
        this.lsrErrors = 0; // errors clear on read
        break;
      case MSR: v = this.msr(); break;
      case SCR: v = this.scr; break;
      default: v = 0xff;
    }
    this.update();
    return v;
  }

  write(offset: number, _size: number, value: number): void {
    const v = value & 0xff;
    switch (offset) {
      case RBR_THR_DLL:
        if (this.lcr & LCR_DLAB) { this.dll = v; break; }
        this.counts.transmitted++;
        if (this.mcr & MCR_LOOP) this.push(v); // loopback: what is sent comes back
        else this.out(v);
        this.threPending = true; // sent at once: THR is empty again
        break;
      case IER_DLM:
        if (this.lcr & LCR_DLAB) { this.dlm = v; break; }
        // Enabling the THRE interrupt while THR is empty raises it at once.
        if ((v & IER_THRE) !== 0 && (this.ier & IER_THRE) === 0) this.threPending = true;
        this.ier = v & 0x0f;
        break;
      case IIR_FCR:
        this.fifoOn = (v & FCR_ENABLE) !== 0;
        if (v & FCR_CLEAR_RX) this.rx.clear();
        break;
      case LCR: this.lcr = v; break;
      case MCR: this.mcr = v & 0x1f; break;
      case SCR: this.scr = v; break;
      default: break; // LSR and MSR are read-only
    }
    this.update();
  }

  private push(byte: number): void {
    if (!this.rx.push(byte)) { this.lsrErrors |= LSR_OE; this.counts.overruns++; return; }
    this.counts.received++;
  }

  private msr(): number {
    if ((this.mcr & MCR_LOOP) === 0) return MSR_CONNECTED;
    // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
    return ((this.mcr & MCR_DTR) ? MSR_DSR : 0) | ((this.mcr & MCR_RTS) ? MSR_CTS : 0) |
      ((this.mcr & MCR_OUT1) ? MSR_RI : 0) | ((this.mcr & MCR_OUT2) ? MSR_DCD : 0);
  }

  /** The highest-priority pending cause the guest enabled. */
  private iir(): number {
    if ((this.ier & IER_RLS) && this.lsrErrors) return IIR_RLS;
    if ((this.ier & IER_RDA) && this.rx.length > 0) return IIR_RDA;
    if ((this.ier & IER_THRE) && this.threPending) return IIR_THRE;
    return IIR_NONE;
  }

  private update(): void {
    const level = this.iir() !== IIR_NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}
