// i8042 keyboard controller (ports 0x60 data, 0x64 status/command): no keyboard behind it, just
// enough for a kernel's probe and for `reboot=k`, whose reset pulse (command 0xFE, or the output
// port with bit 0 clear) ends the VM through `reset`.
import type { PortDevice } from "../vcpu/bus";

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
export const CMD_PULSE_RESET = 0xfe;

const SELF_TEST_OK = 0x55;
const OUTPUT_PORT_RESET_HIGH = 0x01; // bit 0 low = reset asserted

export class I8042 implements PortDevice {
  private status = STATUS_SYSTEM;
  private output: number | undefined;
  private config = 0x47;
  /** The command whose data byte comes next on port 0x60. */
  private pending: number | undefined;

  constructor(private readonly reset: () => void) {}

  read(offset: number, _size: number): number {
    if (offset === I8042_COMMAND) return this.status | (this.output !== undefined ? STATUS_OUTPUT_FULL : 0);
    if (offset !== I8042_DATA) return 0xff;
    const v = this.output ?? 0;
    this.output = undefined;
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
      else if (cmd === CMD_WRITE_OUTPUT_PORT && (v & OUTPUT_PORT_RESET_HIGH) === 0) this.reset();
      // Bytes for the (absent) keyboard are dropped.
    }
  }

  private command(cmd: number): void {
    switch (cmd) {
      case CMD_READ_CONFIG: this.output = this.config; break;
      case CMD_WRITE_CONFIG: case CMD_WRITE_OUTPUT_PORT: this.pending = cmd; break;
      case CMD_SELF_TEST: this.output = SELF_TEST_OK; break;
      case CMD_TEST_KBD: case CMD_TEST_AUX: this.output = 0x00; break; // interface OK
      case CMD_READ_OUTPUT_PORT: this.output = OUTPUT_PORT_RESET_HIGH; break;
      case CMD_PULSE_RESET: this.reset(); break;
      default: break; // enable/disable and the rest: accepted, nothing to do
    }
  }
}
