// The registers gdb sees, and the target description (qXfer:features:read:target.xml) that tells
// gdb their order and sizes.
//
// One layout for the whole session, whatever mode the CPU is in. A debugger cannot change its
// register layout in the middle of a session (QEMU's stub switches between the 32- and 64-bit
// layouts with the CPU mode, and gdb fails with "'g' packet reply is too long"), so the layout is
// chosen once, as gdb chooses its architecture: from the guest's file. An ELFCLASS64 guest, a raw
// binary or Linux gets gdb's x86-64 layout (i386:x86-64): a guest that goes from real mode to long
// mode keeps one session, with the upper halves zero in 16- and 32-bit code. An ELFCLASS32 guest
// (most multiboot kernels) gets the i386 layout, which is what gdb expects with that file loaded:
// its DWARF numbers the registers the 32-bit way. (--gdb-arch overrides the choice; its i8086
// is the i386 layout named so that gdb disassembles 16-bit code.)
// The program counter is the linear address of the next instruction, CS.base + IP (CS:IP in real
// mode, as 0x10 * CS + IP; the code segment's base in protected mode; RIP in 64-bit code), so
// breakpoints, `x/i $pc` and the debug registers all speak of one address space.
import type { KvmFpu, KvmRegs, KvmSregs } from "../kvm/bindings";
import { CR0_PE, EFER_LMA } from "../arch/x86";

/** What the stub reads and writes: KVM_GET_REGS, KVM_GET_SREGS and KVM_GET_FPU of one vCPU. */
export interface CpuState {
  regs: KvmRegs;
  sregs: KvmSregs;
  fpu: KvmFpu;
}

export type CpuModeName = "real" | "protected 16-bit" | "protected 32-bit" | "long 64-bit" | "long compatibility";

export function cpuModeOf(sregs: KvmSregs): CpuModeName {
  if ((sregs.cr0 & CR0_PE) === 0n) return "real";
  if ((sregs.efer & EFER_LMA) !== 0n) return sregs.cs.l ? "long 64-bit" : "long compatibility";
  return sregs.cs.db ? "protected 32-bit" : "protected 16-bit";
}

const MASK32 = 0xffff_ffffn;
const MASK64 = (1n << 64n) - 1n;

/** The linear address of the next instruction (see the top of this file). */
export function linearPc(s: { regs: KvmRegs; sregs: KvmSregs }): bigint {
  if (cpuModeOf(s.sregs) === "long 64-bit") return s.regs.rip;
  return (s.sregs.cs.base + s.regs.rip) & MASK32;
}

/** Sets the next instruction from a linear address: RIP = address - CS.base outside 64-bit code. */
export function setLinearPc(s: { regs: KvmRegs; sregs: KvmSregs }, pc: bigint): void {
  s.regs.rip = cpuModeOf(s.sregs) === "long 64-bit" ? pc & MASK64 : (pc - s.sregs.cs.base) & MASK32;
}

type SegName = "cs" | "ss" | "ds" | "es" | "fs" | "gs";
type GprName = Exclude<keyof KvmRegs, "rip" | "rflags">;

interface RegisterDef {
  name: string;
  bits: number;
  type: string;
  group?: string;
  feature: string;
  read(s: CpuState): Uint8Array;
  /** Applies `bytes` (bits / 8 of them); false if the value cannot be set (a selector outside real mode). */
  write(s: CpuState, bytes: Uint8Array): boolean;
}

const CORE = "org.gnu.gdb.i386.core";
const SSE = "org.gnu.gdb.i386.sse";
const SEGMENTS = "org.gnu.gdb.i386.segments";
/** Our own feature: gdb shows registers of features it does not know by their names ($cr3). */
const SYSTEM = "org.microvmm.x86.system";

function le(value: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) { out[i] = Number(value & 0xffn); value >>= 8n; }
  return out;
}

function fromLe(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** A general register: all of it (x86-64), or its low half as eax… (i386; a write keeps the upper half). */
const gpr = (reg: GprName, bits: 32 | 64): RegisterDef => {
  const name = bits === 64 ? reg : "e" + reg.slice(1);
  return {
    name, bits, type: reg === "rsp" || reg === "rbp" ? "data_ptr" : bits === 64 ? "int64" : "int32", feature: CORE,
    read: (s) => le(s.regs[reg], bits / 8),
    write: (s, b) => { s.regs[reg] = bits === 64 ? fromLe(b) : (s.regs[reg] & ~MASK32) | fromLe(b); return true; },
  };
};

const segment = (name: SegName): RegisterDef => ({
  name, bits: 32, type: "int32", feature: CORE,
  read: (s) => le(BigInt(s.sregs[name].selector), 4),
  write: (s, b) => {
    const v = Number(fromLe(b) & 0xffffn);
    const seg = s.sregs[name];
    if (v === seg.selector) return true;
    // In real mode a selector is the segment: base = 16 × selector. Elsewhere loading one means
    // reading a descriptor, which is the guest's business: refused.
    if ((s.sregs.cr0 & CR0_PE) !== 0n) return false;
    seg.selector = v;
    seg.base = BigInt(v) << 4n;
    return true;
  },
});

const control = (name: "cr0" | "cr2" | "cr3" | "cr4" | "cr8" | "efer"): RegisterDef => ({
  name, bits: 64, type: "int64", group: "system", feature: SYSTEM, // not data_ptr: that is 4 bytes to an i386 gdb
  read: (s) => le(s.sregs[name], 8),
  write: (s, b) => { s.sregs[name] = fromLe(b); return true; },
});

/** ST(i): the 10 bytes of FXSAVE's slot i (stack order, as gdb's st0…st7). */
const st = (i: number): RegisterDef => ({
  name: `st${i}`, bits: 80, type: "i387_ext", feature: CORE,
  read: (s) => Uint8Array.from(s.fpu.fpr.slice(16 * i, 16 * i + 10)),
  write: (s, b) => { b.forEach((v, j) => { s.fpu.fpr[16 * i + j] = v; }); return true; },
});

const fpu32 = (name: string, get: (f: KvmFpu) => number, set: (f: KvmFpu, v: number) => void): RegisterDef => ({
  name, bits: 32, type: "int", group: "float", feature: CORE,
  read: (s) => le(BigInt(get(s.fpu) >>> 0), 4),
  write: (s, b) => { set(s.fpu, Number(fromLe(b))); return true; },
});

const xmm = (i: number): RegisterDef => ({
  name: `xmm${i}`, bits: 128, type: "vec128", feature: SSE,
  read: (s) => Uint8Array.from(s.fpu.xmm.slice(16 * i, 16 * i + 16)),
  write: (s, b) => { b.forEach((v, j) => { s.fpu.xmm[16 * i + j] = v; }); return true; },
});

const base = (name: "fs_base" | "gs_base", seg: "fs" | "gs", bits: 64): RegisterDef => ({
  name, bits, type: "int", feature: SEGMENTS,
  read: (s) => le(s.sregs[seg].base, bits / 8),
  write: (s, b) => { s.sregs[seg].base = fromLe(b); return true; },
});

/**
 * FXSAVE keeps an abridged tag (one bit per physical register: 1 = in use); gdb shows the full
 * x87 tag word (two bits each: 00 valid, 01 zero, 10 special, 11 empty), worked out from the values.
 */
export function fullTagWord(fpu: KvmFpu): number {
  const top = (fpu.fsw >> 11) & 7;
  let tag = 0;
  for (let phys = 0; phys < 8; phys++) {
    let t = 3;
    if ((fpu.ftwx >> phys) & 1) {
      const at = 16 * ((phys - top + 8) & 7); // ST(i) holds physical register (top + i) mod 8
      const exponent = (fpu.fpr[at + 8]! | (fpu.fpr[at + 9]! << 8)) & 0x7fff;
      const mantissa = fpu.fpr.slice(at, at + 8);
      const integerBit = (mantissa[7]! & 0x80) !== 0;
      if (exponent === 0x7fff) t = 2;
      else if (exponent === 0) t = mantissa.every((b) => b === 0) ? 1 : 2;
      else t = integerBit ? 0 : 2;
    }
    tag |= t << (2 * phys);
  }
  return tag;
}

/** The abridged tag from a full tag word: in use unless 11 (empty). */
function abridgedTag(tag: number): number {
  let t = 0;
  for (let phys = 0; phys < 8; phys++) if (((tag >> (2 * phys)) & 3) !== 3) t |= 1 << phys;
  return t;
}

const GPR_ORDER_64: GprName[] = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
/** gdb's i386 order is the encoding order: eax, ecx, edx, ebx, esp, ebp, esi, edi. */
const GPR_ORDER_32: GprName[] = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];

/** "i8086" is the i386 layout under gdb's 16-bit architecture name: `x/i` then decodes real-mode code. */
export type LayoutName = "x86-64" | "i386" | "i8086";
export const LAYOUT_NAMES: readonly LayoutName[] = ["x86-64", "i386", "i8086"];

function registerList(layout: LayoutName): RegisterDef[] {
  const wide = layout === "x86-64";
  const bits = wide ? 64 : 32;
  return [
    ...(wide ? GPR_ORDER_64 : GPR_ORDER_32).map((r) => gpr(r, bits)),
    {
      name: wide ? "rip" : "eip", bits, type: "code_ptr", feature: CORE,
      read: (s) => le(linearPc(s), bits / 8),
      write: (s, b) => { setLinearPc(s, fromLe(b)); return true; },
    },
    {
      name: "eflags", bits: 32, type: "i386_eflags", feature: CORE,
      read: (s) => le(s.regs.rflags & MASK32, 4),
      // Bit 1 always reads 1; KVM refuses nothing here, the CPU fixes reserved bits itself.
      write: (s, b) => { s.regs.rflags = fromLe(b) | 2n; return true; },
    },
    ...(["cs", "ss", "ds", "es", "fs", "gs"] as const).map(segment),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map(st),
    fpu32("fctrl", (f) => f.fcw, (f, v) => { f.fcw = v & 0xffff; }),
    fpu32("fstat", (f) => f.fsw, (f, v) => { f.fsw = v & 0xffff; }),
    fpu32("ftag", fullTagWord, (f, v) => { f.ftwx = abridgedTag(v); }),
    // 64-bit FXSAVE has no FPU selectors; the instruction and operand pointers are 64-bit, shown in 32.
    fpu32("fiseg", () => 0, () => {}),
    fpu32("fioff", (f) => Number(f.last_ip & MASK32), (f, v) => { f.last_ip = BigInt(v >>> 0); }),
    fpu32("foseg", () => 0, () => {}),
    fpu32("fooff", (f) => Number(f.last_dp & MASK32), (f, v) => { f.last_dp = BigInt(v >>> 0); }),
    fpu32("fop", (f) => f.last_opcode, (f, v) => { f.last_opcode = v & 0x7ff; }),
    ...Array.from({ length: wide ? 16 : 8 }, (_, i) => xmm(i)),
    {
      name: "mxcsr", bits: 32, type: "i386_mxcsr", group: "vector", feature: SSE,
      read: (s) => le(BigInt(s.fpu.mxcsr >>> 0), 4),
      write: (s, b) => { s.fpu.mxcsr = Number(fromLe(b)); return true; },
    },
    // i386 gdb numbers fs_base and gs_base past registers we do not describe (AVX, MPX): 64-bit only.
    ...(wide ? [base("fs_base", "fs", 64), base("gs_base", "gs", 64)] : []),
    ...(["cr0", "cr2", "cr3", "cr4", "cr8", "efer"] as const).map(control),
  ];
}

/** A register layout: the registers in gdb's numbering (the target description's order, and the 'g' packet's). */
export class RegisterLayout {
  readonly registers: readonly RegisterDef[];
  /** Size of the 'g' packet's data in bytes. */
  readonly bytes: number;

  constructor(readonly name: LayoutName) {
    this.registers = registerList(name);
    this.bytes = this.registers.reduce((n, r) => n + r.bits / 8, 0);
  }

  /** The 'g' packet's bytes: every register in order. */
  readAll(s: CpuState): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const r of this.registers) { const b = r.read(s); out.set(b, at); at += b.length; }
    return out;
  }

  /**
   * 'G': applies the registers in order. A shorter block sets only the registers it covers (gdb
   * may send fewer). False if a register refused its value (the others stay applied to `s`).
   */
  writeAll(s: CpuState, bytes: Uint8Array): boolean {
    let at = 0;
    let ok = true;
    for (const r of this.registers) {
      const n = r.bits / 8;
      if (at + n > bytes.length) break;
      if (!r.write(s, bytes.subarray(at, at + n))) ok = false;
      at += n;
    }
    return ok;
  }

  /** One register's bytes ('p'), or undefined for a number we do not have. */
  readOne(s: CpuState, n: number): Uint8Array | undefined {
    return this.registers[n]?.read(s);
  }

  /** 'P': false for an unknown register, a wrong size, or a value it cannot take. */
  writeOne(s: CpuState, n: number, bytes: Uint8Array): boolean {
    const r = this.registers[n];
    if (r === undefined || bytes.length !== r.bits / 8) return false;
    return r.write(s, bytes);
  }

  /** The target description (see the top of this file). */
  targetXml(): string {
    return targetXml(this.name, this.registers);
  }
}

const EFLAGS_FIELDS: Array<[string, number]> = [
  ["CF", 0], ["", 1], ["PF", 2], ["AF", 4], ["ZF", 6], ["SF", 7], ["TF", 8], ["IF", 9], ["DF", 10], ["OF", 11],
  ["NT", 14], ["RF", 16], ["VM", 17], ["AC", 18], ["VIF", 19], ["VIP", 20], ["ID", 21],
];
const MXCSR_FIELDS = ["IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM", "DM", "ZM", "OM", "UM", "PM", "FZ"];
const VECTORS: Array<[string, string, number]> = [
  ["v4f", "ieee_single", 4], ["v2d", "ieee_double", 2], ["v16i8", "int8", 16], ["v8i16", "int16", 8], ["v4i32", "int32", 4], ["v2i64", "int64", 2],
];
const VEC128_FIELDS: Array<[string, string]> = [
  ["v4_float", "v4f"], ["v2_double", "v2d"], ["v16_int8", "v16i8"], ["v8_int16", "v8i16"], ["v4_int32", "v4i32"], ["v2_int64", "v2i64"], ["uint128", "uint128"],
];

function targetXml(layout: LayoutName, registers: readonly RegisterDef[]): string {
  const types: Record<string, string[]> = {
    [CORE]: [
      `<flags id="i386_eflags" size="4">`,
      ...EFLAGS_FIELDS.map(([n, b]) => `  <field name="${n}" start="${b}" end="${b}"/>`),
      `</flags>`,
    ],
    [SSE]: [
      ...VECTORS.map(([id, t, n]) => `<vector id="${id}" type="${t}" count="${n}"/>`),
      `<union id="vec128">`, ...VEC128_FIELDS.map(([n, t]) => `  <field name="${n}" type="${t}"/>`), `</union>`,
      `<flags id="i386_mxcsr" size="4">`, ...MXCSR_FIELDS.map((n, b) => `  <field name="${n}" start="${b}" end="${b}"/>`), `</flags>`,
    ],
  };
  const lines = [`<?xml version="1.0"?>`, `<!DOCTYPE target SYSTEM "gdb-target.dtd">`, `<target version="1.0">`, `<architecture>${layout === "x86-64" ? "i386:x86-64" : layout}</architecture>`];
  let feature = "";
  registers.forEach((r, i) => {
    if (r.feature !== feature) {
      if (feature !== "") lines.push(`</feature>`);
      feature = r.feature;
      lines.push(`<feature name="${feature}">`, ...(types[feature] ?? []));
    }
    lines.push(`<reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${i}"${r.group ? ` group="${r.group}"` : ""}/>`);
  });
  lines.push(`</feature>`, `</target>`);
  return lines.join("\n") + "\n";
}
