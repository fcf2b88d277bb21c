// ELF loader: PT_LOAD segments copied to p_paddr, bss zeroed, start at e_entry. elfy does the
// parsing; everything it returns is checked here against the file and guest RAM before use.
import type * as Elfy from "elfy";
import { BadInputError } from "../errors";
import type { GuestMemory } from "../memory/guest-memory";
import { hex, whyNotRam, type LoadedImage, type LoadedSegment } from "./image";

const ELFMAG = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EM_386 = 3;
const EM_X86_64 = 62;
const ET_EXEC = 2;
const PT_LOAD = 1;
const PT_NOTE = 4;
/** Xen's ELF note (name "Xen") giving the PVH entry point: XEN_ELFNOTE_PHYS32_ENTRY. */
const XEN_ELFNOTE_PHYS32_ENTRY = 18;
/** An ELF's program header count is capped; more than this is not a real kernel or guest. */
const MAX_PHNUM = 256;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELFMAG.every((b, i) => bytes[i] === b);
}

export interface ElfSegment {
  index: number;
  offset: number;
  /** Exact (a kernel's virtual addresses use all 64 bits; elfy's doubles would round them). */
  vaddr: bigint;
  paddr: number;
  filesz: number;
  memsz: number;
}

export interface ElfImage {
  elfClass: 32 | 64;
  /** e_entry, exact. */
  entry: bigint;
  segments: ElfSegment[];
  bytes: Uint8Array;
  /** The PVH entry point (a 32-bit physical address) from a Xen PHYS32_ENTRY note, if any. */
  pvhEntry?: number;
}

/** Reads and validates the ELF headers. Throws BadInputError naming what is wrong. */
export function parseElf(bytes: Uint8Array): ElfImage {
  if (!isElf(bytes)) throw new BadInputError("not an ELF file (bad magic)");
  if (bytes.length < 16) throw new BadInputError("truncated ELF: identification is incomplete");
  const cls = bytes[4];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) throw new BadInputError(`ELF class ${cls} is neither ELFCLASS32 nor ELFCLASS64`);
  if (bytes[5] !== ELFDATA2LSB) throw new BadInputError("ELF is not little-endian: not an x86 image");
  const is64 = cls === ELFCLASS64;
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) throw new BadInputError(`truncated ELF header: ${bytes.length} bytes, need ${ehsize}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  const wantMachine = is64 ? EM_X86_64 : EM_386;
  if (machine !== wantMachine) {
    throw new BadInputError(`wrong machine: e_machine ${machine}, a ${is64 ? 64 : 32}-bit x86 guest has ${wantMachine} (${is64 ? "EM_X86_64" : "EM_386"})`);
  }
  if (type !== ET_EXEC) throw new BadInputError(`ELF type ${type} is not ET_EXEC: link the guest at a fixed address`);
  const phoff = is64 ? Number(dv.getBigUint64(32, true)) : dv.getUint32(28, true);
  const phentsize = dv.getUint16(is64 ? 54 : 42, true);
  const phnum = dv.getUint16(is64 ? 56 : 44, true);
  const minPhent = is64 ? 56 : 32;
  if (phnum === 0) throw new BadInputError("ELF has no program headers: nothing to load");
  if (phnum > MAX_PHNUM) throw new BadInputError(`ELF has ${phnum} program headers (at most ${MAX_PHNUM})`);
  if (phentsize < minPhent) throw new BadInputError(`ELF program header size ${phentsize} is below ${minPhent}`);
  if (!Number.isSafeInteger(phoff) || phoff + phnum * phentsize > bytes.length) {
    throw new BadInputError(`truncated ELF: program headers at ${hex(phoff)} run past the end of the file (${bytes.length} bytes)`);
  }

  // elfy (and the Node modules it pulls in) is loaded on first use: raw guests never pay for it.
  const elfy = require("elfy") as typeof Elfy;
  const parsed = elfy.parse(withoutSections(bytes, is64));
  const exact = (at: number) => (is64 ? dv.getBigUint64(at, true) : BigInt(dv.getUint32(at, true)));
  const segments: ElfSegment[] = [];
  let pvhEntry: number | undefined;
  parsed.body.programs.forEach((p, index) => {
    if (p.type === "note" || p.type === PT_NOTE) {
      if (!Number.isSafeInteger(p.offset) || !Number.isSafeInteger(p.filesz) || p.offset + p.filesz > bytes.length) {
        throw new BadInputError(`truncated ELF: note segment ${index} runs past the end of the file`);
      }
      pvhEntry ??= findPvhEntry(bytes.subarray(p.offset, p.offset + p.filesz));
      return;
    }
    if (p.type !== "load" && p.type !== PT_LOAD) return;
    const seg = { index, offset: p.offset, paddr: p.paddr, filesz: p.filesz, memsz: p.memsz };
    for (const [k, v] of Object.entries(seg)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new BadInputError(`segment ${index}: p_${k} is out of range`);
    }
    if (seg.offset + seg.filesz > bytes.length) {
      throw new BadInputError(`truncated ELF: segment ${index} needs file bytes up to ${hex(seg.offset + seg.filesz)}, the file has ${hex(bytes.length)}`);
    }
    if (seg.memsz < seg.filesz) throw new BadInputError(`segment ${index}: p_memsz ${hex(seg.memsz)} is smaller than p_filesz ${hex(seg.filesz)}`);
    segments.push({ ...seg, vaddr: exact(phoff + index * phentsize + (is64 ? 16 : 8)) });
  });
  if (segments.length === 0) throw new BadInputError("ELF has no PT_LOAD segment: nothing to load");
  return { elfClass: is64 ? 64 : 32, entry: exact(24), segments, bytes, pvhEntry };
}

/**
 * Walks the notes of one PT_NOTE segment (each: namesz, descsz, type, then name and desc, each
 * padded to 4 bytes) for XEN_ELFNOTE_PHYS32_ENTRY; every length is checked against the segment.
 */
export function findPvhEntry(notes: Uint8Array): number | undefined {
  const dv = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
  const pad = (n: number) => (n + 3) & ~3;
  for (let at = 0; at + 12 <= notes.length;) {
    const namesz = dv.getUint32(at, true);
    const descsz = dv.getUint32(at + 4, true);
    const type = dv.getUint32(at + 8, true);
    const name = at + 12;
    const desc = name + pad(namesz);
    const next = desc + pad(descsz);
    if (namesz > notes.length || descsz > notes.length || next > notes.length) return undefined; // malformed: stop
    const isXen = namesz === 4 && notes[name] === 0x58 && notes[name + 1] === 0x65 && notes[name + 2] === 0x6e && notes[name + 3] === 0;
    if (isXen && type === XEN_ELFNOTE_PHYS32_ENTRY && descsz >= 4) return dv.getUint32(desc, true);
    at = next;
  }
  return undefined;
}

/** Places a parsed ELF in guest RAM. Throws BadInputError before writing anything if it does not fit. */
export function loadElf(elf: ElfImage, memory: GuestMemory): LoadedImage {
  const total = elf.segments.reduce((n, s) => n + s.memsz, 0);
  if (total > memory.size) throw new BadInputError(`image needs ${total} bytes but guest RAM is ${memory.size} — raise --memory`);
  for (const s of elf.segments) {
    if (!memory.contains(s.paddr, s.memsz)) {
      throw new BadInputError(`segment ${s.index} (${hex(s.paddr)}-${hex(s.paddr + s.memsz)}) ${whyNotRam(memory, s.paddr, s.memsz)}`);
    }
  }
  const sorted = [...elf.segments].sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a.paddr + a.memsz > b.paddr) throw new BadInputError(`segments ${a.index} and ${b.index} overlap at ${hex(b.paddr)}`);
  }
  const entry = physicalEntry(elf);
  const out: LoadedSegment[] = [];
  for (const s of elf.segments) {
    memory.write(s.paddr, elf.bytes.subarray(s.offset, s.offset + s.filesz), `segment ${s.index}`);
    memory.fill(s.paddr + s.filesz, s.memsz - s.filesz, 0, `segment ${s.index} bss`);
    out.push({ gpa: s.paddr, fileSize: s.filesz, memSize: s.memsz });
  }
  return { format: elf.elfClass === 64 ? "elf64" : "elf32", entry, segments: out };
}

/**
 * e_entry as a physical address. Guests run identity-mapped, so an entry inside a segment's
 * physical range is used as is; one inside its virtual range is moved by that segment's offset.
 */
export function physicalEntry(elf: ElfImage): number {
  const e = elf.entry;
  for (const s of elf.segments) if (e >= BigInt(s.paddr) && e < BigInt(s.paddr + s.memsz)) return Number(e);
  for (const s of elf.segments) if (e >= s.vaddr && e < s.vaddr + BigInt(s.memsz)) return s.paddr + Number(e - s.vaddr);
  throw new BadInputError(`entry 0x${e.toString(16)} is outside every loaded segment`);
}

/**
 * A copy of the file whose section header table is one empty SHT_STRTAB appended at the end.
 * Loading needs no sections, and elfy insists on a valid section-name table (and misreads
 * 64-bit ones), so it never sees the file's own.
 */
function withoutSections(bytes: Uint8Array, is64: boolean): Buffer {
  const shentsize = is64 ? 64 : 40;
  const out = Buffer.alloc(bytes.length + shentsize);
  out.set(bytes);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(bytes.length + 4, 3, true); // sh_type = SHT_STRTAB, everything else 0
  if (is64) {
    dv.setBigUint64(40, BigInt(bytes.length), true); // e_shoff
    dv.setUint16(58, shentsize, true);
    dv.setUint16(60, 1, true); // e_shnum
    dv.setUint16(62, 0, true); // e_shstrndx
  } else {
    dv.setUint32(32, bytes.length, true);
    dv.setUint16(46, shentsize, true);
    dv.setUint16(48, 1, true);
    dv.setUint16(50, 0, true);
  }
  return out;
}
