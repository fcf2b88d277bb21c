// The plain machine: the plain boot protocol (ELF or raw, in a CPU mode) on the course board.
import { PlainBoot, type PlainGuest } from "../boot/plain";
import { CourseBoard, type CourseWiring } from "../boards/course";
import { Machine, type MachineBasics } from "../machine";

export interface PlainOptions extends MachineBasics, Omit<CourseWiring, "memoryMap" | "scratch"> {
  guest: PlainGuest;
}

export type PlainMachine = Machine & { readonly board: CourseBoard; readonly boot: PlainBoot };

export function createPlainMachine(o: PlainOptions): PlainMachine {
  return Machine.build({ ...o, irqchip: false },
    (memory) => PlainBoot.place(o.guest, memory),
    (core, boot) => new CourseBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch }));
}
