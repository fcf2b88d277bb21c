// What a loader reports: where the image went and where it starts. Boot setup reads this.
import { MMIO_HOLE_END, MMIO_HOLE_START, type Range } from "../arch/layout";
import { hex } from "../binary/hex";
import type { GuestMemory } from "../memory/guest-memory";

export interface LoadedSegment {
  gpa: number;
  /** Bytes copied from the file. */
  fileSize: number;
  /** Bytes occupied in RAM (fileSize plus zeroed bss). */
  memSize: number;
}

export interface LoadedImage {
  format: "raw" | "elf32" | "elf64";
  /** Guest-physical address of the first instruction. */
  entry: number;
  segments: LoadedSegment[];
}

export function occupied(image: LoadedImage): Range[] {
  return image.segments.filter((s) => s.memSize > 0).map((s) => ({ start: s.gpa, end: s.gpa + s.memSize }));
}

export { hex } from "../binary/hex";

/**
 * Why [gpa, gpa + size) is not RAM, for a loader's message: the PC's MMIO hole (where RAM is
 * missing, however much there is), or beyond the end of RAM (then more would help).
 */
export function whyNotRam(memory: GuestMemory, gpa: number, size: number): string {
  if (gpa < MMIO_HOLE_END && MMIO_HOLE_START < gpa + size && memory.end > MMIO_HOLE_START) {
    return `lies in the 3-4 GiB MMIO hole, which has no RAM (RAM is ${memory.regions.map((r) => `${hex(r.gpa)}-${hex(r.gpa + r.size)}`).join(" and ")})`;
  }
  return `is outside guest RAM (ends at ${hex(memory.end)}) — raise --memory`;
}
