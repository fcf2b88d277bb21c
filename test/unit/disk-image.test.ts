// A disk image file through DiskImage (no KVM): the vectored reads and writes virtio-blk uses,
// one preadv/pwritev for a request's buffers, against the plain ones, and discard and write-zeroes
// (fallocate), on a real file.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ptr } from "bun:ffi";
import { DiskImage } from "../../src/host/disk-image";
import { IOV_MAX } from "../../src/libc/libc";

const dir = mkdtempSync(join(tmpdir(), "microvmm-disk-image-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, sectors: number): { path: string; disk: DiskImage } {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(sectors * 512).map((_, i) => (i * 7) & 0xff));
  return { path, disk: DiskImage.open({ path, readOnly: false }) };
}

test("readv fills the buffers in order from the offset; writev writes them back to back", () => {
  const { path, disk } = image("a.img", 8);
  const bufs = [new Uint8Array(512), new Uint8Array(1024), new Uint8Array(100)];
  disk.readv(512, bufs);
  const file = readFileSync(path);
  expect(bufs[0]).toEqual(new Uint8Array(file.subarray(512, 1024)));
  expect(bufs[1]).toEqual(new Uint8Array(file.subarray(1024, 2048)));
  expect(bufs[2]).toEqual(new Uint8Array(file.subarray(2048, 2148)));
  disk.writev(1000, [new Uint8Array(24).fill(1), new Uint8Array(2000).fill(2)]);
  disk.close();
  const after = readFileSync(path);
  expect([after[999], after[1000], after[1023], after[1024], after[3023], after[3024]]).toEqual([(999 * 7) & 0xff, 1, 1, 2, 2, (3024 * 7) & 0xff]);
});

test("more buffers than one call takes (IOV_MAX) and a read past the end of the file", () => {
  const { disk } = image("b.img", 4);
  const many = Array.from({ length: IOV_MAX + 5 }, () => new Uint8Array(1));
  disk.readv(0, many);
  expect(many.map((b) => b[0])).toEqual(Array.from({ length: IOV_MAX + 5 }, (_, i) => (i * 7) & 0xff));
  expect(() => disk.readv(1536, [new Uint8Array(1024)])).toThrow("unexpected end of file");
  disk.close();
});

test("discard punches a hole (fewer blocks, reads zeroes, size kept); writeZeroes zeroes with or without unmapping", () => {
  const { path, disk } = image("c.img", 64); // 32 KiB of data, not zeroes
  const blocks = () => statSync(path).blocks;
  const full = blocks();
  disk.discard(8192, 8192);
  expect(blocks()).toBeLessThan(full);
  disk.writeZeroes(0, 4096, false); // in place: the blocks stay
  const afterZero = blocks();
  disk.writeZeroes(20480, 4096, true); // a hole
  expect(blocks()).toBeLessThan(afterZero);
  disk.close();
  const file = readFileSync(path);
  expect(file.length).toBe(64 * 512);
  const zero = (from: number, to: number) => file.subarray(from, to).every((b) => b === 0);
  expect([zero(0, 4096), zero(8192, 16384), zero(20480, 24576)]).toEqual([true, true, true]);
  // What lies between is untouched.
  expect([file[4096], file[16384], file[24576], file[8191]]).toEqual([(4096 * 7) & 0xff, (16384 * 7) & 0xff, (24576 * 7) & 0xff, (8191 * 7) & 0xff]);
});

test("a read-only image refuses discard and writeZeroes", () => {
  const { path, disk } = image("d.img", 8);
  disk.close();
  const ro = DiskImage.open({ path, readOnly: true });
  expect(() => ro.discard(0, 512)).toThrow("read-only");
  expect(() => ro.writeZeroes(0, 512, false)).toThrow("read-only");
  ro.close();
});

test("transferHost: straight between the image and host memory ranges, back to back; past IOV_MAX; the end of the file", () => {
  const { path, disk } = image("e.img", 8);
  const ram = new Uint8Array(8192);
  const base = ptr(ram);
  const ranges = (list: Array<[number, number]>) => ({ addrs: Float64Array.from(list, ([at]) => base + at), lens: Float64Array.from(list, ([, n]) => n), count: list.length });
  let r = ranges([[4096, 512], [0, 100], [1000, 924]]);
  disk.transferHost(512, r.addrs, r.lens, r.count, false);
  const file = readFileSync(path);
  expect(ram.subarray(4096, 4608)).toEqual(new Uint8Array(file.subarray(512, 1024)));
  expect(ram.subarray(0, 100)).toEqual(new Uint8Array(file.subarray(1024, 1124)));
  expect(ram.subarray(1000, 1924)).toEqual(new Uint8Array(file.subarray(1124, 2048)));
  // More ranges than one call takes: one byte each.
  const many = Array.from({ length: IOV_MAX + 3 }, (_, i): [number, number] => [i, 1]);
  ram.fill(0);
  r = ranges(many);
  disk.transferHost(0, r.addrs, r.lens, r.count, false);
  expect([...ram.subarray(0, IOV_MAX + 3)]).toEqual(Array.from({ length: IOV_MAX + 3 }, (_, i) => (i * 7) & 0xff));
  ram.fill(0xee, 0, 1024);
  r = ranges([[0, 1024]]);
  disk.transferHost(3072, r.addrs, r.lens, r.count, true);
  r = ranges([[0, 1024]]);
  expect(() => disk.transferHost(3584, r.addrs, r.lens, r.count, false)).toThrow("unexpected end of file");
  disk.close();
  const after = readFileSync(path);
  expect([after[3071], after[3072], after[4095]]).toEqual([(3071 * 7) & 0xff, 0xee, 0xee]);
});
