// The multiboot boot protocol: the kernel placed by its header (or as an ELF), the boot
// information written beside it, and the CPU as the specification leaves it: 32-bit protected
// mode, flat segments, paging and interrupts off, EAX = the boot loader magic, EBX = the
// information's address. The PC's legacy hole (EBDA, VGA memory, BIOS) is reserved in the map.
import { initialRegs, initialSregs, planBootArea, writeBootStructures, type BootArea } from "../arch/cpu-modes";
import { BDA_END, EBDA_BASE, LEGACY_HOLE_END, LOW_4G, placeHighest } from "../arch/layout";
import { buildMemoryMap, type MemMapEntry } from "../arch/memmap";
import { basicMemory, multibootInfo1, multibootInfo2, type BootFacts } from "../arch/multiboot-info";
import { hex } from "../binary/hex";
import { aboutFile, BadInputError } from "../errors";
import type { GuestFile } from "../guest-file";
import type { Vcpu } from "../kvm/kvm";
import { occupied, type LoadedImage } from "../loaders/image";
import { loadMultiboot, MB1_BOOTLOADER_MAGIC, MB2_BOOTLOADER_MAGIC, type MultibootHeader } from "../loaders/multiboot";
import type { GuestMemory } from "../memory/guest-memory";
import type { Boot, StatsPart } from "../machine";

/** A module to load beside the kernel: its file and its command line. */
export interface MultibootModule { name: string; bytes: Uint8Array; cmdline: string }

/** What the loader passes besides the kernel. */
export interface MultibootInput {
  cmdline: string;
  modules: readonly MultibootModule[];
  /** The ACPI RSDP's bytes, for Multiboot2's copy of it. */
  rsdp: Uint8Array;
}

export class MultibootBoot implements Boot {
  private constructor(readonly header: MultibootHeader, readonly image: LoadedImage, readonly area: BootArea,
    readonly info: number, readonly memoryMap: readonly MemMapEntry[], readonly facts: BootFacts) {}

  static place(file: GuestFile, header: MultibootHeader, memory: GuestMemory, input: MultibootInput): MultibootBoot {
    const { cmdline, rsdp } = input;
    return aboutFile(file.name, () => {
      const image = loadMultiboot(header, file.bytes, memory);
      const top = Math.max(...image.segments.map((s) => s.gpa + s.memSize));
      if (top > LOW_4G || image.entry >= LOW_4G) throw new BadInputError(`the kernel ends at ${hex(top)}: a multiboot kernel starts in 32-bit mode, below 4 GiB`);
      // Conventional memory ends with the EBDA (the last KiB below 640 KiB), then VGA memory and the BIOS.
      const legacy = { start: EBDA_BASE, end: LEGACY_HOLE_END };
      for (const low of [{ start: 0, end: BDA_END, what: "the interrupt vector table and BIOS data area" }, { ...legacy, what: "the EBDA, VGA memory and BIOS area" }]) {
        const hit = image.segments.find((seg) => seg.gpa < low.end && low.start < seg.gpa + seg.memSize);
        if (hit !== undefined) {
          throw new BadInputError(`the kernel's segment at ${hex(hit.gpa)}-${hex(hit.gpa + hit.memSize)} overlaps ${low.what} (${hex(low.start)}-${hex(low.end)}): load it at 1 MiB or above`);
        }
      }
      const taken = [...occupied(image), legacy];
      // Modules go after the kernel, page-aligned, in order, as GRUB and QEMU put them.
      const modules: BootFacts["modules"][number][] = [];
      let next = Math.ceil(top / 0x1000) * 0x1000;
      for (const m of input.modules) {
        if (next + m.bytes.length > LOW_4G || !memory.contains(next, Math.max(1, m.bytes.length))) {
          throw new BadInputError(`module ${m.name} (${m.bytes.length} bytes) does not fit in guest RAM after the kernel at ${hex(next)} — raise --memory`);
        }
        memory.write(next, m.bytes, `module ${m.name}`);
        modules.push({ start: next, end: next + m.bytes.length, cmdline: m.cmdline });
        taken.push({ start: next, end: next + m.bytes.length });
        next = Math.ceil((next + m.bytes.length) / 0x1000) * 0x1000;
      }
      const area = planBootArea("protected", memory, taken);
      writeBootStructures("protected", memory, area);
      taken.push({ start: area.base, end: area.base + area.size });
      // The information's size depends only on the map's length and the strings: size it, place it, write it.
      const facts = (reserved: Array<{ start: number; end: number }>): BootFacts => {
        const memoryMap = buildMemoryMap(memory.regions, reserved);
        const base = image.segments.reduce((n, s) => Math.min(n, s.gpa), Infinity);
        return { cmdline, ...basicMemory(memoryMap), memoryMap, loadBase: base, modules, rsdp };
      };
      const sizing = facts([...taken, { start: 0, end: 0 }]);
      // (Room for the two map entries the information's own reservation can add.)
      const size = Math.ceil((encode(header.version, 0, sizing).length + 64) / 0x1000) * 0x1000;
      const info = placeHighest(memory.regions, taken, size, 0x1000, LOW_4G);
      if (info === undefined) throw new BadInputError("guest RAM too small for the multiboot information beside the kernel — raise --memory");
      const final = facts([legacy, { start: area.base, end: area.base + area.size }, { start: info, end: info + size }]);
      memory.write(info, encode(header.version, info, final), "multiboot information");
      return new MultibootBoot(header, image, area, info, final.memoryMap, final);
    });
  }

  /** 32-bit protected mode at the entry, EAX = the magic, EBX = the information. */
  setupVcpu(vcpu: Vcpu): void {
    vcpu.setSregs(initialSregs("protected", vcpu.getSregs(), this.area, this.image.entry));
    const magic = this.header.version === 1 ? MB1_BOOTLOADER_MAGIC : MB2_BOOTLOADER_MAGIC;
    vcpu.setRegs({ ...initialRegs("protected", this.area, this.image.entry), rax: BigInt(magic), rbx: BigInt(this.info) });
  }

  stats(): StatsPart {
    const f = this.facts;
    const magic = this.header.version === 1 ? MB1_BOOTLOADER_MAGIC : MB2_BOOTLOADER_MAGIC;
    const multiboot = {
      version: this.header.version, magic: hex(magic), info: hex(this.info), entry: hex(this.image.entry), cmdline: f.cmdline,
      memLower: f.memLower, memUpper: f.memUpper, memoryMapEntries: f.memoryMap.length, loadBase: hex(f.loadBase),
      modules: f.modules.map((m) => ({ start: hex(m.start), end: hex(m.end), cmdline: m.cmdline })),
    };
    return {
      json: { multiboot },
      lines: [`  multiboot ${multiboot.version}: entry ${multiboot.entry}, EAX ${multiboot.magic}, EBX ${multiboot.info} ` +
        `(mem_lower ${f.memLower} KiB, mem_upper ${f.memUpper} KiB, ${f.memoryMap.length} map entries)`,
        ...multiboot.modules.map((m) => `  module ${m.start}-${m.end}: ${m.cmdline}`)],
    };
  }
}

function encode(version: 1 | 2, base: number, f: BootFacts): Uint8Array {
  return version === 1 ? multibootInfo1(base, f) : multibootInfo2(f);
}
