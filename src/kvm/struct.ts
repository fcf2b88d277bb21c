// C structs declared once as field tables. Offsets, sizes and alignment follow the x86-64 SysV
// rules (each field at its natural alignment, the struct padded to its largest alignment), so a
// table written in declaration order lays out like the C declaration; tests check it against
// <linux/kvm.h>. u64 fields read as bigint, narrower ones as number.

type Scalar = "u8" | "u16" | "u32" | "u64";
type ArraySpec = readonly [Scalar, number];
type FieldSpec = Scalar | ArraySpec | Struct<object>;
type Fields = Record<string, FieldSpec>;

type ValueOf<S> = S extends "u64" ? bigint
  : S extends Scalar ? number
  : S extends readonly ["u64", number] ? bigint[]
  : S extends readonly [Scalar, number] ? number[]
  : S extends Struct<infer T> ? T
  : never;
export type StructValue<F extends Fields> = { -readonly [K in keyof F]: ValueOf<F[K]> };

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

interface Layout { offset: number; spec: FieldSpec }

export class Struct<T extends object> {
  readonly size: number;
  readonly align: number;
  private readonly layout: Map<string, Layout>;

  constructor(readonly name: string, fields: Fields) {
    let offset = 0;
    let align = 1;
    this.layout = new Map();
    for (const [field, spec] of Object.entries(fields)) {
      const [size, a] = sizeAlign(spec);
      offset = alignUp(offset, a);
      this.layout.set(field, { offset, spec });
      offset += size;
      align = Math.max(align, a);
    }
    this.align = align;
    this.size = alignUp(offset, align);
  }

  /** Byte offset of a field; "a.b" reaches into nested structs. */
  offsetOf(path: string): number {
    let struct: Struct<object> = this;
    let total = 0;
    for (const part of path.split(".")) {
      const f = struct.layout.get(part);
      if (f === undefined) throw new Error(`${this.name} has no field ${path}`);
      total += f.offset;
      if (f.spec instanceof Struct) struct = f.spec;
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

  write(dv: DataView, value: T, base = 0): void {
    const v = value as Record<string, unknown>;
    for (const [field, { offset, spec }] of this.layout) writeField(dv, base + offset, spec, v[field]);
  }

  /** A zeroed buffer of this struct's size, with `value` written if given. */
  encode(value?: T): Uint8Array {
    const buf = new Uint8Array(this.size);
    if (value !== undefined) this.write(new DataView(buf.buffer), value);
    return buf;
  }

  decode(buf: Uint8Array): T {
    return this.read(new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
  }
}

export function struct<const F extends Fields>(name: string, fields: F): Struct<StructValue<F>> {
  return new Struct<StructValue<F>>(name, fields);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function sizeAlign(spec: FieldSpec): [number, number] {
  if (spec instanceof Struct) return [spec.size, spec.align];
  if (typeof spec === "string") return [SCALAR_SIZE[spec], SCALAR_SIZE[spec]];
  const s = SCALAR_SIZE[spec[0]];
  return [s * spec[1], s];
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
  for (let i = 0; i < n; i++) out.push(readScalar(dv, at + i * SCALAR_SIZE[s], s));
  return out;
}

function writeField(dv: DataView, at: number, spec: FieldSpec, v: unknown): void {
  if (spec instanceof Struct) { if (v !== undefined) spec.write(dv, v as object, at); return; }
  if (typeof spec === "string") { writeScalar(dv, at, spec, v); return; }
  const [s, n] = spec;
  const arr = (v ?? []) as unknown[];
  for (let i = 0; i < n; i++) writeScalar(dv, at + i * SCALAR_SIZE[s], s, arr[i]);
}
