// A file the user named, read once and classified once: an ELF (parsed, so a vmlinux's PVH note
// is known), a bzImage, or anything else (a raw binary, or a mistake the loader will name).
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { aboutFile, BadInputError, UserError } from "./errors";
import { isBzImage, parseBzImage, type BzImage } from "./loaders/bzimage";
import { isElf, parseElf, type ElfImage } from "./loaders/elf";

/** Largest file read into memory: 4 GiB of image is far past any RAM we would load it in. */
export const MAX_FILE_SIZE = 2 ** 32;

export type GuestFile =
  | { kind: "elf"; name: string; bytes: Uint8Array; elf: ElfImage }
  | { kind: "bzimage"; name: string; bytes: Uint8Array; bz: BzImage }
  | { kind: "other"; name: string; bytes: Uint8Array };

/** A Linux kernel: a bzImage, or an ELF vmlinux with a PVH entry note. */
export const isLinuxKernel = (f: GuestFile): boolean => f.kind === "bzimage" || (f.kind === "elf" && f.elf.pvhEntry !== undefined);

/** Classifies bytes already in memory (a built-in guest, a library caller's image). */
export function classify(name: string, bytes: Uint8Array): GuestFile {
  if (isElf(bytes)) return { kind: "elf", name, bytes, elf: aboutFile(name, () => parseElf(bytes)) };
  if (isBzImage(bytes)) return { kind: "bzimage", name, bytes, bz: aboutFile(name, () => parseBzImage(bytes)) };
  return { kind: "other", name, bytes };
}

const WHAT = { guest: "a guest image", kernel: "a kernel image", initrd: "an initrd image", module: "a multiboot module" } as const;

/**
 * Reads a file the user named. Only regular files, and no more than `limit` bytes (guest RAM can
 * hold no more): what goes wrong is one line (BadInputError) naming the file.
 */
export function readUserFile(path: string, what: keyof typeof WHAT, limit = MAX_FILE_SIZE): Uint8Array {
  let fd: number | undefined;
  try {
    // Looked at before it is opened: opening a FIFO would block, and a device may never end.
    const st = statSync(path);
    if (st.isDirectory()) throw new BadInputError(`${path}: is a directory, not ${WHAT[what]}`);
    if (!st.isFile()) throw new BadInputError(`${path}: not a regular file, cannot be ${WHAT[what]}`);
    if (st.size > limit) {
      throw new BadInputError(`${path}: ${st.size} bytes is too large for ${WHAT[what]} (at most ${limit}${what === "initrd" ? ", the guest's RAM) — raise --memory" : ")"}`);
    }
    fd = openSync(path, "r");
    const bytes = new Uint8Array(st.size);
    for (let at = 0; at < bytes.length;) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes;
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new BadInputError(`cannot read ${what} ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads and classifies a file the user named. */
export function readGuestFile(path: string, what: "guest" | "kernel"): GuestFile {
  return classify(path, readUserFile(path, what));
}
