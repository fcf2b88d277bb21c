// The plain machine: the plain boot protocol (ELF or raw, in a CPU mode) on the course board.
import { PlainBoot, type PlainGuest } from "../boot/plain";
import { CourseBoard, type CourseWiring } from "../boards/course";
import { Machine } from "../machine";

export interface PlainOptions extends Omit<CourseWiring, "memoryMap" | "scratch"> {
  memorySize: number;
  kvmPath: string;
  guest: PlainGuest;
  warn: (line: string) => void;
  reportMmioMisses: boolean;
  trace?: (line: string) => void;
}

export type PlainMachine = Machine & { readonly board: CourseBoard; readonly boot: PlainBoot };

export function createPlainMachine(o: PlainOptions): PlainMachine {
  return Machine.build({ ...o, irqchip: false },
    (memory) => PlainBoot.place(o.guest, memory),
    (core, boot) => new CourseBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch }));
}
