// The plain machine: the plain boot protocol (ELF or raw, in a CPU mode) on the course board.
// Built in KVM API order: the guest is placed and checked before KVM is touched (a bad image is
// one BadInputError and no VM), then the VM with its memory, the vCPU, the board, the registers.
import { ramLayout } from "../arch/layout";
import { PlainBoot, type PlainGuest } from "../boot/plain";
import { CourseBoard, type CourseWiring } from "../boards/course";
import { VmCore } from "../core/vm";
import { GuestMemory } from "../memory/guest-memory";
import { Machine } from "../machine";
import type { MissReporter } from "../vcpu/bus";

export interface PlainOptions extends Omit<CourseWiring, "memoryMap" | "scratch"> {
  memorySize: number;
  kvmPath: string;
  guest: PlainGuest;
  reportMiss: MissReporter;
  trace?: (line: string) => void;
}

export type PlainMachine = Machine & { readonly board: CourseBoard; readonly boot: PlainBoot };

export function createPlainMachine(o: PlainOptions): PlainMachine {
  const memory = GuestMemory.anonymous(ramLayout(o.memorySize));
  let boot: PlainBoot;
  try {
    boot = PlainBoot.place(o.guest, memory);
  } catch (e) {
    memory.unmap();
    throw e;
  }
  const core = VmCore.create({ kvmPath: o.kvmPath, memory, irqchip: false, reportMiss: o.reportMiss, trace: o.trace });
  try {
    boot.setupVcpu(core.addVcpu());
    const board = new CourseBoard(core, { ...o, memoryMap: boot.memoryMap, scratch: boot.area.scratch });
    return new Machine(core, board, boot) as PlainMachine;
  } catch (e) {
    core.close();
    throw e;
  }
}
