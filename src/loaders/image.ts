// What a loader reports: where the image went and where it starts. Boot setup reads this.
import type { Range } from "../arch/layout";

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
