// Raw binary loader: the file's bytes at one guest-physical address, nothing else.
import { BadInputError } from "../errors";
import type { GuestMemory } from "../memory/guest-memory";
import { hex, whyNotRam, type LoadedImage } from "./image";

export function loadRaw(image: Uint8Array, memory: GuestMemory, loadAddr: number, entry: number): LoadedImage {
  if (image.length === 0) throw new BadInputError("raw image is empty");
  if (image.length > memory.size) {
    throw new BadInputError(`image is ${image.length} bytes but guest RAM is ${memory.size} — raise --memory`);
  }
  if (!memory.contains(loadAddr, image.length)) {
    const why = whyNotRam(memory, loadAddr, image.length);
    throw new BadInputError(`image (${image.length} bytes) at ${hex(loadAddr)} ${why}${why.endsWith("--memory") ? " or change --load" : ""}`);
  }
  if (entry < loadAddr || entry >= loadAddr + image.length) {
    throw new BadInputError(`entry ${hex(entry)} is outside the image (${hex(loadAddr)}-${hex(loadAddr + image.length)})`);
  }
  memory.write(loadAddr, image, "raw image");
  return { format: "raw", entry, segments: [{ gpa: loadAddr, fileSize: image.length, memSize: image.length }] };
}
