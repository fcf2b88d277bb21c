// microvmm as a library: boot a guest from a Bun program or a `bun test`, attach devices written
// in TypeScript, run it to the end and read what it printed, how it ended and its counters. The
// machine is the command line's: the same boards, boot protocols and checks; nothing here
// touches the terminal, stdin or the process's signals.
import type { CpuMode } from "./arch/cpu-modes";
import { DEFAULT_MEMORY_SIZE } from "./arch/layout";
import { parseSize } from "./cli";
import { type VmStop } from "./core/stop";
import { BadInputError, ExitStatus } from "./errors";
import { classify, readGuestFile, readUserFile } from "./guest-file";
import { DiskImage } from "./host/disk-image";
import type { KeySink, KeySource } from "./host/input";
import type { Machine, StatsReport } from "./machine";
import { createMachine, planGuest } from "./machines";
import type { GuestMemory } from "./memory/guest-memory";
import type { MmioDevice, PortDevice } from "./vcpu/bus";

export { BadInputError, ExitStatus, HostError, UserError } from "./errors";
export { GuestMemoryError } from "./memory/guest-memory";
export type { GuestMemory, MmioDevice, PortDevice, StatsReport };

/** How to build a VM. Only `guest` is required. */
export interface VmConfig {
  /**
   * The guest: a file's path, or the image's bytes. An ELF runs in protected mode (ELFCLASS32)
   * or long mode (ELFCLASS64); a bzImage or an ELF vmlinux with a PVH note boots as Linux; any
   * other image is a raw binary and needs `mode`.
   */
  guest: string | Uint8Array;
  /** Guest RAM: bytes, or a size such as "64M" or "2G". Default 128 MiB. */
  memory?: number | string;
  /** CPU mode at entry for a raw binary ("real", "protected", "paged", "long"), or "paged" for an ELFCLASS32 guest. */
  mode?: CpuMode;
  /** Raw binary: guest-physical load address (default 0) and first instruction (default: the load address). */
  load?: number;
  entry?: number;
  /** Plain guests: disk images for the paravirtual disk, drive 0 first. */
  disks?: Array<string | { path: string; readOnly?: boolean }>;
  /** Linux: the initrd (a path or bytes). Linux or multiboot: the kernel command line (replacing the default). */
  initrd?: string | Uint8Array;
  cmdline?: string;
  /** What the guest reads from its keyboard (or Linux's serial console), in order, as it asks. */
  input?: string | Uint8Array;
  /** Called with each piece of guest output as it comes (the result collects it too). */
  onOutput?: (bytes: Uint8Array) => void;
  /** Called with each problem the guest causes that does not stop it (a bad hypercall pointer, an unclaimed port). */
  onWarning?: (message: string) => void;
  /** The VM is stopped after this many milliseconds; the result's status is then ExitStatus.TimedOut. */
  timeoutMs?: number;
  /** The KVM device (default /dev/kvm). */
  kvmPath?: string;
}

/** How a run ended. */
export interface RunResult {
  /** As the command line's exit status: ExitStatus.Ok (the guest halted, powered off or reset), GuestFailed, TimedOut. */
  status: number;
  /** Why the VM stopped: "guest halted", "guest triple-faulted (…)", "timed out after 5000 ms", … */
  message: string;
  /** Everything the guest printed, as text (UTF-8). */
  output: string;
  /** The --stats=json counters: exits by reason, port I/O, devices, memory. */
  stats: StatsReport;
  /** The vCPU's registers, one per line, when the guest failed. */
  registers?: string[];
}

/** A VM built and ready to run. Close it when done (run() does not). */
export class VirtualMachine {
  private readonly chunks: Uint8Array[] = [];
  private readonly drives: DiskImage[];
  private readonly machine: Machine;
  private readonly input: BufferedKeys | undefined;
  private running = false;
  private closed = false;

  private constructor(private readonly config: VmConfig) {
    // A number is bytes; either way the command line's checks apply (range, 4 KiB multiple).
    const memorySize = config.memory === undefined ? DEFAULT_MEMORY_SIZE : parseSize(typeof config.memory === "number" ? `${config.memory}B` : config.memory);
    const file = typeof config.guest === "string" ? readGuestFile(config.guest, "guest") : classify("guest image", config.guest);
    const plan = planGuest(file, config);
    const warn = config.onWarning ?? (() => {});
    this.input = config.input === undefined ? undefined : new BufferedKeys(config.input);
    this.drives = (config.disks ?? []).map((d) => DiskImage.open(typeof d === "string" ? { path: d, readOnly: false } : { path: d.path, readOnly: d.readOnly ?? false }));
    try {
      this.machine = createMachine(plan, {
        memorySize,
        kvmPath: config.kvmPath ?? "/dev/kvm",
        output: (bytes) => {
          this.chunks.push(bytes.slice());
          config.onOutput?.(bytes);
        },
        input: this.input,
        warn,
        reportMmioMisses: true,
        drives: this.drives,
        ioWorker: () => new Worker(new URL("./virtio/io-worker.ts", import.meta.url)),
        initrd: config.initrd === undefined ? undefined
          : typeof config.initrd === "string" ? { name: config.initrd, bytes: readUserFile(config.initrd, "initrd", memorySize) } : { name: "initrd", bytes: config.initrd },
        cmdline: config.cmdline,
      });
    } catch (e) {
      for (const d of this.drives) d.close();
      throw e;
    }
  }

  /**
   * Builds a VM: reads and checks the guest, makes the KVM VM, its memory and vCPU and the board's
   * devices. A bad image throws BadInputError; a host that cannot run it (no KVM) HostError.
   */
  static create(config: VmConfig): VirtualMachine {
    return new VirtualMachine(config);
  }

  /** Guest RAM, for devices that read or write it (every access is checked against RAM). */
  get memory(): GuestMemory {
    return this.machine.memory;
  }

  /**
   * Puts a device on ports [base, base + length): the guest's `in` and `out` there call its
   * `read(offset, size)` and `write(offset, size, value)` with the offset into the range. Throws
   * if the range overlaps a device already there.
   */
  addPortDevice(base: number, length: number, device: PortDevice, name = "custom device"): void {
    this.machine.core.ports.insert(base, length, name, device);
  }

  /** Puts a device on guest-physical [base, base + length), outside RAM: the guest's loads and stores there call it. */
  addMmioDevice(base: number, length: number, device: MmioDevice, name = "custom device"): void {
    if (this.machine.memory.regions.some((r) => base < r.gpa + r.size && r.gpa < base + length)) {
      throw new BadInputError(`MMIO device ${name} at 0x${base.toString(16)} overlaps guest RAM`);
    }
    this.machine.core.mmio.insert(base, length, name, device);
  }

  /** Ends the run after the guest's current exit (for a device: "the test is over"). */
  stop(status: number = ExitStatus.Ok, message = "stopped by a device"): void {
    this.machine.core.stop.request({ status, message, dumpState: false });
  }

  /** Runs the guest until it halts, fails, is stopped or times out. */
  async run(): Promise<RunResult> {
    if (this.running || this.closed) throw new Error(this.closed ? "the VM is closed" : "the VM has run already");
    this.running = true;
    const start = performance.now();
    const limit = this.config.timeoutMs;
    const keys = this.machine.board.keys;
    const stop: VmStop = await this.machine.run({
      poll: () => this.input?.pull(keys),
      stopRequested: () => limit !== undefined && performance.now() - start >= limit
        ? { status: ExitStatus.TimedOut, message: `timed out after ${limit} ms`, dumpState: false } : undefined,
    });
    const output = new TextDecoder().decode(Buffer.concat(this.chunks));
    return {
      status: stop.status, message: stop.message, output, stats: this.machine.stats(),
      registers: stop.dumpState ? this.machine.registerDump() : undefined,
    };
  }

  /** Releases the VM, its memory and disks (flushed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.machine.close();
    for (const d of this.drives) d.close();
  }
}

/** Builds a VM, attaches `devices` (port ranges), runs it and closes it. */
export async function runGuest(config: VmConfig, devices: Array<{ port: number; length: number; device: PortDevice; name?: string }> = []): Promise<RunResult> {
  const vm = VirtualMachine.create(config);
  try {
    for (const d of devices) vm.addPortDevice(d.port, d.length, d.device, d.name);
    return await vm.run();
  } finally {
    vm.close();
  }
}

/** Keys given up front, handed to the guest as it reads them. */
class BufferedKeys implements KeySource {
  private readonly bytes: Uint8Array;
  private at = 0;

  constructor(input: string | Uint8Array) {
    this.bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  }

  pull(sink: KeySink): void {
    while (this.at < this.bytes.length && sink.space > 0) sink.push(this.bytes[this.at++]!);
  }
}
