// Booting Linux: a bzImage through the 64-bit boot protocol (zero page, boot GDT and page tables),
// an ELF vmlinux through PVH when it has the PHYS32_ENTRY note (hvm_start_info), else through the
// 64-bit protocol at its physical e_entry. The initrd goes as high as the kernel allows. The CPU
// starts with CPUID, MSRs and x87/SSE state as firmware would leave them.
import { bootFpu, bootMsrs } from "../arch/boot-cpu";
import { LEGACY_HOLE_END, LEGACY_HOLE_START, LINUX_BOOT_PAGES_END } from "../arch/layout";
import { linuxRegs, linuxSregs, writeLinuxBootTables } from "../arch/linux-boot";
import { buildMemoryMap, type MemMapEntry } from "../arch/memmap";
import { pvhRegs, pvhSregs, writeStartInfo } from "../arch/pvh";
import { placeInitrd, writeZeroPage, type Initrd } from "../arch/zero-page";
import { aboutFile, BadInputError, HostError } from "../errors";
import type { GuestFile } from "../guest-file";
import type { Vcpu } from "../kvm/kvm";
import { loadBzImage, parseBzImage, syntheticSetupHeader, type BzImage } from "../loaders/bzimage";
import { loadElf } from "../loaders/elf";
import { hex } from "../loaders/image";
import type { GuestMemory } from "../memory/guest-memory";
import type { Boot, StatsPart } from "../machine";

export interface LinuxBootOptions {
  kernel: GuestFile;
  initrd?: { name: string; bytes: Uint8Array };
  cmdline: string;
  /** Where the board's ACPI tables put the RSDP. */
  rsdp: number;
}

/** "pvh": 32-bit entry with hvm_start_info; "64bit": the 64-bit boot protocol with a zero page. */
type Protocol = "pvh" | "64bit";

export class LinuxBoot implements Boot {
  readonly memoryMap: MemMapEntry[];

  private constructor(readonly protocol: Protocol, readonly entry: number, memoryMap: MemMapEntry[]) {
    this.memoryMap = memoryMap;
  }

  /**
   * Places the kernel and initrd and writes the boot information, all before KVM is touched;
   * every problem is a BadInputError naming the file or the option.
   */
  static place(memory: GuestMemory, o: LinuxBootOptions): LinuxBoot {
    const kernel = aboutFile(o.kernel.name, () => loadKernel(o.kernel, memory));
    const initrd: Initrd | undefined = o.initrd === undefined ? undefined : aboutFile(o.initrd.name, () => {
      const size = o.initrd!.bytes.length;
      if (size > memory.size) throw new BadInputError(`initrd is ${size} bytes but guest RAM is ${memory.size} — raise --memory`);
      const gpa = placeInitrd(size, memory, kernel.bz.initrdAddrMax, kernel.end);
      memory.write(gpa, o.initrd!.bytes, "initrd");
      return { gpa, size };
    });
    const memoryMap = buildMemoryMap(memory.regions, [{ start: LEGACY_HOLE_START, end: LEGACY_HOLE_END }]);
    if (kernel.protocol === "pvh") {
      writeStartInfo(memory, o.cmdline, initrd, memoryMap, o.rsdp);
    } else {
      writeZeroPage(memory, kernel.bz, o.cmdline, initrd, memoryMap, o.rsdp);
      writeLinuxBootTables(memory);
    }
    return new LinuxBoot(kernel.protocol, kernel.entry, memoryMap);
  }

  /** The protocol's entry state, MSRs and x87/SSE state. */
  setupVcpu(vcpu: Vcpu): void {
    if (this.protocol === "pvh") {
      vcpu.setSregs(pvhSregs(vcpu.getSregs()));
      vcpu.setRegs(pvhRegs(this.entry));
    } else {
      vcpu.setSregs(linuxSregs(vcpu.getSregs()));
      vcpu.setRegs(linuxRegs(this.entry));
    }
    const msrs = bootMsrs();
    const set = vcpu.setMsrs(msrs);
    if (set !== msrs.length) throw new HostError(`KVM refused MSR 0x${msrs[set]!.index.toString(16)} at boot — is this an x86-64 KVM?`);
    vcpu.setFpu(bootFpu(vcpu.getFpu()));
  }

  /** For --stats: "PVH, entry 0x1000000" or "64-bit boot protocol, entry …". */
  get description(): string {
    return `${this.protocol === "pvh" ? "PVH" : "64-bit boot protocol"}, entry ${hex(this.entry)}`;
  }

  stats(): StatsPart {
    return { json: { linuxBoot: { protocol: this.protocol, entry: hex(this.entry) } }, lines: [`  linux boot: ${this.description}`] };
  }
}

interface LoadedKernel {
  protocol: Protocol;
  entry: number;
  /** One past the kernel's last byte in RAM (the initrd goes above). */
  end: number;
  /** The setup header for the zero page: the bzImage's own, or a synthetic one for an ELF. */
  bz: BzImage;
}

function loadKernel(file: GuestFile, memory: GuestMemory): LoadedKernel {
  if (file.kind === "elf") {
    const elf = file.elf;
    if (elf.elfClass !== 64) throw new BadInputError("a vmlinux must be ELFCLASS64");
    for (const s of elf.segments) checkClearOfBootPages(s.paddr, s.memsz, `segment ${s.index}`);
    const image = loadElf(elf, memory);
    const end = Math.max(...image.segments.map((s) => s.gpa + s.memSize));
    const bz = syntheticSetupHeader();
    if (elf.pvhEntry !== undefined) return { protocol: "pvh", entry: elf.pvhEntry, end, bz };
    return { protocol: "64bit", entry: image.entry, end, bz };
  }
  // Not an ELF: it must be a bzImage, and the parser says what is wrong with it if it is not.
  const bz = file.kind === "bzimage" ? file.bz : parseBzImage(file.bytes);
  const image = loadBzImage(bz, memory);
  const s = image.segments[0]!;
  return { protocol: "64bit", entry: image.entry, end: s.gpa + s.memSize, bz };
}

/** A kernel may not sit where the boot protocols write (the low boot pages, ACPI in the legacy hole). */
function checkClearOfBootPages(gpa: number, size: number, what: string): void {
  const clash = (start: number, end: number) => gpa < end && start < gpa + size;
  if (clash(0, LINUX_BOOT_PAGES_END) || clash(LEGACY_HOLE_START, LEGACY_HOLE_END)) {
    throw new BadInputError(`${what} (${hex(gpa)}-${hex(gpa + size)}) overlaps where the boot information goes ` +
      `(${hex(0)}-${hex(LINUX_BOOT_PAGES_END)} and ${hex(LEGACY_HOLE_START)}-${hex(LEGACY_HOLE_END)}): link the kernel at 1 MiB or above`);
  }
}
