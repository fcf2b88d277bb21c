// i8042 keyboard controller (ports 0x60 data, 0x64 status/command). Its reset pulse (command 0xFE,
// or the output port written with bit 0 clear; `reboot=k` and many hobby kernels use it) ends the
// VM through `reset`. With `irq` it has a PS/2 keyboard behind it (ps2-keyboard.ts): the keyboard's
// bytes come one at a time through the output buffer, each raising IRQ 1 when the configuration
// byte enables it, and bytes the guest writes to port 0x60 go to the keyboard. Without `irq` (the
// Linux board, booted with i8042.dumbkbd) it has no keyboard: just enough for a kernel's probe.
import type { PortDevice } from "../vcpu/bus";
import { Ps2Keyboard } from "./ps2-keyboard";

export const I8042_DATA = 0; // port 0x60
export const I8042_COMMAND = 4; // port 0x64: reads give the status register

// Status register
export const STATUS_OUTPUT_FULL = 0x01;
export const STATUS_SYSTEM = 0x04; // set after a successful self test
export const STATUS_COMMAND = 0x08; // the last write was a command

// Commands
export const CMD_READ_CONFIG = 0x20;
export const CMD_WRITE_CONFIG = 0x60;
export const CMD_DISABLE_AUX = 0xa7;
export const CMD_ENABLE_AUX = 0xa8;
export const CMD_TEST_AUX = 0xa9;
export const CMD_SELF_TEST = 0xaa;
export const CMD_TEST_KBD = 0xab;
export const CMD_DISABLE_KBD = 0xad;
export const CMD_ENABLE_KBD = 0xae;
export const CMD_READ_OUTPUT_PORT = 0xd0;
export const CMD_WRITE_OUTPUT_PORT = 0xd1;
export const CMD_WRITE_KBD_OUTPUT = 0xd2; // the next data byte appears as if the keyboard sent it
export const CMD_PULSE_RESET = 0xfe;

// Configuration byte
export const CONFIG_KBD_INTERRUPT = 0x01;
export const CONFIG_KBD_DISABLED = 0x10;
export const CONFIG_TRANSLATE = 0x40;

const SELF_TEST_OK = 0x55;
const OUTPUT_PORT_RESET_HIGH = 0x01; // bit 0 low = reset asserted
export const KBD_IRQ = 1;

export class I8042 implements PortDevice {
  /** The keyboard, when the controller has one (it was given an interrupt line). */
  readonly keyboard: Ps2Keyboard | undefined;
  private status = STATUS_SYSTEM;
  private output: number | undefined;
  private config = 0x47;
  /** The command whose data byte comes next on port 0x60. */
  private pending: number | undefined;
  private irqLevel = false;

  constructor(private readonly reset: () => void, private readonly irq?: (level: boolean) => void) {
    this.keyboard = irq === undefined ? undefined : new Ps2Keyboard(() => this.refill());
  }

  read(offset: number, _size: number): number {
    if (offset === I8042_COMMAND) return this.status | (this.output !== undefined ? STATUS_OUTPUT_FULL : 0);
    if (offset !== I8042_DATA) return 0xff;
    const v = this.output ?? 0;
    this.output = undefined;
    this.setIrq(false);
    this.refill();
    return v;
  }

  write(offset: number, _size: number, value: number): void {
    const v = value & 0xff;
    if (offset === I8042_COMMAND) {
      this.status |= STATUS_COMMAND;
      this.command(v);
    } else if (offset === I8042_DATA) {
      this.status &= ~STATUS_COMMAND;
      const cmd = this.pending;
      this.pending = undefined;
      if (cmd === CMD_WRITE_CONFIG) this.config = v;
      else if (cmd === CMD_WRITE_OUTPUT_PORT) { if ((v & OUTPUT_PORT_RESET_HIGH) === 0) this.reset(); }
      else if (cmd === CMD_WRITE_KBD_OUTPUT) this.fromKeyboard(v);
      else this.keyboard?.command(v); // without a keyboard, the byte is dropped
    }
    this.refill();
  }

  /** Moves the keyboard's next byte into an empty output buffer (unless the guest disabled the keyboard). */
  refill(): void {
    const kbd = this.keyboard;
    if (this.output !== undefined || kbd === undefined || !kbd.pending || (this.config & CONFIG_KBD_DISABLED) !== 0) return;
    this.fromKeyboard(kbd.next());
  }

  private fromKeyboard(byte: number): void {
    this.output = byte;
    if (this.config & CONFIG_KBD_INTERRUPT) this.setIrq(true);
  }

  private setIrq(level: boolean): void {
    if (this.irq === undefined || level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq(level);
  }

  private command(cmd: number): void {
    switch (cmd) {
      case CMD_READ_CONFIG: this.output = this.config; break;
      case CMD_WRITE_CONFIG: case CMD_WRITE_OUTPUT_PORT: case CMD_WRITE_KBD_OUTPUT: this.pending = cmd; break;
      case CMD_SELF_TEST: this.output = SELF_TEST_OK; break;
      case CMD_TEST_KBD: case CMD_TEST_AUX: this.output = 0x00; break; // interface OK
      case CMD_READ_OUTPUT_PORT: this.output = OUTPUT_PORT_RESET_HIGH; break;
      case CMD_DISABLE_KBD: this.config |= CONFIG_KBD_DISABLED; break;
      case CMD_ENABLE_KBD: this.config &= ~CONFIG_KBD_DISABLED; break;
      case CMD_PULSE_RESET: this.reset(); break;
      default: break; // the mouse port's commands and the rest: accepted, nothing to do
    }
  }
}
