// The plain machine: the plain boot protocol (ELF or raw, in a CPU mode) on the course board.
// With several vCPUs it also has KVM's in-kernel PIC, IOAPIC and local APICs (the guest starts
// its APs by INIT and SIPI through its local APIC) but no PIT (port 0x42 is the console), and an
// MP table in the BIOS area, where an SMP kernel looks for its processors.
import { LEGACY_HOLE_END } from "../arch/layout";
import { mpTableRange, writeMpTable } from "../arch/mptable";
import { PlainBoot, type PlainGuest } from "../boot/plain";
import { CourseBoard, type CourseWiring } from "../boards/course";
import { BadInputError } from "../errors";
import { Machine, type MachineBasics } from "../machine";

export interface PlainOptions extends MachineBasics, Omit<CourseWiring, "memoryMap" | "scratch"> {
  guest: PlainGuest;
}

export type PlainMachine = Machine & { readonly board: CourseBoard; readonly boot: PlainBoot };

export function createPlainMachine(o: PlainOptions): PlainMachine {
  const vcpus = o.cpus ?? 1;
  const smp = vcpus > 1;
  return Machine.build({ ...o, irqchip: smp, pit: false }, (memory) => {
    if (!smp) return PlainBoot.place(o.guest, memory);
    if (!memory.contains(0, LEGACY_HOLE_END)) throw new BadInputError(`--cpus ${vcpus} needs guest RAM beyond 1 MiB (the MP table goes at 0xf0000) — raise --memory`);
    const boot = PlainBoot.place(o.guest, memory, [{ ...mpTableRange({ vcpus }), what: "the MP table" }]);
    writeMpTable(memory, { vcpus });
    return boot;
  }, (core, boot) => new CourseBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch }));
}
