// The PC machine: a multiboot kernel on the PC board, with KVM's in-kernel irqchip and PIT, as
// `qemu -kernel` runs one. What a PC BIOS leaves in memory (the BIOS data area, a blank text
// screen, the MP and ACPI tables) is written after the kernel is placed and before KVM is touched.
import { RSDP_V1_SIZE, writeAcpiTables } from "../arch/acpi";
import { writeBiosData } from "../arch/bios-data";
import { writeMpTable } from "../arch/mptable";
import { LEGACY_HOLE_END } from "../arch/layout";
import { MultibootBoot, type MultibootModule } from "../boot/multiboot";
import { COM1_PORT, CRT_PORT, PC_ACPI, PcBoard, type PcWiring } from "../boards/pc";
import { BadInputError } from "../errors";
import type { GuestFile } from "../guest-file";
import type { MultibootHeader } from "../loaders/multiboot";
import { Machine, type MachineBasics } from "../machine";

export interface PcOptions extends MachineBasics, Omit<PcWiring, "memoryMap" | "scratch"> {
  kernel: GuestFile;
  header: MultibootHeader;
  cmdline: string;
  modules: readonly MultibootModule[];
}

export type PcMachine = Machine & { readonly board: PcBoard; readonly boot: MultibootBoot };

export function createPcMachine(o: PcOptions): PcMachine {
  return Machine.build({ ...o, irqchip: true, hugePages: true }, (memory) => {
    if (!memory.contains(0, LEGACY_HOLE_END)) throw new BadInputError("a PC needs guest RAM beyond 1 MiB (BIOS data, tables, the kernel) — raise --memory");
    // The tables go in the BIOS area, which the kernel may not overlap (MultibootBoot refuses it).
    const vcpus = o.cpus ?? 1;
    const rsdp = memory.slice(writeAcpiTables(memory, { ...PC_ACPI, vcpus }), RSDP_V1_SIZE).slice();
    writeMpTable(memory, { vcpus });
    writeBiosData(memory, { com1: COM1_PORT, crtPort: CRT_PORT });
    return MultibootBoot.place(o.kernel, o.header, memory, { cmdline: o.cmdline, modules: o.modules, rsdp });
  }, (core, boot) => new PcBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch }));
}
