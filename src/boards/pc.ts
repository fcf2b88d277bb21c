// The PC board, for kernels written for a PC (multiboot kernels, hobby operating systems, xv6):
// KVM's in-kernel 8259 pair, IOAPIC, local APIC and PIT (the core makes them), and at their usual
// places a 16550A on COM1 (IRQ 4), the i8042 with a PS/2 keyboard (IRQ 1), VGA in text mode, the
// CMOS clock with its memory-size bytes, an IDE channel with up to two disks (IRQ 14), PCI
// configuration ports with no devices, the reset ports (0xCF9, 0x92, the i8042), ACPI PM1a blocks
// for power-off, debugcon and the course hypercalls at 0xE9-0xEF, and with --debug-exit QEMU's
// isa-debug-exit at 0xF4. What a BIOS would leave in memory (the BDA, MP and ACPI tables) the
// machine writes before the guest starts (src/machines/pc.ts).
// Only this file knows these port numbers.
import type { AcpiBoard } from "../arch/acpi";
import { cmosMemoryFields } from "../arch/bios-data";
import type { MemMapEntry } from "../arch/memmap";
import type { VmCore } from "../core/vm";
import type { VmStop } from "../core/stop";
import { ExitStatus } from "../errors";
import { AcpiPm1Control, AcpiPm1Event } from "../devices/acpi-pm";
import { Cmos } from "../devices/cmos";
import { DebugExit } from "../devices/debug-exit";
import { HC_DEBUGCON, HYPERCALL_PORTS, type Hypercalls } from "../devices/hypercall";
import { coreHypercalls } from "./course";
import { I8042, KBD_IRQ } from "../devices/i8042";
import { IdeChannel } from "../devices/ide";
import { PciHostNoDevices } from "../devices/pci-host";
import type { BlockBackend } from "../devices/pv-block";
import { Quiet } from "../devices/quiet";
import { Serial } from "../devices/serial";
import { SystemControlA } from "../devices/system-control";
import { SCREEN_BYTES, TEXT_WINDOW, TEXT_WINDOW_SIZE, Vga, VGA_PORT_BASE, VGA_PORT_COUNT, visibleCells } from "../devices/vga";
import type { KeySink, KeySource } from "../host/input";
import type { Board, StatsPart } from "../machine";
import { WATCHED } from "../vcpu/runner";

export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;
export const I8042_PORT = 0x60; // 0x60 data … 0x64 command (0x61 belongs to the in-kernel PIT)
export const CMOS_PORT = 0x70;
export const SYSTEM_CONTROL_A_PORT = 0x92;
export const IDE_PORT = 0x1f0;
export const IDE_CONTROL_PORT = 0x3f6;
export const IDE_IRQ = 14;
export const CRT_PORT = 0x3d4;
export const PCI_CONFIG_PORT = 0xcf8;
export const PM1A_EVT_PORT = 0x600;
export const PM1A_CNT_PORT = 0x604;
export const SCI_IRQ = 9;
export const HYPERCALL_PORT = 0xe9;
export const DEBUG_EXIT_PORT = 0xf4;

/** Legacy ports kernels probe or use for delays, answered like absent hardware. */
const QUIET_PORTS: ReadonlyArray<{ base: number; length: number }> = [
  { base: 0x80, length: 1 }, // POST code port, written as an I/O delay
  { base: 0x2f8, length: 8 }, { base: 0x3e8, length: 8 }, { base: 0x2e8, length: 8 }, // COM2-COM4: absent
  { base: 0x3b0, length: 0x10 }, // monochrome adapter: absent (this one is colour)
  { base: 0x170, length: 8 }, { base: 0x376, length: 1 }, // the secondary IDE channel: empty
  { base: 0x378, length: 3 }, // LPT1: absent
  { base: 0x3f0, length: 6 }, { base: 0x3f7, length: 1 }, // the floppy controller: absent
];

/** What the ACPI tables say about this board. */
export const PC_ACPI: AcpiBoard = { vcpus: 1, pm1aEvtPort: PM1A_EVT_PORT, pm1aCntPort: PM1A_CNT_PORT, sciIrq: SCI_IRQ };

/** Where host keys go and what the terminal shows: the VGA screen and PS/2 keys, or COM1 both ways. */
export type PcConsole = "vga" | "serial";

export interface PcWiring {
  console: PcConsole;
  /** COM1's output, and debugcon's. */
  output: (bytes: Uint8Array) => void;
  input?: KeySource;
  /** The screen, when something shows it: called between slices with the visible cells and the cursor. */
  display?: (cells: Uint8Array, cursor: { row: number; column: number } | undefined) => void;
  /** IDE disks: [master, slave]; the caller opens and closes them. */
  ide: ReadonlyArray<BlockBackend | undefined>;
  memoryMap: readonly MemMapEntry[];
  /** The page the hypercalls write their replies into (the boot protocol's). */
  scratch: number;
  noHostAddresses?: boolean;
  debugExit?: boolean;
}

export class PcBoard implements Board {
  readonly serial: Serial;
  readonly i8042: I8042;
  readonly vga = new Vga();
  readonly ide: IdeChannel;
  readonly hypercalls: Hypercalls;
  readonly pacing = WATCHED; // to draw the screen and see a guest halted for good
  readonly keys: KeySink;
  private readonly window: Uint8Array;
  private readonly cells = new Uint8Array(SCREEN_BYTES);
  private readonly byte = new Uint8Array(1);

  constructor(private readonly core: VmCore, private readonly w: PcWiring) {
    const { memory, reports } = core;
    const reset = () => core.stop.request({ status: ExitStatus.Ok, message: "guest reset the machine", dumpState: false });
    this.window = memory.slice(TEXT_WINDOW, TEXT_WINDOW_SIZE, "VGA text window");
    const serial = new Serial((b) => { this.byte[0] = b; w.output(this.byte); },
      (level) => core.irqLine(COM1_IRQ, level), () => w.input?.pull(this.keys));
    this.serial = serial;
    this.i8042 = new I8042(reset, (level) => core.irqLine(KBD_IRQ, level));
    const keyboard = this.i8042.keyboard!;
    this.keys = w.console === "vga" ? keyboard : { get space() { return serial.rxSpace; }, push: (b) => serial.receive(b) };
    this.ide = new IdeChannel(w.ide, (level) => core.irqLine(IDE_IRQ, level), reports.of("IDE"));
    this.hypercalls = coreHypercalls(core, w.scratch, w.output, !w.noHostAddresses);

    const ports = core.ports;
    ports.insert(I8042_PORT, 5, "i8042", this.i8042);
    ports.insert(CMOS_PORT, 2, "cmos", new Cmos(undefined, cmosMemoryFields(memory.regions)));
    ports.insert(SYSTEM_CONTROL_A_PORT, 1, "system control A", new SystemControlA(reset));
    ports.insert(IDE_PORT, 8, "ide", this.ide);
    ports.insert(IDE_CONTROL_PORT, 1, "ide control", this.ide.controlPort);
    ports.insert(VGA_PORT_BASE, VGA_PORT_COUNT, "vga", this.vga);
    ports.insert(COM1_PORT, 8, "serial", serial);
    ports.insert(PCI_CONFIG_PORT, 8, "pci config", new PciHostNoDevices(reset));
    ports.insert(PM1A_EVT_PORT, 4, "acpi pm1a event", new AcpiPm1Event());
    ports.insert(PM1A_CNT_PORT, 2, "acpi pm1a control", new AcpiPm1Control(() => {
      core.stop.request({ status: ExitStatus.Ok, message: "guest powered off (ACPI S5)", dumpState: false });
    }));
    ports.insert(HYPERCALL_PORT, HYPERCALL_PORTS, "hypercall", this.hypercalls);
    if (w.debugExit) {
      ports.insert(DEBUG_EXIT_PORT, 1, "debug exit", new DebugExit((status, value) =>
        core.stop.request({ status, message: `guest wrote 0x${value.toString(16)} to the debug-exit port: status ${status}`, dumpState: false })));
    }
    const quiet = new Quiet();
    for (const q of QUIET_PORTS) ports.insert(q.base, q.length, "quiet", quiet);
    core.coalescePortWrites(HYPERCALL_PORT + HC_DEBUGCON, 1);
  }

  /** The 80×25 cells the screen shows now (character, attribute pairs). */
  screen(): Uint8Array {
    return visibleCells(this.window, this.vga.startAddress, this.cells);
  }

  /**
   * Between slices: the screen is drawn, and a guest halted with interrupts off ends the VM (no
   * interrupt can wake it: `cli; hlt` is how kernels written for a PC stop).
   */
  poll(): VmStop | undefined {
    this.w.display?.(this.screen(), this.vga.cursor);
    return this.core.haltedForGood();
  }

  finish(): void {
    this.w.display?.(this.screen(), this.vga.cursor);
  }

  stats(): StatsPart {
    const serial = { ...this.serial.counts };
    const ide = { ...this.ide.stats };
    const keyboard = { keys: this.i8042.keyboard!.keys };
    return {
      json: { serial, ide, keyboard, hypercalls: { ...this.hypercalls.calls } },
      lines: [
        `  serial: ${serial.transmitted} bytes sent, ${serial.received} received, ${serial.overruns} overruns`,
        `  ide: ${ide.commands} commands, ${ide.sectorsRead} sectors read, ${ide.sectorsWritten} written, ${ide.flushes} flushes, ${ide.errors} errors`,
        `  keyboard: ${keyboard.keys} keys typed`,
      ],
    };
  }
}
