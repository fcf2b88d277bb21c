// A VM that boots Linux: a bzImage (64-bit boot protocol) or an ELF vmlinux (PVH when it has the
// note, else the 64-bit protocol) with an optional initrd, the in-kernel
// PIC/IOAPIC/LAPIC and PIT, a 16550A on COM1 (IRQ 4) for the console, an i8042 for reset, and
// quiet answers to the legacy ports a kernel probes.
import { PM1A_CNT_PORT, PM1A_EVT_PORT, writeAcpiTables } from "./arch/acpi";
import { bootFpu, bootMsrs } from "./arch/boot-cpu";
import { applyCpuidPolicy } from "./arch/cpuid";
import { ramLayout } from "./arch/layout";
import { linuxRegs, linuxSregs, writeLinuxBootTables } from "./arch/linux-boot";
import { pvhRegs, pvhSregs, writeStartInfo } from "./arch/pvh";
import { buildMemoryMap, type MemMapEntry } from "./arch/memmap";
import { LEGACY_HOLE_END, LEGACY_HOLE_START, placeInitrd, writeZeroPage } from "./arch/zero-page";
import { AcpiPm1Control, AcpiPm1Event } from "./devices/acpi-pm";
import { Cmos } from "./devices/cmos";
import { I8042 } from "./devices/i8042";
import { QUIET_PORTS, Quiet } from "./devices/quiet";
import { Serial } from "./devices/serial";
import { aboutFile, BadInputError, ExitStatus, HostError } from "./errors";
import { KVM_PIT_SPEAKER_DUMMY } from "./kvm/bindings";
import { CpuidTable, type Kvm, type Vcpu, type Vm } from "./kvm/kvm";
import { loadBzImage, parseBzImage, syntheticSetupHeader, type BzImage } from "./loaders/bzimage";
import { isElf, loadElf, parseElf } from "./loaders/elf";
import { createVm } from "./machine";
import { GuestMemory } from "./memory/guest-memory";
import { MmioBus, PortBus, type MissReporter } from "./vcpu/bus";
import { formatRegisters } from "./vcpu/dump";
import { makeExitContext, type ExitContext, type VmStop } from "./vcpu/exits";
import { KICKED, runVcpu, type HostHooks } from "./vcpu/runner";
import { ExitStats } from "./vcpu/stats";

export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;
export const CMOS_PORT = 0x70;
export const I8042_PORT = 0x60; // 0x60 data … 0x64 command (0x61 belongs to the in-kernel PIT)
/** KVM on Intel needs this page for its identity map (beside the TSS createVm places); never RAM. */
const IDENTITY_MAP_ADDR = 0xfffb_c000;

/**
 * The default command line, each option there for a reason:
 *   console=ttyS0      the kernel's console is our 16550A
 *   reboot=k           reboot through the i8042's reset pulse, which ends the VM
 *   panic=1            on panic, reboot (so end the VM) after 1 s instead of hanging
 *   pci=off            there is no PCI bus: skip probing it
 *   nomodules          everything the machine needs is built in
 *   8250.nr_uarts=1    one UART: do not probe COM2-4
 *   i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd   a bare controller: no mouse, no mux,
 *                      no PnP lookup, no keyboard commands to wait on
 *   no_timer_check     skip the IOAPIC timer check, unreliable under virtualization
 */
/** How the kernel starts a panic message (kernel/panic.c). */
export const KERNEL_PANIC = "Kernel panic - not syncing";
const latin1 = new TextDecoder("latin1");

export const DEFAULT_CMDLINE = "console=ttyS0 reboot=k panic=1 pci=off nomodules 8250.nr_uarts=1 " +
  "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd no_timer_check";

export interface LinuxOptions {
  memorySize: number;
  kvmPath: string;
  kernel: { name: string; bytes: Uint8Array };
  initrd?: { name: string; bytes: Uint8Array };
  cmdline: string;
  /** The serial console's output. */
  output: (bytes: Uint8Array) => void;
  /** The guest read the console's receive FIFO empty: more input may go in. */
  consoleDrained: () => void;
  reportMiss: MissReporter;
  trace?: (line: string) => void;
}

export class LinuxMachine {
  readonly stats = new ExitStats();
  readonly ports: PortBus;
  readonly mmio: MmioBus;
  readonly serial: Serial;
  readonly memoryMap: MemMapEntry[];
  private readonly exitContext: ExitContext;

  /**
   * With panic=1 a panicking kernel reboots like `reboot -f` does; only its console tells the two
   * apart. The last line the kernel printed before, if it was a panic, makes the reset a failure.
   */
  private panicLine: string | undefined;
  private readonly consoleLine = new Uint8Array(512);
  private consoleLength = 0;
  private readonly byte = new Uint8Array(1);

  private constructor(readonly memory: GuestMemory, private readonly kvm: Kvm, private readonly vm: Vm, readonly vcpu: Vcpu,
    memoryMap: MemMapEntry[], readonly boot: string, opts: LinuxOptions) {
    this.memoryMap = memoryMap;
    this.ports = new PortBus(opts.reportMiss);
    this.mmio = new MmioBus(opts.reportMiss);
    this.serial = new Serial((b) => {
      this.byte[0] = b;
      opts.output(this.byte);
      this.watchConsole(b);
    }, (level) => vm.irqLine(COM1_IRQ, level), opts.consoleDrained);
    this.ports.insert(COM1_PORT, 8, "serial", this.serial);
    this.ports.insert(I8042_PORT, 5, "i8042", new I8042(() => { this.exitContext.deviceStop = this.resetStop(); }));
    this.ports.insert(CMOS_PORT, 2, "cmos", new Cmos());
    this.ports.insert(PM1A_EVT_PORT, 4, "acpi pm1a event", new AcpiPm1Event());
    this.ports.insert(PM1A_CNT_PORT, 2, "acpi pm1a control", new AcpiPm1Control(() => {
      this.exitContext.deviceStop = { status: ExitStatus.Ok, message: "guest powered off (ACPI S5)", dumpState: false };
    }));
    const quiet = new Quiet();
    for (const q of QUIET_PORTS) this.ports.insert(q.base, q.length, "quiet", quiet);
    this.exitContext = makeExitContext(vcpu.run, this.ports, this.mmio, this.stats, opts.trace);
  }

  static create(opts: LinuxOptions): LinuxMachine {
    const memory = GuestMemory.anonymous(ramLayout(opts.memorySize));
    const cleanups: Array<() => void> = [() => memory.unmap()];
    try {
      // 1. Kernel, initrd, boot information and tables, checked before KVM is touched.
      const kernel = aboutFile(opts.kernel.name, () => loadKernel(opts.kernel.bytes, memory));
      const initrd = opts.initrd === undefined ? undefined : aboutFile(opts.initrd.name, () => {
        const size = opts.initrd!.bytes.length;
        if (size > memory.size) throw new BadInputError(`initrd is ${size} bytes but guest RAM is ${memory.size} — raise --memory`);
        const gpa = placeInitrd(size, memory, kernel.bz.initrdAddrMax, kernel.end);
        memory.write(gpa, opts.initrd!.bytes, "initrd");
        return { gpa, size };
      });
      const memoryMap = buildMemoryMap(memory.regions, [{ start: LEGACY_HOLE_START, end: LEGACY_HOLE_END }]);
      const rsdp = writeAcpiTables(memory);
      if (kernel.boot === "pvh") {
        writeStartInfo(memory, opts.cmdline, initrd, memoryMap, rsdp);
      } else {
        writeZeroPage(memory, kernel.bz, opts.cmdline, initrd, memoryMap, rsdp);
        writeLinuxBootTables(memory);
      }

      // 2. The VM: memory, then the in-kernel interrupt controllers and timer.
      const { kvm, vm } = createVm(opts.kvmPath, memory, cleanups);
      vm.setIdentityMapAddr(IDENTITY_MAP_ADDR);
      vm.createIrqchip();
      vm.createPit2(KVM_PIT_SPEAKER_DUMMY);

      // 3. The vCPU at the kernel's entry, with CPUID, MSRs and FPU as firmware would leave them.
      const vcpu = vm.createVcpu(0);
      vcpu.setCpuid2(CpuidTable.fromEntries(applyCpuidPolicy(kvm.getSupportedCpuid().entries(), vcpu.id)));
      if (kernel.boot === "pvh") {
        vcpu.setSregs(pvhSregs(vcpu.getSregs()));
        vcpu.setRegs(pvhRegs(kernel.entry));
      } else {
        vcpu.setSregs(linuxSregs(vcpu.getSregs()));
        vcpu.setRegs(linuxRegs(kernel.entry));
      }
      const msrs = bootMsrs();
      const set = vcpu.setMsrs(msrs);
      if (set !== msrs.length) throw new HostError(`KVM refused MSR 0x${msrs[set]!.index.toString(16)} at boot — is this an x86-64 KVM?`);
      vcpu.setFpu(bootFpu(vcpu.getFpu()));
      const boot = kernel.boot === "pvh" ? `PVH, entry 0x${kernel.entry.toString(16)}` : `64-bit boot protocol, entry 0x${kernel.entry.toString(16)}`;
      return new LinuxMachine(memory, kvm, vm, vcpu, memoryMap, boot, opts);
    } catch (e) {
      for (const c of cleanups) c();
      throw e;
    }
  }

  /**
   * Runs until the guest resets (reboot, panic=1), powers off or fails, or the host stops it.
   * The thread sleeps in KVM_RUN while the guest idles (up to a second at a time): host input
   * must kick it out (an InputWatcher).
   */
  async run(host: HostHooks): Promise<VmStop> {
    return runVcpu(this.vcpu, this.exitContext, host, KICKED);
  }

  /** A reset after the console showed a kernel panic is the panic's; otherwise a reboot. */
  private resetStop(): VmStop {
    if (this.panicLine !== undefined) return { status: ExitStatus.GuestFailed, message: `guest kernel panicked: ${this.panicLine}`, dumpState: false };
    return { status: ExitStatus.Ok, message: "guest reset (i8042)", dumpState: false };
  }

  /** Collects console bytes into a line (no allocation per byte); looks at each whole line once. */
  private watchConsole(b: number): void {
    if (b !== 0x0a) {
      if (b !== 0x0d && this.consoleLength < this.consoleLine.length) this.consoleLine[this.consoleLength++] = b;
      return;
    }
    if (this.panicLine === undefined) {
      const line = latin1.decode(this.consoleLine.subarray(0, this.consoleLength));
      const i = line.indexOf(KERNEL_PANIC);
      if (i >= 0) this.panicLine = line.slice(i);
    }
    this.consoleLength = 0;
  }

  registerDump(): string[] {
    return formatRegisters(this.vcpu.getRegs(), this.vcpu.getSregs());
  }

  close(): void {
    this.vm.close();
    this.kvm.close();
    this.memory.unmap();
  }
}

interface LoadedKernel {
  /** "pvh": 32-bit entry with hvm_start_info; "64bit": the 64-bit boot protocol with a zero page. */
  boot: "pvh" | "64bit";
  entry: number;
  /** One past the kernel's last byte in RAM (the initrd goes above). */
  end: number;
  /** The setup header for the zero page: the bzImage's own, or a synthetic one for an ELF. */
  bz: BzImage;
}

/**
 * A bzImage boots through the 64-bit protocol; an ELF vmlinux through PVH when it has the
 * PHYS32_ENTRY note, else through the 64-bit protocol at its (physical) e_entry.
 */
function loadKernel(bytes: Uint8Array, memory: GuestMemory): LoadedKernel {
  if (isElf(bytes)) {
    const elf = parseElf(bytes);
    if (elf.elfClass !== 64) throw new BadInputError("a vmlinux must be ELFCLASS64");
    const image = loadElf(elf, memory);
    const end = Math.max(...image.segments.map((s) => s.gpa + s.memSize));
    const bz = syntheticSetupHeader();
    if (elf.pvhEntry !== undefined) return { boot: "pvh", entry: elf.pvhEntry, end, bz };
    return { boot: "64bit", entry: image.entry, end, bz };
  }
  const bz = parseBzImage(bytes);
  const image = loadBzImage(bz, memory);
  return { boot: "64bit", entry: image.entry, end: image.segments[0]!.gpa + image.segments[0]!.memSize, bz };
}
