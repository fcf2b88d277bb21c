// The plain boot protocol: an ELF or raw image placed in RAM, the vCPU in one of microvmm's CPU
// modes (real, protected, paged, long), and the VMM's boot area (GDT, scratch page, page
// tables, stack) in the highest free place the mode reaches. The boot area is reserved in the
// memory map the guest is told.
import { CPU_MODES, initialRegs, initialSregs, planBootArea, writeBootStructures, type BootArea, type CpuMode } from "../arch/cpu-modes";
import { LOW_4G, REAL_MODE_LIMIT } from "../arch/layout";
import { buildMemoryMap, type MemMapEntry } from "../arch/memmap";
import { aboutFile, BadInputError } from "../errors";
import type { GuestFile } from "../guest-file";
import type { Vcpu } from "../kvm/kvm";
import { loadElf } from "../loaders/elf";
import { occupied, type LoadedImage } from "../loaders/image";
import { loadRaw } from "../loaders/raw";
import { hex } from "../binary/hex";
import type { GuestMemory } from "../memory/guest-memory";
import type { Boot, StatsPart } from "../machine";

/** How to run a plain guest: its file, and for a raw binary where it goes and its mode. */
export interface PlainGuest {
  file: GuestFile;
  /** Set for a raw binary (any of --mode/--load/--entry given); ELF otherwise. */
  raw?: { mode: CpuMode; load: number; entry: number };
  /** For an ELF: a mode other than the class's default (paged for an ELFCLASS32 guest). */
  mode?: CpuMode;
}

/** A range of guest RAM the machine keeps for something of its own, named for messages. */
export interface Reserved { start: number; end: number; what: string }

export class PlainBoot implements Boot {
  readonly memoryMap: MemMapEntry[];

  private constructor(readonly image: LoadedImage, readonly mode: CpuMode, readonly area: BootArea, memory: GuestMemory, reserved: readonly Reserved[]) {
    this.memoryMap = buildMemoryMap(memory.regions, [{ start: area.base, end: area.base + area.size }, ...reserved]);
  }

  /**
   * Validates and loads the guest and writes the boot area; any problem is a BadInputError naming
   * the file. `reserved`: ranges the machine fills after (the image may not overlap them, the boot
   * area avoids them, the memory map reserves them).
   */
  static place(guest: PlainGuest, memory: GuestMemory, reserved: readonly Reserved[] = []): PlainBoot {
    const { image, mode } = aboutFile(guest.file.name, () => {
      const placed = load(guest, memory);
      // 32-bit modes reach 4 GiB: an image above it could never run.
      const top = Math.max(...placed.image.segments.map((s) => s.gpa + s.memSize));
      if ((placed.mode === "protected" || placed.mode === "paged") && top > LOW_4G) {
        throw new BadInputError(`the image ends at ${hex(top)}, out of reach of ${placed.mode} mode (below 4 GiB): load it lower`);
      }
      if (placed.mode === "real" && placed.image.entry >= REAL_MODE_LIMIT) {
        throw new BadInputError(`entry ${hex(placed.image.entry)} is out of reach of real mode (below 0x100000)`);
      }
      for (const r of reserved) {
        const s = occupied(placed.image).find((g) => g.start < r.end && r.start < g.end);
        if (s !== undefined) throw new BadInputError(`the image (${hex(s.start)}-${hex(s.end)}) overlaps ${r.what} at ${hex(r.start)}-${hex(r.end)}: load it elsewhere`);
      }
      return placed;
    });
    const area = planBootArea(mode, memory, [...occupied(image), ...reserved]);
    writeBootStructures(mode, memory, area);
    return new PlainBoot(image, mode, area, memory, reserved);
  }

  /** The mode's registers, with RIP at the entry and RSP at the boot stack. */
  setupVcpu(vcpu: Vcpu): void {
    vcpu.setSregs(initialSregs(this.mode, vcpu.getSregs(), this.area, this.image.entry));
    vcpu.setRegs(initialRegs(this.mode, this.area, this.image.entry));
  }

  stats(): StatsPart {
    const a = this.area;
    const bootArea = {
      mode: this.mode, base: hex(a.base), size: a.size, gdt: hex(a.gdt), scratch: hex(a.scratch),
      pageTables: hex(a.pageTables), pageTablePages: a.pageTablePages, stackTop: hex(a.stackTop),
    };
    return {
      json: { bootArea },
      lines: [`  boot area (${this.mode} mode): ${bootArea.base}+${a.size >> 10}K: GDT ${bootArea.gdt}, scratch ${bootArea.scratch}, ` +
        `${a.pageTablePages} page-table pages at ${bootArea.pageTables}, stack top ${bootArea.stackTop}`],
    };
  }
}

function load(guest: PlainGuest, memory: GuestMemory): { image: LoadedImage; mode: CpuMode } {
  const f = guest.file;
  if (guest.raw !== undefined) return { image: loadRaw(f.bytes, memory, guest.raw.load, guest.raw.entry), mode: guest.raw.mode };
  if (f.kind !== "elf") throw new BadInputError(`not an ELF file; to run a raw binary give --mode ${CPU_MODES.join("|")}`);
  const allowed: readonly CpuMode[] = f.elf.elfClass === 64 ? ["long"] : ["protected", "paged"];
  const mode = guest.mode ?? allowed[0]!;
  if (!allowed.includes(mode)) throw new BadInputError(`an ELFCLASS${f.elf.elfClass} guest runs in ${allowed.join(" or ")} mode, not ${mode}`);
  return { image: loadElf(f.elf, memory), mode };
}
