// The Linux machine: the Linux boot protocols (bzImage, PVH, 64-bit vmlinux) on the Linux board.
// Kernel, initrd, ACPI tables and boot information are placed and checked before KVM is touched;
// then the VM with its memory and in-kernel irqchip and PIT, the vCPU, the board, the registers.
import { writeAcpiTables } from "../arch/acpi";
import { LEGACY_HOLE_END, ramLayout } from "../arch/layout";
import { LinuxBoot, type LinuxBootOptions } from "../boot/linux";
import { LINUX_ACPI, LinuxBoard, type LinuxWiring } from "../boards/linux";
import { VmCore } from "../core/vm";
import { BadInputError } from "../errors";
import { GuestMemory } from "../memory/guest-memory";
import { Machine } from "../machine";
import type { MissReporter } from "../vcpu/bus";

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
export const DEFAULT_CMDLINE = "console=ttyS0 reboot=k panic=1 pci=off nomodules 8250.nr_uarts=1 " +
  "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd no_timer_check";

export interface LinuxOptions extends LinuxWiring, Omit<LinuxBootOptions, "rsdp"> {
  memorySize: number;
  kvmPath: string;
  reportMiss: MissReporter;
  trace?: (line: string) => void;
}

export type LinuxMachine = Machine & { readonly board: LinuxBoard; readonly boot: LinuxBoot };

export function createLinuxMachine(o: LinuxOptions): LinuxMachine {
  const memory = GuestMemory.anonymous(ramLayout(o.memorySize));
  let boot: LinuxBoot;
  try {
    if (!memory.contains(0, LEGACY_HOLE_END)) {
      throw new BadInputError("Linux needs guest RAM beyond 1 MiB (boot pages, ACPI tables, the kernel) — raise --memory");
    }
    const rsdp = writeAcpiTables(memory, LINUX_ACPI);
    boot = LinuxBoot.place(memory, { ...o, rsdp });
  } catch (e) {
    memory.unmap();
    throw e;
  }
  const core = VmCore.create({ kvmPath: o.kvmPath, memory, irqchip: true, reportMiss: o.reportMiss, trace: o.trace });
  try {
    boot.setupVcpu(core.addVcpu());
    return new Machine(core, new LinuxBoard(core, o), boot) as LinuxMachine;
  } catch (e) {
    core.close();
    throw e;
  }
}
