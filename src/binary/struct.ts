// C structs declared once as field tables, for every binary layout microvmm shares with a
// kernel or a guest: <linux/kvm.h>, the Linux boot protocol, PVH, our paravirtual devices.
// Offsets, sizes and alignment follow the x86-64 SysV rules (each field at its natural alignment,
// the struct padded to its largest alignment), so a table written in declaration order lays out
// like the C declaration; `{ packed: true }` is `__attribute__((packed))` (no padding at all).
// Tests check the tables against the C headers. u64 fields read as bigint, narrower ones as number.

type Scalar = "u8" | "u16" | "u32" | "u64";

/**
 * The little-endian u64 at `at` as a number, from its two 32-bit halves: no BigInt, for the paths
 * that run per exit or per buffer. Exact below 2^53; at or above it is never a safe integer, so
 * GuestMemory's range checks refuse it.
 */
export const u64At = (dv: DataView, at: number): number => dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
type ArraySpec = readonly [Scalar | Struct<object>, number];
type FieldSpec = Scalar | ArraySpec | Struct<object>;
type Fields = Record<string, FieldSpec>;

type ValueOf<S> = S extends "u64" ? bigint
  : S extends Scalar ? number
  : S extends readonly ["u64", number] ? bigint[]
  : S extends readonly [Scalar, number] ? number[]
  : S extends readonly [Struct<infer T>, number] ? T[]
  : S extends Struct<infer T> ? T
  : never;
export type StructValue<F extends Fields> = { -readonly [K in keyof F]: ValueOf<F[K]> };

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

interface Layout { offset: number; spec: FieldSpec }

interface Computed { size: number; align: number; layout: Map<string, Layout> }

export class Struct<T extends object> {
  /** Laid out on first use: a program pays only for the tables it uses (startup time). */
  private computed: Computed | undefined;

  constructor(readonly name: string, private readonly spec: Fields, private readonly packed = false) {}

  get size(): number { return this.laidOut.size; }
  get align(): number { return this.laidOut.align; }
  private get layout(): Map<string, Layout> { return this.laidOut.layout; }

  private get laidOut(): Computed {
    if (this.computed !== undefined) return this.computed;
    let offset = 0;
    let align = 1;
    const layout = new Map<string, Layout>();
    for (const [field, spec] of Object.entries(this.spec)) {
      const [size, natural] = sizeAlign(spec);
      const a = this.packed ? 1 : natural;
      offset = alignUp(offset, a);
      layout.set(field, { offset, spec });
      offset += size;
      align = Math.max(align, a);
    }
    this.computed = { size: alignUp(offset, align), align, layout };
    return this.computed;
  }

  /** Byte offset of a field; "a.b" reaches into nested structs, "a.3.b" into an array of them. */
  offsetOf(path: string): number {
    let struct: Struct<object> = this;
    let total = 0;
    const parts = path.split(".");
    for (let i = 0; i < parts.length; i++) {
      const f = struct.layout.get(parts[i]!);
      if (f === undefined) throw new Error(`${this.name} has no field ${path}`);
      total += f.offset;
      if (f.spec instanceof Struct) struct = f.spec;
      else if (Array.isArray(f.spec) && f.spec[0] instanceof Struct && /^\d+$/.test(parts[i + 1] ?? "")) {
        const element: Struct<object> = f.spec[0];
        total += element.size * Number(parts[++i]);
        struct = element;
      }
    }
    return total;
  }

  /** The fields in declaration order with their offsets (for layout tests). */
  fields(): Array<{ name: string; offset: number }> {
    return [...this.layout].map(([name, f]) => ({ name, offset: f.offset }));
  }

  read(dv: DataView, base = 0): T {
    const out: Record<string, unknown> = {};
    for (const [field, { offset, spec }] of this.layout) out[field] = readField(dv, base + offset, spec);
    return out as T;
  }

  /** Writes the fields `value` has; absent ones are left as they are (zero in a fresh buffer). */
  write(dv: DataView, value: Partial<T>, base = 0): void {
    const v = value as Record<string, unknown>;
    for (const [field, { offset, spec }] of this.layout) if (v[field] !== undefined) writeField(dv, base + offset, spec, v[field]);
  }

  /** A zeroed buffer of this struct's size, with `value` written if given. */
  encode(value?: Partial<T>): Uint8Array {
    const buf = new Uint8Array(this.size);
    if (value !== undefined) this.write(new DataView(buf.buffer), value);
    return buf;
  }

  decode(buf: Uint8Array): T {
    return this.read(new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
  }
}

export interface StructOptions {
  /** As `__attribute__((packed))`: every field right after the previous one, alignment 1. */
  packed?: boolean;
}

export function struct<const F extends Fields>(name: string, fields: F, options?: StructOptions): Struct<StructValue<F>> {
  return new Struct<StructValue<F>>(name, fields, options?.packed ?? false);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function sizeAlign(spec: FieldSpec): [number, number] {
  if (spec instanceof Struct) return [spec.size, spec.align];
  if (typeof spec === "string") return [SCALAR_SIZE[spec], SCALAR_SIZE[spec]];
  const [element, n] = spec;
  if (element instanceof Struct) return [element.size * n, element.align];
  const s = SCALAR_SIZE[element];
  return [s * n, s];
}

function readScalar(dv: DataView, at: number, s: Scalar): number | bigint {
  switch (s) {
    case "u8": return dv.getUint8(at);
    case "u16": return dv.getUint16(at, true);
    case "u32": return dv.getUint32(at, true);
    case "u64": return dv.getBigUint64(at, true);
  }
}

function writeScalar(dv: DataView, at: number, s: Scalar, v: unknown): void {
  switch (s) {
    case "u8": dv.setUint8(at, Number(v ?? 0)); return;
    case "u16": dv.setUint16(at, Number(v ?? 0), true); return;
    case "u32": dv.setUint32(at, Number(v ?? 0), true); return;
    case "u64": dv.setBigUint64(at, BigInt.asUintN(64, BigInt((v as bigint | number | undefined) ?? 0)), true); return;
  }
}

function readField(dv: DataView, at: number, spec: FieldSpec): unknown {
  if (spec instanceof Struct) return spec.read(dv, at);
  if (typeof spec === "string") return readScalar(dv, at, spec);
  const [s, n] = spec;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(s instanceof Struct ? s.read(dv, at + i * s.size) : readScalar(dv, at + i * SCALAR_SIZE[s], s));
  return out;
}

function writeField(dv: DataView, at: number, spec: FieldSpec, v: unknown): void {
  if (spec instanceof Struct) { if (v !== undefined) spec.write(dv, v as object, at); return; }
  if (typeof spec === "string") { writeScalar(dv, at, spec, v); return; }
  const [s, n] = spec;
  const arr = (v ?? []) as unknown[];
  if (arr.length > n) throw new Error(`${arr.length} values for an array of ${n}`);
  for (let i = 0; i < n; i++) {
    if (s instanceof Struct) { if (arr[i] !== undefined) s.write(dv, arr[i] as object, at + i * s.size); }
    else writeScalar(dv, at + i * SCALAR_SIZE[s], s, arr[i]);
  }
}
