// Makes disk images in the demo's layout (docs/disk.md): sector 0 is a directory of up to 15
// files, each file a run of whole sectors. Used by build.ts for the demo image and by tests.
//   bun src/tools/mkimage.ts OUT.img NAME=FILE... [--empty NAME:SECTORS]... [--size BYTES]

export const SECTOR = 512;
export const MAGIC = "MVFS";
const DIR_HEADER = 16;
const DIR_ENTRY = 32;
const NAME_MAX = 19; // 20 bytes with the NUL
export const MAX_FILES = (SECTOR - DIR_HEADER) / DIR_ENTRY;

export interface ImageFile {
  name: string;
  data: Uint8Array;
  /** Sectors reserved for the file (room to grow); at least what data needs. */
  capacity?: number;
}

export interface DirEntry { name: string; firstSector: number; size: number; capacity: number }

export function makeImage(files: readonly ImageFile[], minSize = 0): Uint8Array {
  if (files.length > MAX_FILES) throw new Error(`at most ${MAX_FILES} files`);
  let next = 1;
  const placed = files.map((f) => {
    if (f.name.length === 0 || f.name.length > NAME_MAX) throw new Error(`file name "${f.name}": 1 to ${NAME_MAX} characters`);
    const capacity = Math.max(f.capacity ?? 0, Math.ceil(f.data.length / SECTOR));
    const entry = { ...f, firstSector: next, capacity };
    next += capacity;
    return entry;
  });
  const image = new Uint8Array(Math.max(next * SECTOR, Math.ceil(minSize / SECTOR) * SECTOR));
  const dv = new DataView(image.buffer);
  image.set(new TextEncoder().encode(MAGIC), 0);
  dv.setUint32(4, placed.length, true);
  placed.forEach((f, i) => {
    const at = DIR_HEADER + i * DIR_ENTRY;
    image.set(new TextEncoder().encode(f.name), at);
    dv.setUint32(at + 20, f.firstSector, true);
    dv.setUint32(at + 24, f.data.length, true);
    dv.setUint32(at + 28, f.capacity, true);
    image.set(f.data, f.firstSector * SECTOR);
  });
  return image;
}

export function readDirectory(image: Uint8Array): DirEntry[] {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (new TextDecoder().decode(image.subarray(0, 4)) !== MAGIC) throw new Error("not an MVFS image");
  const out: DirEntry[] = [];
  for (let i = 0; i < Math.min(dv.getUint32(4, true), MAX_FILES); i++) {
    const at = DIR_HEADER + i * DIR_ENTRY;
    const raw = image.subarray(at, at + 20);
    const name = new TextDecoder().decode(raw.subarray(0, raw.indexOf(0) < 0 ? 20 : raw.indexOf(0)));
    out.push({ name, firstSector: dv.getUint32(at + 20, true), size: dv.getUint32(at + 24, true), capacity: dv.getUint32(at + 28, true) });
  }
  return out;
}

/** A file's current contents. */
export function readImageFile(image: Uint8Array, name: string): Uint8Array {
  const e = readDirectory(image).find((d) => d.name === name);
  if (e === undefined) throw new Error(`no file ${name}`);
  return image.subarray(e.firstSector * SECTOR, e.firstSector * SECTOR + e.size);
}

if (import.meta.main) {
  const [out, ...args] = process.argv.slice(2);
  if (out === undefined) {
    console.error("usage: mkimage OUT.img NAME=FILE... [--empty NAME:SECTORS]... [--size BYTES]");
    process.exit(2);
  }
  const files: ImageFile[] = [];
  let size = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--empty") { const [n, s] = args[++i]!.split(":"); files.push({ name: n!, data: new Uint8Array(0), capacity: Number(s) }); }
    else if (a === "--size") size = Number(args[++i]);
    else { const [n, f] = a.split("="); files.push({ name: n!, data: await Bun.file(f!).bytes() }); }
  }
  await Bun.write(out, makeImage(files, size));
}
