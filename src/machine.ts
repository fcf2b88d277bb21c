// A machine = the VM core + a board (which devices sit at which ports and addresses) + a boot
// protocol (how the image was placed and the CPU set up). The machine kinds in src/machines/
// pick one of each; this file holds what every kind shares: running, stopping, the register
// dump and the --stats report.
import { ramLayout } from "./arch/layout";
import type { MemMapEntry } from "./arch/memmap";
import { hex } from "./binary/hex";
import { VmCore, type VmCoreOptions } from "./core/vm";
import type { VmStop } from "./core/stop";
import type { KeySink } from "./host/input";
import type { Vcpu } from "./kvm/kvm";
import { GuestMemory } from "./memory/guest-memory";
import type { HostHooks, Pacing, SliceAlarm, SliceOptions } from "./vcpu/runner";

/** A report part: plain data for --stats=json, and the same as text lines for --stats. */
export interface StatsPart {
  json: Record<string, unknown>;
  lines: string[];
}

/** What a board gives the machine once its devices are on the buses. */
export interface Board {
  /** Where host keys go: the keyboard, or the console UART's receive FIFO. */
  readonly keys: KeySink;
  /** How often the host comes back from KVM_RUN (src/vcpu/runner.ts): POLLED, KICKED, or the board's own. */
  readonly pacing: Pacing;
  /** Device counters. */
  stats(): StatsPart;
  /** The VM is about to run (its vCPUs exist): start what watches the host for it. */
  start?(): void;
  /** Between slices, the board's look at the VM (draw a screen, notice a guest halted for good): why it should stop, or undefined. */
  poll?(): VmStop | undefined;
  /** The VM has stopped: print what is buffered, flush disks, settle timers. */
  finish(): void;
}

/** What a boot protocol did: for the guest's memory map and for --stats. */
export interface Boot {
  /** What the guest is told about its memory (e820 style). */
  readonly memoryMap: readonly MemMapEntry[];
  /** Sets the boot vCPU's registers (and MSRs, FPU) for the entry. */
  setupVcpu(vcpu: Vcpu): void;
  stats(): StatsPart;
}

export interface BuildOptions extends Omit<VmCoreOptions, "memory"> {
  memorySize: number;
  /** Guest RAM in transparent huge pages (GuestMemory.anonymous): for kernels that touch much of it. */
  hugePages?: boolean;
}

/** What every machine kind is built from; the kind adds its board's wiring and its boot input, and picks `irqchip` and `hugePages`. */
export type MachineBasics = Omit<BuildOptions, "irqchip" | "hugePages">;

export interface CoreStats {
  /** `byVcpu`: each vCPU's exits, by vCPU id. */
  exits: { total: number; byReason: Record<string, number>; byVcpu: number[] };
  portIo: Array<{ port: string; in: number; out: number }>;
  unclaimed: Array<{ bus: "port" | "mmio"; addr: string; reads: number; writes: number }>;
  memory: Array<{ guestPhysical: string; size: number; hostVirtual: string }>;
  kvmRun: { size: number; hostVirtual: string };
  /** KVM_RUN calls that returned EINTR: a kick for host input, or a signal (slice timer, SIGTERM…). */
  interrupted: { kicks: number; signals: number };
  /** Port writes that waited in KVM's coalesced ring instead of exiting (also counted as I/O exits above). */
  coalesced: number;
  /** Problems the guest caused, by kind (printed or only counted). */
  guestReports: Record<string, number>;
}
export type StatsReport = CoreStats & Record<string, unknown>;

/** Unclaimed addresses listed in the --stats text; the JSON has them all (the buses bound the count). */
const UNCLAIMED_LINES = 16;


export class Machine {
  private finished = false;
  private started = false;

  constructor(readonly core: VmCore, readonly board: Board, readonly boot: Boot) {}

  /**
   * Builds a machine in KVM API order. `place` loads the image and writes the boot structures
   * into fresh guest RAM before KVM is touched (a bad image is one BadInputError and no VM); then
   * the VM with its memory (and irqchip), the boot vCPU, its registers, the other vCPUs (left in
   * KVM's reset state: the in-kernel LAPIC holds an AP until the guest's INIT and SIPI), and
   * `attach`'s board. On any failure nothing is left open.
   */
  static build<P extends Boot, B extends Board>(o: BuildOptions, place: (memory: GuestMemory) => P,
    attach: (core: VmCore, boot: P) => B): Machine & { readonly board: B; readonly boot: P } {
    const memory = GuestMemory.anonymous(ramLayout(o.memorySize), o.hugePages ?? false);
    let boot: P;
    try {
      boot = place(memory);
    } catch (e) {
      memory.unmap();
      throw e;
    }
    const core = VmCore.create({ ...o, memory });
    try {
      boot.setupVcpu(core.addVcpu());
      for (let i = 1; i < (o.cpus ?? 1); i++) core.addVcpu();
      return new Machine(core, attach(core, boot), boot) as Machine & { readonly board: B; readonly boot: P };
    } catch (e) {
      core.close();
      throw e;
    }
  }

  get memory() { return this.core.memory; }
  get memoryMap(): readonly MemMapEntry[] { return this.boot.memoryMap; }

  /** Runs the VM alone until it stops or the host stops it; then finish(). */
  async run(host: HostHooks): Promise<VmStop> {
    const board = this.board;
    const hooks = board.poll === undefined ? host : {
      poll: () => host.poll(),
      stopRequested: () => host.stopRequested() ?? board.poll!(),
    };
    this.start();
    const stop = await this.core.run(hooks, board.pacing);
    this.finish();
    return stop;
  }

  /** One slice of a VM that shares the thread (src/sched) or runs under the debugger. */
  slice(deadline: number, timer: SliceAlarm, options?: SliceOptions): VmStop | undefined {
    this.start();
    return this.core.slice(deadline, timer, options) ?? this.board.poll?.();
  }

  /** Before the first slice: the board starts what works beside the vCPUs (its threads). */
  private start(): void {
    if (this.started) return;
    this.started = true;
    this.board.start?.();
  }

  /** The VM has stopped: what waits in the coalesced ring reaches its device, then the board finishes (once). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.core.drainCoalesced();
    this.board.finish();
  }

  registerDump(): string[] {
    return this.core.registerDump();
  }

  /** Finishes the board if the run did not (an error ended it), then closes the VM. */
  close(): void {
    try { this.finish(); } finally { this.core.close(); }
  }

  /** Everything --stats reports, collected once as plain data. */
  stats(): StatsReport {
    return { ...this.coreStats(), ...this.board.stats().json, ...this.boot.stats().json };
  }

  /** The --stats text: exits, port I/O, the board's devices, unclaimed accesses, where things are, the boot. */
  statsText(): string {
    const c = this.coreStats();
    const lines = ["microvmm stats:", `  exits: ${c.exits.total}`, ...Object.entries(c.exits.byReason).map(([r, n]) => `    ${r}: ${n}`)];
    if (c.exits.byVcpu.length > 1) lines.push(`  exits by vCPU: ${c.exits.byVcpu.map((n, id) => `${id}: ${n}`).join(", ")}`);
    lines.push("  port I/O exits:");
    for (const p of c.portIo) {
      if (p.in > 0) lines.push(`    ${p.port} in: ${p.in}`);
      if (p.out > 0) lines.push(`    ${p.port} out: ${p.out}`);
    }
    lines.push(...this.board.stats().lines);
    for (const u of c.unclaimed.slice(0, UNCLAIMED_LINES)) lines.push(`  unclaimed ${u.bus} ${u.addr}: ${u.reads} reads, ${u.writes} writes`);
    if (c.unclaimed.length > UNCLAIMED_LINES) lines.push(`  unclaimed: ${c.unclaimed.length - UNCLAIMED_LINES} more addresses (--stats=json lists them)`);
    const reported = Object.entries(c.guestReports);
    if (reported.length > 0) lines.push(`  guest problems reported: ${reported.map(([k, n]) => `${k} ${n}`).join(", ")}`);
    for (const m of c.memory) lines.push(`  guest RAM ${m.guestPhysical} (${Math.floor(m.size / 2 ** 20)} MiB) at host ${m.hostVirtual}`);
    lines.push(`  kvm_run: ${c.kvmRun.size} bytes at host ${c.kvmRun.hostVirtual}`);
    lines.push(`  KVM_RUN interrupted: ${c.interrupted.kicks} by input, ${c.interrupted.signals} by signals (slice timer and others)`);
    if (c.coalesced > 0) lines.push(`  coalesced: ${c.coalesced} of the port writes above waited in KVM's ring instead of exiting`);
    lines.push(...this.boot.stats().lines);
    return lines.join("\n") + "\n";
  }

  private coreStats(): CoreStats {
    const { stats: s, ports, mmio, memory, vcpu } = this.core;
    return {
      exits: { total: s.total, byReason: s.reasons(), byVcpu: this.core.exitsByVcpu() },
      portIo: [...s.ports.entries()].sort((a, b) => a[0] - b[0]).map(([p, c]) => ({ port: hex(p, 4), in: c.in, out: c.out })),
      unclaimed: [
        ...[...ports.misses.entries()].map(([a, c]) => ({ bus: "port" as const, addr: hex(a, 4), ...c })),
        ...[...mmio.misses.entries()].map(([a, c]) => ({ bus: "mmio" as const, addr: hex(a, 8), ...c })),
        ...(mmio.otherMisses.reads + mmio.otherMisses.writes > 0 ? [{ bus: "mmio" as const, addr: "other addresses", ...mmio.otherMisses }] : []),
      ],
      memory: memory.regions.map((r) => ({ guestPhysical: hex(r.gpa), size: r.size, hostVirtual: hex(r.hostAddr) })),
      kvmRun: { size: vcpu.runSize, hostVirtual: hex(vcpu.runAddr) },
      interrupted: { kicks: s.kicks, signals: s.signals },
      coalesced: s.coalesced,
      guestReports: Object.fromEntries(this.core.reports.counts),
    };
  }
}
