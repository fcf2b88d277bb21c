// The plain machine: the plain boot protocol (ELF or raw, in a CPU mode) on the course board; and
// a multiboot kernel on the same board.
import { MultibootBoot } from "../boot/multiboot";
import { PlainBoot, type PlainGuest } from "../boot/plain";
import type { GuestFile } from "../guest-file";
import type { MultibootHeader } from "../loaders/multiboot";
import { CourseBoard, type CourseWiring } from "../boards/course";
import { Machine, type MachineBasics } from "../machine";

export interface PlainOptions extends MachineBasics, Omit<CourseWiring, "memoryMap" | "scratch"> {
  guest: PlainGuest;
}

export type PlainMachine = Machine & { readonly board: CourseBoard; readonly boot: PlainBoot | MultibootBoot };

export function createPlainMachine(o: PlainOptions): PlainMachine {
  return Machine.build({ ...o, irqchip: false },
    (memory) => PlainBoot.place(o.guest, memory),
    (core, boot) => new CourseBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch }));
}

/** A multiboot kernel on the course board (until the PC board): debugcon, console, hypercalls, disk. */
export function createMultibootMachine(o: MultibootOptions): PlainMachine {
  return Machine.build({ ...o, irqchip: false },
    (memory) => MultibootBoot.place(o.kernel, o.header, memory, o.cmdline),
    (core, boot) => new CourseBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch })) as PlainMachine;
}

export interface MultibootOptions extends MachineBasics, Omit<CourseWiring, "memoryMap" | "scratch"> {
  kernel: GuestFile;
  header: MultibootHeader;
  cmdline: string;
}
