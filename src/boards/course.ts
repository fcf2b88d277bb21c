// The course board: the devices plain guests use, each at its port. Only this file knows these
// port numbers (guest/include/microvmm.h and paravirt.h give them to guests).
//   0x10-0x11 null hypercalls   0x42 console     0x44-0x45 keyboard   0x46-0x47 timer
//   0xE9-0xEF hypercalls        0xF0 disk        0xF1-0xF2 memory map
// and at VIRTIO_MMIO_BASE a virtio-rng on the virtio-mmio transport, for guests that drive virtio
// themselves. With one vCPU there is no interrupt controller: such a guest polls the used ring;
// with several it raises IOAPIC pin COURSE_VIRTIO_GSI.
import type { MemMapEntry } from "../arch/memmap";
import type { VmCore } from "../core/vm";
import type { VmStop } from "../core/stop";
import { Console } from "../devices/console";
import { HC_DEBUGCON, HYPERCALL_PORTS, Hypercalls } from "../devices/hypercall";
import { DebugExit } from "../devices/debug-exit";
import { Keyboard } from "../devices/keyboard";
import { MemMapDevice } from "../devices/memmap";
import { NullHypercall } from "../devices/null-hypercall";
import { PvBlock, type BlockBackend } from "../devices/pv-block";
import { Timer, type Clock } from "../devices/timer";
import type { KeySource } from "../host/input";
import type { Board, StatsPart } from "../machine";
import { POLLED, WATCHED, type Pacing } from "../vcpu/runner";
import { VIRTIO_MMIO_BASE } from "../arch/layout";
import { VIRTIO_MMIO_SIZE, VirtioMmio } from "../virtio/mmio";
import { VirtioRng } from "../virtio/rng";

export const NULL_HYPERCALL_PORT = 0x10; // 0x10, 0x11: out does nothing (a round trip to the VMM)
export const CONSOLE_PORT = 0x42; // write: a character
export const KEYBOARD_PORT = 0x44; // 0x44 read: key; 0x45 read: status, write 0: ack
export const TIMER_PORT = 0x46; // 0x46 write: period (ms); 0x47: bit 0 enable, bit 1 fired
export const HYPERCALL_PORT = 0xe9; // 0xE9-0xEF: see devices/hypercall.ts
export const DISK_DOORBELL_PORT = 0xf0; // write: guest-physical address of a disk request
export const MEMMAP_PORT = 0xf1; // 0xF1 write: buffer; 0xF2 write: capacity, read: entry count
export const DEBUG_EXIT_PORT = 0xf4; // with --debug-exit, QEMU's isa-debug-exit: write v, exit (v << 1) | 1
export const COURSE_VIRTIO_GSI = 16;

export interface CourseWiring {
  /** Receives console and debugcon output. */
  output: (bytes: Uint8Array) => void;
  clock: Clock;
  /** Host keys; the keyboard pulls from it when the guest looks. */
  input?: KeySource;
  /** Disk drives, 0, 1, … in order; the caller opens and closes them. */
  drives: readonly BlockBackend[];
  /** The guest's memory map, and the page the hypercalls write their replies into (the boot protocol's). */
  memoryMap: readonly MemMapEntry[];
  scratch: number;
  /** Hypercall 0xEF gives the guest-physical address instead of the host's (--no-host-addresses). */
  noHostAddresses?: boolean;
  /** QEMU's isa-debug-exit at port 0xF4 (--debug-exit). */
  debugExit?: boolean;
}

/** The hypercalls (0xE9-0xEF) wired to a VM core: its exit counts, the calling vCPU's translation, its reports. */
export function coreHypercalls(core: VmCore, scratch: number, write: (bytes: Uint8Array) => void, hostAddresses: boolean): Hypercalls {
  const { memory, stats, reports } = core;
  return new Hypercalls(memory, scratch, {
    write,
    warn: reports.of("hypercall"),
    exitCount: () => stats.total,
    ioCounts: () => ({ in: stats.ioIn, out: stats.ioOut }),
    translate: (gva) => {
      const t = core.exitingVcpu.translate(BigInt(gva));
      return t.valid ? t.physicalAddress : undefined;
    },
  }, hostAddresses);
}

export class CourseBoard implements Board {
  readonly console: Console;
  readonly keyboard: Keyboard;
  readonly timer: Timer;
  readonly hypercalls: Hypercalls;
  readonly disk: PvBlock;
  readonly memmap: MemMapDevice;
  readonly rng: VirtioRng;
  readonly virtio: VirtioMmio;
  readonly nullHypercall = new NullHypercall();
  /**
   * One vCPU: HLT exits (it ends the guest), the host polls for input. Several (the in-kernel
   * irqchip): HLT waits in KVM, so input kicks and the board looks for a boot vCPU halted for good.
   */
  readonly pacing: Pacing;
  readonly poll?: () => VmStop | undefined;

  /** Puts the devices on the core's port bus. The core must have its boot vCPU (hypercalls translate through it). */
  constructor(core: VmCore, w: CourseWiring) {
    const { memory, reports } = core;
    this.pacing = core.irqchip ? WATCHED : POLLED;
    if (core.irqchip) this.poll = () => core.haltedForGood();
    this.console = new Console(w.output);
    this.keyboard = new Keyboard(w.input);
    this.timer = new Timer(w.clock);
    this.hypercalls = coreHypercalls(core, w.scratch, w.output, !w.noHostAddresses);
    this.disk = new PvBlock(memory, w.drives, reports.of("disk"));
    this.memmap = new MemMapDevice(memory, w.memoryMap, reports.of("memory map"));
    this.rng = new VirtioRng(memory);
    this.virtio = new VirtioMmio(memory, this.rng, core.irqchip ? (level) => core.irqLine(COURSE_VIRTIO_GSI, level) : () => {}, reports.of("virtio rng"));
    core.mmio.insert(VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, "virtio rng", this.virtio);
    const ports = core.ports;
    ports.insert(NULL_HYPERCALL_PORT, 2, "null hypercall", this.nullHypercall);
    ports.insert(CONSOLE_PORT, 1, "console", this.console);
    ports.insert(KEYBOARD_PORT, 2, "keyboard", this.keyboard);
    ports.insert(TIMER_PORT, 2, "timer", this.timer);
    ports.insert(HYPERCALL_PORT, HYPERCALL_PORTS, "hypercall", this.hypercalls);
    ports.insert(DISK_DOORBELL_PORT, 1, "disk", this.disk);
    ports.insert(MEMMAP_PORT, 2, "memmap", this.memmap);
    if (w.debugExit) {
      ports.insert(DEBUG_EXIT_PORT, 1, "debug exit", new DebugExit((status, value) =>
        core.stop.request({ status, message: `guest wrote 0x${value.toString(16)} to the debug-exit port: status ${status}`, dumpState: false })));
    }
    // The console and debugcon are write-only and the guest sees no effect of a write: their
    // bytes can wait in KVM's ring (many per exit) instead of leaving the guest one by one.
    core.coalescePortWrites(CONSOLE_PORT, 1);
    core.coalescePortWrites(HYPERCALL_PORT + HC_DEBUGCON, 1);
  }

  get keys() {
    return this.keyboard;
  }

  /** Prints what the console holds, flushes disks, settles the timer's counts. */
  finish(): void {
    this.console.flush();
    this.disk.flushAll();
    this.timer.update();
  }

  stats(): StatsPart {
    const json = {
      hypercalls: { ...this.hypercalls.calls },
      disk: { ...this.disk.stats },
      memoryMapCalls: this.memmap.calls,
      timer: { fired: this.timer.firedCount, lost: this.timer.lostCount },
      keyboard: { delivered: this.keyboard.delivered },
      console: { dropped: this.console.dropped },
      virtioRng: { ...this.virtio.stats, ...this.rng.stats },
    };
    const lines: string[] = [];
    const calls = Object.entries(json.hypercalls).filter(([, n]) => n > 0);
    if (calls.length > 0) lines.push("  hypercalls:", ...calls.map(([k, n]) => `    ${k}: ${n}`));
    const d = json.disk;
    if (d.requests > 0 || d.errors > 0) {
      lines.push(`  disk: ${d.requests} requests, ${d.bytesRead} bytes read, ${d.bytesWritten} written, ${d.flushes} flushes, ${d.errors} errors`);
    }
    if (json.memoryMapCalls > 0) lines.push(`  memory map: asked ${json.memoryMapCalls} times`);
    lines.push(`  timer: ${json.timer.fired} fired, ${json.timer.lost} lost`);
    lines.push(`  keyboard: ${json.keyboard.delivered} keys delivered`);
    if (json.console.dropped > 0) lines.push(`  console: ${json.console.dropped} unprintable bytes dropped`);
    const v = json.virtioRng;
    if (v.notifications > 0) lines.push(`  virtio rng: ${v.notifications} notifications, ${v.interrupts} interrupts, ${v.errors} errors, ${v.requests} requests, ${v.bytes} bytes`);
    return { json, lines };
  }
}
