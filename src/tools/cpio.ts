// A cpio "newc" archive writer: the format of a Linux initramfs (Documentation/driver-api/
// early-userspace/buffer-format.rst). Each entry: a 110-byte ASCII header, the NUL-terminated
// name, padding to 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends the archive.

export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export interface CpioEntry {
  name: string;
  /** File type and permissions (S_IFREG | 0o755, …). */
  mode: number;
  /** File contents, or a symlink's target. */
  data?: Uint8Array;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let ino = 1;
  const add = (name: string, mode: number, data: Uint8Array) => {
    const nameBytes = enc.encode(name + "\0");
    const header = "070701" + [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join("");
    parts.push(enc.encode(header), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)), data, new Uint8Array(pad4(data.length)));
  };
  for (const e of entries) add(e.name, e.mode, e.data ?? new Uint8Array(0));
  add("TRAILER!!!", 0, new Uint8Array(0));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
