// Turning the user's guest file into a loaded image: ELF or raw, with the CPU mode it starts in.
import { CPU_MODES, type CpuMode } from "./arch/cpu-modes";
import { aboutFile, BadInputError } from "./errors";
import { isElf, loadElf, parseElf } from "./loaders/elf";
import type { LoadedImage } from "./loaders/image";
import { loadRaw } from "./loaders/raw";
import type { GuestMemory } from "./memory/guest-memory";

export interface GuestSpec {
  bytes: Uint8Array;
  /** For messages: the file name. */
  name: string;
  /** Set for a raw binary (any of --mode/--load/--entry given); ELF otherwise. */
  raw?: { mode: CpuMode; load: number; entry: number };
  /** For an ELF: a mode other than the class's default (paged for an ELFCLASS32 guest). */
  mode?: CpuMode;
}

export interface PlacedGuest { image: LoadedImage; mode: CpuMode }

/** Validates and loads the guest; any problem is a BadInputError prefixed with the file name. */
export function loadGuest(spec: GuestSpec, memory: GuestMemory): PlacedGuest {
  return aboutFile(spec.name, () => {
    if (spec.raw !== undefined) {
      return { image: loadRaw(spec.bytes, memory, spec.raw.load, spec.raw.entry), mode: spec.raw.mode };
    }
    if (!isElf(spec.bytes)) {
      throw new BadInputError(`not an ELF file; to run a raw binary give --mode ${CPU_MODES.join("|")}`);
    }
    const elf = parseElf(spec.bytes);
    const allowed: readonly CpuMode[] = elf.elfClass === 64 ? ["long"] : ["protected", "paged"];
    const mode = spec.mode ?? allowed[0]!;
    if (!allowed.includes(mode)) {
      throw new BadInputError(`an ELFCLASS${elf.elfClass} guest runs in ${allowed.join(" or ")} mode, not ${mode}`);
    }
    return { image: loadElf(elf, memory), mode };
  });
}
