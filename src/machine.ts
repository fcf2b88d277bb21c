// One VM: guest RAM, the loaded guest, a KVM VM with one vCPU, the buses and the core devices.
// create() reads top to bottom in KVM API order; run() hands over to the vCPU loop.
import { initialRegs, initialSregs, planBootArea, writeBootStructures, type BootArea, type CpuMode } from "./arch/cpu-modes";
import { applyCpuidPolicy } from "./arch/cpuid";
import { ramLayout } from "./arch/layout";
import { buildMemoryMap, type MemMapEntry } from "./arch/memmap";
import type { BlockBackend } from "./devices/pv-block";
import { attachCoreDevices, type CoreDevices } from "./board";
import type { Clock } from "./devices/timer";
import { loadGuest, type GuestSpec } from "./guest-image";
import { KVM_CAP_SET_TSS_ADDR } from "./kvm/ioctls";
import { CpuidTable, Kvm, type Vcpu, type Vm } from "./kvm/kvm";
import type { LoadedImage } from "./loaders/image";
import { occupied } from "./loaders/image";
import { GuestMemory } from "./memory/guest-memory";
import { MmioBus, PortBus, type MissReporter } from "./vcpu/bus";
import { formatRegisters } from "./vcpu/dump";
import { makeExitContext, type ExitContext, type VmStop } from "./vcpu/exits";
import { runSlice, runVcpu, type HostHooks, type SliceTimer } from "./vcpu/runner";
import { ExitStats } from "./vcpu/stats";

/** Three pages the Intel KVM needs for real-mode emulation; in the MMIO hole, never RAM. */
const TSS_ADDR = 0xfffb_d000;

/**
 * Opens KVM, makes a VM and gives it guest RAM (one memory slot per RAM range). Each step's undo
 * goes to the front of `cleanups`, for the caller to run if a later step fails.
 */
export function createVm(kvmPath: string, memory: GuestMemory, cleanups: Array<() => void>): { kvm: Kvm; vm: Vm } {
  const kvm = Kvm.open(kvmPath);
  cleanups.unshift(() => kvm.close());
  const vm = kvm.createVm();
  cleanups.unshift(() => vm.close());
  if (kvm.checkExtension(KVM_CAP_SET_TSS_ADDR) > 0) vm.setTssAddr(TSS_ADDR);
  memory.regions.forEach((r, slot) => vm.setUserMemoryRegion({
    slot, flags: 0, guestPhysAddr: r.gpa, memorySize: r.size, userspaceAddr: r.hostAddr,
  }));
  return { kvm, vm };
}

export interface MachineOptions {
  memorySize: number;
  kvmPath: string;
  guest: GuestSpec;
  output: (bytes: Uint8Array) => void;
  clock: Clock;
  refillKeyboard: () => void;
  reportMiss: MissReporter;
  /** Problems the guest caused that do not stop it (bad hypercall pointers): one line each. */
  warn: (message: string) => void;
  /** Disk drives, 0, 1, … in order; the caller opens and closes them. */
  drives: readonly BlockBackend[];
  trace?: (line: string) => void;
}

export class Machine {
  readonly stats = new ExitStats();
  readonly ports: PortBus;
  readonly mmio: MmioBus;
  readonly devices: CoreDevices;
  /** What the guest is told about its physical memory: RAM, with the boot area reserved. */
  readonly memoryMap: MemMapEntry[];
  private readonly exitContext: ExitContext;

  private constructor(
    readonly memory: GuestMemory,
    readonly image: LoadedImage,
    readonly mode: CpuMode,
    readonly bootArea: BootArea,
    private readonly kvm: Kvm,
    private readonly vm: Vm,
    readonly vcpu: Vcpu,
    opts: MachineOptions,
  ) {
    this.ports = new PortBus(opts.reportMiss);
    this.mmio = new MmioBus(opts.reportMiss);
    this.memoryMap = buildMemoryMap(memory.regions, [{ start: bootArea.base, end: bootArea.base + bootArea.size }]);
    this.devices = attachCoreDevices(this.ports, {
      ...opts,
      memory,
      memoryMap: this.memoryMap,
      scratch: bootArea.scratch,
      hypercallHost: {
        write: opts.output,
        warn: opts.warn,
        exitCount: () => this.stats.total,
        ioCounts: () => ({ in: this.stats.ioIn, out: this.stats.ioOut }),
        translate: (gva) => {
          const t = vcpu.translate(BigInt(gva));
          return t.valid ? t.physicalAddress : undefined;
        },
      },
    });
    this.exitContext = makeExitContext(vcpu.run, this.ports, this.mmio, this.stats, opts.trace);
  }

  /**
   * Builds the VM. The guest is loaded and checked before KVM is touched, so a bad image is
   * reported (BadInputError) with no VM started.
   */
  static create(opts: MachineOptions): Machine {
    const memory = GuestMemory.anonymous(ramLayout(opts.memorySize));
    const cleanups: Array<() => void> = [() => memory.unmap()];
    try {
      // 1. The guest image, and the VMM's boot structures beside it.
      const { image, mode } = loadGuest(opts.guest, memory);
      const area = planBootArea(mode, memory, occupied(image));
      writeBootStructures(mode, memory, area);

      // 2. The VM and its memory.
      const { kvm, vm } = createVm(opts.kvmPath, memory, cleanups);

      // 3. The vCPU: CPUID (what KVM supports, with our policy), then the mode's registers.
      const vcpu = vm.createVcpu(0);
      vcpu.setCpuid2(CpuidTable.fromEntries(applyCpuidPolicy(kvm.getSupportedCpuid().entries(), vcpu.id)));
      vcpu.setSregs(initialSregs(mode, vcpu.getSregs(), area, image.entry));
      vcpu.setRegs(initialRegs(mode, area, image.entry));
      return new Machine(memory, image, mode, area, kvm, vm, vcpu, opts);
    } catch (e) {
      for (const c of cleanups) c();
      throw e;
    }
  }

  /** Runs the vCPU until the guest stops or the host asks it to. */
  async run(host: HostHooks): Promise<VmStop> {
    const stop = await runVcpu(this.vcpu, this.exitContext, host);
    this.finish();
    return stop;
  }

  /** Runs the vCPU until `deadline` (performance.now() ms): why it stopped, or undefined. */
  slice(deadline: number, timer: SliceTimer): VmStop | undefined {
    return runSlice(this.vcpu, this.exitContext, deadline, timer);
  }

  /** When the VM has stopped: print what the console holds, flush disks, settle the timer. */
  finish(): void {
    this.devices.console.flush();
    this.devices.disk.flushAll();
    this.devices.timer.update();
  }

  registerDump(): string[] {
    const regs = this.vcpu.getRegs();
    const sregs = this.vcpu.getSregs();
    const lines = formatRegisters(regs, sregs);
    if (sregs.cs.selector === 0xf000 && regs.rip === 0xfff0n) {
      lines.push("(this is the reset state: KVM on AMD re-initializes the vCPU on shutdown, so the faulting state is gone)");
    }
    return lines;
  }

  close(): void {
    this.vm.close();
    this.kvm.close();
    this.memory.unmap();
  }
}
