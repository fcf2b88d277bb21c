// The little AML (ACPI 6.5, chapter 20) the DSDT needs: names, integers, strings, buffers,
// packages, devices and scopes, and the two resource descriptors a virtio-mmio device has
// (chapter 6.4). Each helper returns the encoded bytes; callers nest them.
import { ascii } from "../binary/checksum";

const NAME_OP = 0x08;
const SCOPE_OP = 0x10;
const BUFFER_OP = 0x11;
const PACKAGE_OP = 0x12;
const BYTE_PREFIX = 0x0a;
const WORD_PREFIX = 0x0b;
const DWORD_PREFIX = 0x0c;
const STRING_PREFIX = 0x0d;
const ZERO_OP = 0x00;
const ONE_OP = 0x01;
const EXT_OP_PREFIX = 0x5b;
const DEVICE_OP = 0x82;

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

/** PkgLength (20.2.4): the length of what follows it, itself included, in 1 to 4 bytes. */
export function pkgLength(contentLength: number): Uint8Array {
  for (let extra = 0; extra <= 3; extra++) {
    const total = contentLength + 1 + extra;
    if (extra === 0 && total < 0x40) return Uint8Array.of(total);
    if (extra > 0 && total < 2 ** (4 + 8 * extra)) {
      const b = new Uint8Array(1 + extra);
      b[0] = (extra << 6) | (total & 0x0f);
      for (let i = 1; i <= extra; i++) b[i] = (total >> (4 + 8 * (i - 1))) & 0xff;
      return b;
    }
  }
  throw new Error(`AML package of ${contentLength} bytes is too long`);
}

/** A four-character name segment, or a path such as "\\_SB_" (root prefix and one segment). */
export function nameString(name: string): Uint8Array {
  const root = name.startsWith("\\");
  const seg = root ? name.slice(1) : name;
  if (seg.length !== 4) throw new Error(`AML name ${name}: a segment is 4 characters`);
  return concat([root ? Uint8Array.of(0x5c) : new Uint8Array(0), ascii(seg)]);
}

/** An integer constant, in the smallest encoding. */
export function integer(v: number): Uint8Array {
  if (v === 0) return Uint8Array.of(ZERO_OP);
  if (v === 1) return Uint8Array.of(ONE_OP);
  if (v <= 0xff) return Uint8Array.of(BYTE_PREFIX, v);
  if (v <= 0xffff) return Uint8Array.of(WORD_PREFIX, v & 0xff, v >> 8);
  const b = new Uint8Array(5);
  b[0] = DWORD_PREFIX;
  new DataView(b.buffer).setUint32(1, v >>> 0, true);
  return b;
}

export const string = (s: string): Uint8Array => concat([Uint8Array.of(STRING_PREFIX), ascii(s), Uint8Array.of(0)]);

/** Name (NAME, value). */
export const name = (n: string, value: Uint8Array): Uint8Array => concat([Uint8Array.of(NAME_OP), nameString(n), value]);

export function buffer(bytes: Uint8Array): Uint8Array {
  const size = integer(bytes.length);
  return concat([Uint8Array.of(BUFFER_OP), pkgLength(size.length + bytes.length), size, bytes]);
}

/** Package { elements } (each a data object). */
export function pkg(elements: readonly Uint8Array[]): Uint8Array {
  const body = concat([Uint8Array.of(elements.length), ...elements]);
  return concat([Uint8Array.of(PACKAGE_OP), pkgLength(body.length), body]);
}

export function device(n: string, body: readonly Uint8Array[]): Uint8Array {
  const inner = concat([nameString(n), ...body]);
  return concat([Uint8Array.of(EXT_OP_PREFIX, DEVICE_OP), pkgLength(inner.length), inner]);
}

export function scope(n: string, body: readonly Uint8Array[]): Uint8Array {
  const inner = concat([nameString(n), ...body]);
  return concat([Uint8Array.of(SCOPE_OP), pkgLength(inner.length), inner]);
}

/** Memory32Fixed (ReadWrite, base, length) (6.4.3.4). */
export function memory32Fixed(base: number, length: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  b[0] = 0x86;
  v.setUint16(1, 9, true);
  b[3] = 1; // read-write
  v.setUint32(4, base, true);
  v.setUint32(8, length, true);
  return b;
}

/** Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } (6.4.3.6). */
export function edgeInterrupt(gsi: number): Uint8Array {
  const b = new Uint8Array(9);
  const v = new DataView(b.buffer);
  b[0] = 0x89;
  v.setUint16(1, 6, true);
  b[3] = 0x03; // consumer; edge (bit 1); active high; exclusive
  b[4] = 1; // one interrupt
  v.setUint32(5, gsi, true);
  return b;
}

/** ResourceTemplate () { descriptors }: a buffer ending with the end tag (checksum 0: none). */
export const resourceTemplate = (descriptors: readonly Uint8Array[]): Uint8Array => buffer(concat([...descriptors, Uint8Array.of(0x79, 0)]));
