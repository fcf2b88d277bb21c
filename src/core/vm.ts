// The VM core every machine kind composes: guest RAM, the KVM VM and its vCPUs, the port and MMIO
// buses, the exit counters, and how the VM stops. It is built in KVM API order (create() makes
// the VM, gives it memory and, if asked, the in-kernel interrupt controllers; addVcpu() then
// makes each vCPU with our CPUID) and knows nothing of boards or boot protocols: a board puts
// devices on the buses, a boot protocol sets the boot vCPU's registers.
import { applyCpuidPolicy, type ApicPolicy } from "../arch/cpuid";
import { IDENTITY_MAP_ADDR, TSS_ADDR } from "../arch/layout";
import { KVM_PIT_SPEAKER_DUMMY } from "../kvm/bindings";
import { KVM_CAP_COALESCED_MMIO, KVM_CAP_COALESCED_PIO, KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS, KVM_CAP_SET_TSS_ADDR,
  KVM_MP_STATE_HALTED, KVM_MP_STATE_UNINITIALIZED, KVM_CAP_IOEVENTFD, KVM_CAP_IRQFD, KVM_CAP_TSC_DEADLINE_TIMER } from "../kvm/ioctls";
import { Kvm, type CpuidTable, type Vcpu, type Vm } from "../kvm/kvm";

/** What a device thread needs of the VM: its notifications and interrupts as eventfds. */
export type EventFdVm = Pick<Vm, "ioeventfd" | "irqfd">;
import type { GuestMemory } from "../memory/guest-memory";
import { MmioBus, PortBus, type MissReporter } from "../vcpu/bus";
import { formatRegisters } from "../vcpu/dump";
import { makeExitContext, type ExitContext } from "../vcpu/exits";
import { POLLED, runSlice, runVcpu, type HostHooks, type Pacing, type SliceAlarm, type SliceOptions } from "../vcpu/runner";
import { ApThreads } from "../vcpu/ap-threads";
import { CoalescedRing } from "../vcpu/coalesced";
import { ExitStats } from "../vcpu/stats";
import { BadInputError, ExitStatus } from "../errors";
import { GuestReports } from "./reports";
import { StopRequest, type VmStop } from "./stop";

/** The coalesced ring is one page: the VM's, seen through each vCPU's mapping at the same offset. */
const RING_PAGE = 4096;
const HOLE_PAGE = 0x1000;
const RFLAGS_IF = 1n << 9n;
/** Exiting writes to a port range before its coalesced ring is turned on. */
export const COALESCE_AFTER = 256;

export interface VmCoreOptions {
  kvmPath: string;
  /** Guest RAM, already holding the image: from here on the core owns it (close() unmaps it). */
  memory: GuestMemory;
  /** KVM's in-kernel PIC, IOAPIC and local APICs (KVM_CREATE_IRQCHIP) and PIT (KVM_CREATE_PIT2). */
  irqchip: boolean;
  /** With `irqchip`: false leaves out the PIT (its ports 0x40-0x43 and 0x61 stay the board's). Default true. */
  pit?: boolean;
  /** Where the guest's problem reports are printed (rate-limited by GuestReports). */
  warn: (line: string) => void;
  /** Print unclaimed MMIO accesses too (unclaimed ports always are): the command line does with --trace or --stats. */
  reportMmioMisses: boolean;
  /** One line per VM exit (--trace); undefined when not tracing. */
  trace?: (line: string) => void;
  /** Let writes to ports a board marks coalescable wait in KVM's ring (default); false: every write exits (--no-coalesce). */
  coalesce?: boolean;
  /** vCPUs the machine will add (default 1): the boot vCPU, then APs that wait for the guest's INIT and SIPI (irqchip only); checked against the host's limit when the VM is made. */
  cpus?: number;
  /** Creates a Worker running vcpu/ap-worker.ts (the entry module's job, so bundling finds it): needed to run more than one vCPU. */
  apWorker?: () => Worker;
}

export class VmCore {
  readonly stats = new ExitStats();
  readonly ports: PortBus;
  readonly mmio: MmioBus;
  /** Devices that end the VM (reset, power-off) ask here. */
  readonly stop = new StopRequest();
  /** Problems the guest causes that do not stop it: every report goes through here. */
  readonly reports: GuestReports;
  readonly vcpus: Vcpu[] = [];
  private readonly exitContexts: ExitContext[] = [];
  private readonly coalesce: boolean;
  /** KVM_GET_SUPPORTED_CPUID, asked once per VM. */
  private supportedCpuid: CpuidTable | undefined;
  private apicPolicy: ApicPolicy | undefined;
  /** The coalesced-write ring's page in each vCPU mapping, once a port range is coalesced. */
  private ringPage: number | undefined;
  /** Port ranges to coalesce once busy, and those registered with KVM. */
  private readonly waiting: Array<{ base: number; length: number; writes: number }> = [];
  private readonly zones: Array<{ base: number; length: number }> = [];
  /** Memory slots beyond one per RAM region, while setMemoryHoles has cut some out. */
  private readonly holeSlots: number[] = [];

  private readonly apWorker: (() => Worker) | undefined;

  private constructor(readonly memory: GuestMemory, private readonly kvm: Kvm, private readonly vm: Vm,
    readonly irqchip: boolean, private readonly trace: ((line: string) => void) | undefined, o: VmCoreOptions) {
    this.coalesce = o.coalesce ?? true;
    this.apWorker = o.apWorker;
    const reports = new GuestReports(o.warn);
    this.reports = reports;
    // Each unclaimed port and address is reported the first time only (the buses count the rest).
    const reportMiss: MissReporter = (bus, addr, size, write) => {
      if (bus === "mmio" && !o.reportMmioMisses) return;
      reports.report(`unclaimed ${bus === "port" ? "port" : "MMIO"}`, `unclaimed ${bus === "port" ? "port" : "MMIO address"} ` +
        `0x${addr.toString(16)} (${write ? "write" : "read"}, size ${size}): reads return all-ones, writes are ignored (reported once)`);
    };
    this.ports = new PortBus(reportMiss);
    this.mmio = new MmioBus(reportMiss);
  }

  /** Opens KVM and makes the VM with its memory (and interrupt controllers). On failure nothing is left open, RAM included. */
  static create(o: VmCoreOptions): VmCore {
    let kvm: Kvm | undefined;
    let vm: Vm | undefined;
    try {
      kvm = Kvm.open(o.kvmPath);
      // The API's rule: KVM_CAP_MAX_VCPUS, or where it is absent KVM_CAP_NR_VCPUS, or else 4.
      const max = kvm.checkExtension(KVM_CAP_MAX_VCPUS) || kvm.checkExtension(KVM_CAP_NR_VCPUS) || 4;
      if ((o.cpus ?? 1) > max) throw new BadInputError(`--cpus ${o.cpus}: this host's KVM runs at most ${max} vCPUs in a VM`);
      if ((o.cpus ?? 1) > 1 && !o.irqchip) throw new Error("several vCPUs need the in-kernel irqchip (their INIT and SIPI)");
      vm = kvm.createVm();
      // Intel needs these for real mode and its identity map; both sit in the MMIO hole.
      if (kvm.checkExtension(KVM_CAP_SET_TSS_ADDR) > 0) vm.setTssAddr(TSS_ADDR);
      o.memory.regions.forEach((r, slot) => vm!.setUserMemoryRegion({
        slot, flags: 0, guestPhysAddr: r.gpa, memorySize: r.size, userspaceAddr: r.hostAddr,
      }));
      if (o.irqchip) {
        vm.setIdentityMapAddr(IDENTITY_MAP_ADDR);
        vm.createIrqchip();
        if (o.pit ?? true) vm.createPit2(KVM_PIT_SPEAKER_DUMMY);
      }
      return new VmCore(o.memory, kvm, vm, o.irqchip, o.trace, o);
    } catch (e) {
      vm?.close();
      kvm?.close();
      o.memory.unmap();
      throw e;
    }
  }

  /** Makes the next vCPU (ids 0, 1, …) with the CPUID KVM supports under our policy. Its registers are the boot protocol's to set. */
  addVcpu(): Vcpu {
    const vcpu = this.vm.createVcpu(this.vcpus.length);
    this.supportedCpuid ??= this.kvm.getSupportedCpuid();
    this.apicPolicy ??= { inKernel: this.irqchip, tscDeadline: this.irqchip && this.kvm.checkExtension(KVM_CAP_TSC_DEADLINE_TIMER) > 0 };
    vcpu.setCpuid2(applyCpuidPolicy(this.supportedCpuid, vcpu.id, this.apicPolicy));
    this.vcpus.push(vcpu);
    const ctx = makeExitContext(vcpu.run, this.ports, this.mmio, this.stats, this.stop, this.trace);
    ctx.vcpuId = vcpu.id;
    this.exitContexts.push(ctx);
    if (this.zones.length > 0) ctx.ring = this.ringFor(vcpu);
    if (this.waiting.length > 0) this.watchWrites();
    return vcpu;
  }

  /**
   * Lets guest writes to ports [base, base + length) wait in KVM's coalesced ring instead of each
   * exiting (KVM_CAP_COALESCED_PIO): only for write-only ports whose writes the guest cannot see
   * the effect of (a console). The ring is turned on for the range once the guest has written
   * COALESCE_AFTER times there through ordinary exits: a VM with coalesced zones costs KVM a
   * grace period (milliseconds) to tear down, which a guest that prints little would only lose.
   * Returns false, changing nothing, where KVM cannot.
   */
  coalescePortWrites(base: number, length: number): boolean {
    if (!this.coalesce) return false;
    if (this.ringPage === undefined) {
      const page = this.kvm.checkExtension(KVM_CAP_COALESCED_MMIO);
      if (page <= 0 || this.kvm.checkExtension(KVM_CAP_COALESCED_PIO) <= 0) return false;
      if ((page + 1) * RING_PAGE > this.kvm.getVcpuMmapSize()) return false;
      this.ringPage = page;
    }
    this.waiting.push({ base, length, writes: 0 });
    this.watchWrites();
    return true;
  }

  /** Counts exiting writes to the ranges that wait for the ring; turns the ring on for a range at COALESCE_AFTER. */
  private watchWrites(): void {
    let watched: Uint8Array | undefined;
    if (this.waiting.length > 0) {
      watched = new Uint8Array(0x10000);
      for (const w of this.waiting) watched.fill(1, w.base, w.base + w.length);
    }
    const onWatchedWrite = (port: number) => {
      const z = this.waiting.find((w) => port >= w.base && port < w.base + w.length);
      if (z === undefined || ++z.writes < COALESCE_AFTER) return;
      this.vm.registerCoalescedMmio(z.base, z.length, true);
      this.zones.push(z);
      this.waiting.splice(this.waiting.indexOf(z), 1);
      this.vcpus.forEach((v, i) => { this.exitContexts[i]!.ring ??= this.ringFor(v); });
      this.watchWrites();
    };
    for (const ctx of this.exitContexts) {
      ctx.watchedPorts = watched;
      ctx.onWatchedWrite = onWatchedWrite;
    }
  }

  private ringFor(vcpu: Vcpu): CoalescedRing {
    const at = this.ringPage! * RING_PAGE;
    return new CoalescedRing(vcpu.run.subarray(at, at + RING_PAGE), this.ports, this.stats, this.trace);
  }

  /** The vCPU whose exit is being handled: a device's caller (the boot vCPU before any exit). */
  get exitingVcpu(): Vcpu {
    return this.vcpus[this.stats.handling] ?? this.vcpu;
  }

  /** The boot vCPU. */
  get vcpu(): Vcpu {
    const v = this.vcpus[0];
    if (v === undefined) throw new Error("the VM has no vCPU yet");
    return v;
  }

  /**
   * With the in-kernel irqchip, HLT waits in KVM for an interrupt; a boot vCPU halted there with
   * interrupts off (`cli; hlt`, how PC kernels stop) never wakes: a board polling between slices
   * ends the VM with status 0. (An NMI or INIT could still wake it; nothing here sends either.)
   */
  haltedForGood(): VmStop | undefined {
    const vcpu = this.vcpu;
    if (vcpu.getMpState() === KVM_MP_STATE_HALTED && (vcpu.getRegs().rflags & RFLAGS_IF) === 0n) {
      return { status: ExitStatus.Ok, message: "guest halted with interrupts off", dumpState: false };
    }
    return undefined;
  }

  /**
   * The VM for a device thread (virtio/io-thread.ts): KVM_IOEVENTFD and KVM_IRQFD, or undefined
   * where KVM lacks them or there is no in-kernel irqchip for an irqfd to raise.
   */
  eventFds(): EventFdVm | undefined {
    if (!this.irqchip || this.kvm.checkExtension(KVM_CAP_IOEVENTFD) <= 0 || this.kvm.checkExtension(KVM_CAP_IRQFD) <= 0) return undefined;
    return this.vm;
  }

  /** Sets an interrupt line of the in-kernel irqchip (KVM_IRQ_LINE), for a board's devices. */
  irqLine(irq: number, level: boolean): void {
    this.vm.irqLine(irq, level);
  }

  /**
   * Guest RAM without some 4 KiB pages: the memory slots are rebuilt around them, so every guest
   * access there exits as MMIO (a debugger's read and access watchpoints; the MMIO bus serves the
   * page from the same RAM). [] gives every page back. Only while the vCPU is stopped.
   */
  setMemoryHoles(pages: readonly number[]): void {
    const regions = this.memory.regions;
    const remove = (slot: number) => this.vm.setUserMemoryRegion({ slot, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0 });
    regions.forEach((_, slot) => remove(slot));
    for (const slot of this.holeSlots.splice(0)) remove(slot);
    let next = regions.length;
    regions.forEach((r, slot) => {
      let start = r.gpa;
      let id = slot;
      const cuts = pages.filter((p) => p >= r.gpa && p < r.gpa + r.size).sort((a, b) => a - b);
      for (const end of [...cuts, r.gpa + r.size]) {
        if (end > start) {
          this.vm.setUserMemoryRegion({ slot: id, flags: 0, guestPhysAddr: start, memorySize: end - start, userspaceAddr: r.hostAddr + (start - r.gpa) });
          if (id !== slot) this.holeSlots.push(id);
          id = next++;
        }
        start = end + HOLE_PAGE;
      }
    });
  }

  /**
   * Runs the VM until the guest stops or the host stops it: the boot vCPU on this thread in slices
   * as `pacing` says, each other vCPU on a thread of its own (ap-threads.ts), all ended together.
   */
  async run(host: HostHooks, pacing: Pacing = POLLED): Promise<VmStop> {
    const boot = this.exitContexts[0]!;
    if (this.vcpus.length === 1) return runVcpu(this.vcpu, boot, host, pacing);
    if (this.apWorker === undefined) throw new Error("several vCPUs but no way to start their threads");
    const aps = new ApThreads(this.vcpus.slice(1), this.exitContexts.slice(1), this.apWorker);
    boot.peers = aps;
    try {
      aps.start();
      return await runVcpu(this.vcpu, boot, host, pacing);
    } finally {
      aps.stop();
      boot.peers = undefined;
    }
  }

  /** Hands queued coalesced writes to their devices (the run loop does this itself; for the VM's end). */
  drainCoalesced(): void {
    for (const ctx of this.exitContexts) ctx.ring?.drain();
  }

  /** Runs the boot vCPU until `deadline` (performance.now() ms): why it stopped, or undefined. */
  slice(deadline: number, timer: SliceAlarm, options?: SliceOptions): VmStop | undefined {
    return runSlice(this.vcpu, this.exitContexts[0]!, deadline, timer, options);
  }

  /** Exits per vCPU, by vCPU id (the kinds are counted for all together in `stats`). */
  exitsByVcpu(): number[] {
    return this.exitContexts.map((c) => c.exits);
  }

  /** The boot vCPU's registers, one per line; says so when they are the reset state. */
  registerDump(): string[] {
    if (this.vcpus.length === 1) return vcpuDump(this.vcpu);
    // Several: each under its number; an AP the guest never started says so.
    return this.vcpus.flatMap((v) => v.getMpState() === KVM_MP_STATE_UNINITIALIZED
      ? [`vcpu ${v.id}: not started (waiting for INIT and SIPI)`] : [`vcpu ${v.id}:`, ...vcpuDump(v)]);
  }

  close(): void {
    // Unregistered first, a VM's zones cost KVM half the time at teardown (6 ms against 13 here).
    for (const z of this.zones.splice(0)) {
      try { this.vm.unregisterCoalescedMmio(z.base, z.length, true); } catch { /* closing regardless: only slower */ }
    }
    this.vm.close();
    this.kvm.close();
    this.memory.unmap();
  }
}

/** One vCPU's registers, one per line; says so when they are the reset state. */
function vcpuDump(vcpu: Vcpu): string[] {
  const regs = vcpu.getRegs();
  const sregs = vcpu.getSregs();
  const lines = formatRegisters(regs, sregs);
  if (sregs.cs.selector === 0xf000 && regs.rip === 0xfff0n) {
    lines.push("(this is the reset state: KVM on AMD re-initializes the vCPU on shutdown, so the faulting state is gone)");
  }
  return lines;
}
