// Disk, memory map and CPUID policy: state machines and builders with fakes, no KVM.
import { describe, expect, test } from "bun:test";
import { applyCpuidPolicy, KVM_SIGNATURE } from "../../src/arch/cpuid";
import { CpuidTable } from "../../src/kvm/kvm";
import { buildMemoryMap, E820_RAM, E820_RESERVED, formatMemoryMap } from "../../src/arch/memmap";
import { ramLayout } from "../../src/arch/layout";
import { MemMapDevice } from "../../src/devices/memmap";
import {
  FLAG_READ_ONLY, MAX_TRANSFER, OP_FLUSH, OP_INFO, OP_READ, OP_WRITE, PvBlock, SECTOR, STATUS_BAD_REQUEST,
  STATUS_IO_ERROR, STATUS_OK, STATUS_OUT_OF_RANGE, STATUS_READ_ONLY, type BlockBackend,
} from "../../src/devices/pv-block";
import { parseDiskSpec } from "../../src/host/disk-image";
import type { KvmCpuidEntry2 } from "../../src/kvm/bindings";
import { GuestMemory } from "../../src/memory/guest-memory";
import { makeImage, readDirectory, readImageFile } from "../../src/tools/mkimage";

class MemDisk implements BlockBackend {
  readonly calls: string[] = [];
  failNext = false;
  constructor(readonly bytes: Uint8Array, readonly readOnly = false) {}
  get sectors() { return Math.floor(this.bytes.length / SECTOR); }
  read(offset: number, dst: Uint8Array) { this.io(); this.calls.push(`read ${offset}+${dst.length}`); dst.set(this.bytes.subarray(offset, offset + dst.length)); }
  write(offset: number, src: Uint8Array) { this.io(); this.calls.push(`write ${offset}+${src.length}`); this.bytes.set(src, offset); }
  flush() { this.calls.push("flush"); }
  private io() { if (this.failNext) { this.failNext = false; throw new Error("EIO"); } }
}

const RAM = 4 << 20;
const REQ = 0x1000;

function disk(drives: MemDisk[]) {
  // Small views (64 KiB) so transfers cross view boundaries as they would at 1 GiB.
  const memory = GuestMemory.fromBuffers([{ gpa: 0, size: RAM }], 64 << 10);
  const warnings: string[] = [];
  const dev = new PvBlock(memory, drives, (m) => warnings.push(m));
  const request = (r: { op: number; drive?: number; sector?: bigint; count?: number; buffer?: number }) => {
    const b = new Uint8Array(48);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, r.op, true); dv.setUint32(4, r.drive ?? 0, true); dv.setBigUint64(8, r.sector ?? 0n, true);
    dv.setUint32(16, r.count ?? 0, true); dv.setUint32(20, 0xdead, true); dv.setBigUint64(24, BigInt(r.buffer ?? 0), true);
    dv.setBigUint64(32, 0xdeadn, true); dv.setUint32(40, 0xdead, true);
    memory.write(REQ, b);
    dev.write(0, 4, REQ);
    return { status: memory.readU32(REQ + 20), result: memory.readU64(REQ + 32), flags: memory.readU32(REQ + 40) };
  };
  return { memory, dev, request, warnings };
}

describe("paravirtual disk", () => {
  test("info gives the size in sectors and the read-only flag", () => {
    const { request } = disk([new MemDisk(new Uint8Array(10 * SECTOR)), new MemDisk(new Uint8Array(SECTOR * 3 + 100), true)]);
    expect(request({ op: OP_INFO })).toEqual({ status: STATUS_OK, result: 10n, flags: 0 });
    expect(request({ op: OP_INFO, drive: 1 })).toEqual({ status: STATUS_OK, result: 3n, flags: FLAG_READ_ONLY });
  });

  test("read and write move data straight between image and RAM, across view boundaries", () => {
    const image = new Uint8Array(4 << 20).map((_, i) => i % 251);
    const d = new MemDisk(image);
    const { request, memory } = disk([d]);
    const buffer = (64 << 10) - 1024; // straddles the first view boundary
    expect(request({ op: OP_READ, sector: 2n, count: 2048, buffer })).toEqual({ status: STATUS_OK, result: 1n << 20n, flags: 0 });
    const got = new Uint8Array(1 << 20);
    memory.read(buffer, got);
    expect(got).toEqual(image.slice(1024, 1024 + (1 << 20)));
    memory.fill(buffer, SECTOR, 0x77);
    expect(request({ op: OP_WRITE, sector: 5n, count: 1, buffer }).status).toBe(STATUS_OK);
    expect(image.subarray(5 * SECTOR, 6 * SECTOR).every((b) => b === 0x77)).toBe(true);
    expect(request({ op: OP_FLUSH }).status).toBe(STATUS_OK);
    expect(d.calls.at(-1)).toBe("flush");
  });

  test("bad requests get their status and touch nothing", () => {
    const d = new MemDisk(new Uint8Array(100 * SECTOR));
    const { request } = disk([d]);
    const cases: Array<[Parameters<typeof request>[0], number]> = [
      [{ op: OP_READ, sector: 100n, count: 1, buffer: 0x10000 }, STATUS_OUT_OF_RANGE],
      [{ op: OP_READ, sector: 99n, count: 2, buffer: 0x10000 }, STATUS_OUT_OF_RANGE],
      [{ op: OP_READ, sector: 2n ** 64n - 1n, count: 2, buffer: 0x10000 }, STATUS_OUT_OF_RANGE],
      [{ op: OP_READ, count: 1, buffer: RAM }, STATUS_BAD_REQUEST],
      [{ op: OP_READ, count: 2, buffer: RAM - SECTOR }, STATUS_BAD_REQUEST],
      [{ op: OP_READ, count: 0xffffffff, buffer: 0 }, STATUS_BAD_REQUEST],
      [{ op: OP_READ, count: MAX_TRANSFER / SECTOR + 1, buffer: 0 }, STATUS_BAD_REQUEST],
      [{ op: OP_WRITE, drive: 3, count: 1, buffer: 0 }, STATUS_BAD_REQUEST],
      [{ op: 9, count: 1, buffer: 0 }, STATUS_BAD_REQUEST],
    ];
    for (const [r, status] of cases) expect(request(r)).toEqual({ status, result: 0n, flags: 0 });
    expect(d.calls).toEqual([]);
  });

  test("a read-only drive is never written; flush on it is a no-op", () => {
    const d = new MemDisk(new Uint8Array(10 * SECTOR), true);
    const { request } = disk([d]);
    expect(request({ op: OP_WRITE, count: 1, buffer: 0 }).status).toBe(STATUS_READ_ONLY);
    expect(request({ op: OP_FLUSH }).status).toBe(STATUS_OK);
    expect(d.calls).toEqual([]);
  });

  test("an I/O error is reported to the guest and on the host", () => {
    const d = new MemDisk(new Uint8Array(10 * SECTOR));
    const { request, warnings } = disk([d]);
    d.failNext = true;
    expect(request({ op: OP_READ, count: 1, buffer: 0x10000 }).status).toBe(STATUS_IO_ERROR);
    expect(warnings).toEqual(["disk: drive 0: EIO"]);
  });

  test("a request not in RAM is reported on the host side only", () => {
    const { dev, warnings, memory } = disk([new MemDisk(new Uint8Array(SECTOR))]);
    dev.write(0, 4, RAM - 8);
    expect(warnings).toEqual([`disk: request at guest physical 0x${(RAM - 8).toString(16)} is not in guest RAM; ignored`]);
    expect(memory.readU32(RAM - 8)).toBe(0);
  });

  test("--disk FILE[,ro]", () => {
    expect(parseDiskSpec("a.img")).toEqual({ path: "a.img", readOnly: false });
    expect(parseDiskSpec("a,b.img,ro")).toEqual({ path: "a,b.img", readOnly: true });
    expect(() => parseDiskSpec(",ro")).toThrow(/bad --disk/);
  });

  test("the image tool writes a directory the guest can read, and reads files back", () => {
    const img = makeImage([{ name: "a.txt", data: Buffer.from("hi\n") }, { name: "log", data: new Uint8Array(0), capacity: 4 }], 1 << 20);
    expect(img.length).toBe(1 << 20);
    expect(readDirectory(img)).toEqual([{ name: "a.txt", firstSector: 1, size: 3, capacity: 1 }, { name: "log", firstSector: 2, size: 0, capacity: 4 }]);
    expect(Buffer.from(readImageFile(img, "a.txt")).toString()).toBe("hi\n");
  });
});

describe("memory map", () => {
  const covered = (map: ReturnType<typeof buildMemoryMap>, ram: ReturnType<typeof ramLayout>) => {
    // Every RAM byte once: entries are sorted, disjoint, and tile the RAM ranges.
    const spans = map.map((e) => [e.base, e.base + e.length] as const);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(map.reduce((n, e) => n + e.length, 0)).toBe(ram.reduce((n, r) => n + r.size, 0));
    for (const e of map) expect(ram.some((r) => e.base >= r.gpa && e.base + e.length <= r.gpa + r.size)).toBe(true);
  };

  test("RAM with the boot area reserved, every byte once", () => {
    const ram = ramLayout(128 << 20);
    const map = buildMemoryMap(ram, [{ start: 0x7ff7000, end: 0x8000000 }]);
    expect(map).toEqual([{ base: 0, length: 0x7ff7000, type: E820_RAM }, { base: 0x7ff7000, length: 0x9000, type: E820_RESERVED }]);
    covered(map, ram);
    expect(formatMemoryMap(map)).toEqual(["0x0000000000000000-0x0000000007ff6fff usable", "0x0000000007ff7000-0x0000000007ffffff reserved"]);
  });

  test("above 3 GiB: two RAM ranges around the hole; reserved spans clipped to RAM and merged", () => {
    const ram = ramLayout(6 * 2 ** 30);
    const map = buildMemoryMap(ram, [{ start: 0x1000, end: 0x3000 }, { start: 0x3000, end: 0x4000 }, { start: 0xbfff0000, end: 0xd0000000 }]);
    expect(map.map((e) => [e.base, e.length, e.type])).toEqual([
      [0, 0x1000, E820_RAM], [0x1000, 0x3000, E820_RESERVED], [0x4000, 0xbfff0000 - 0x4000, E820_RAM],
      [0xbfff0000, 0x10000, E820_RESERVED], [0x1_0000_0000, 3 * 2 ** 30, E820_RAM],
    ]);
    covered(map, ram);
  });

  test("the hypercall writes at most the capacity and returns the full count; a bad buffer is refused", () => {
    const memory = GuestMemory.fromBuffers([{ gpa: 0, size: 0x10000 }]);
    const warnings: string[] = [];
    const map = buildMemoryMap([{ gpa: 0, size: 0x10000 }], [{ start: 0x8000, end: 0x9000 }]);
    const dev = new MemMapDevice(memory, map, (m) => warnings.push(m));
    dev.write(0, 4, 0x100);
    dev.write(1, 4, 2);
    expect(dev.read(1, 4)).toBe(3);
    expect([memory.readU64(0x100), memory.readU64(0x108), memory.readU32(0x110)]).toEqual([0n, 0x8000n, E820_RAM]);
    expect([memory.readU64(0x118), memory.readU64(0x120), memory.readU32(0x128)]).toEqual([0x8000n, 0x1000n, E820_RESERVED]);
    expect(memory.readU64(0x130)).toBe(0n); // the third entry was not written
    dev.write(0, 4, 0xfff0);
    expect(dev.read(1, 4)).toBe(0);
    expect(warnings).toEqual(["memory map: buffer 0xfff0 for 2 entries is not in guest RAM; nothing written"]);
  });
});

describe("CPUID policy", () => {
  const leaf = (fn: number, regs: Partial<KvmCpuidEntry2>): KvmCpuidEntry2 => ({ function: fn, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0, padding: [0, 0, 0], ...regs });
  const supported = [
    leaf(0, { eax: 0xd, ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e }), // GenuineIntel
    leaf(1, { eax: 0x906ea, ebx: 0x07100800, ecx: 0x7ffafbff, edx: 0xbfebfbff }), // VMX set, hypervisor clear
    leaf(0x80000001, { ecx: 0x121 | 0x4 }), // SVM set
  ];
  /** An in-kernel LAPIC with the TSC-deadline mode (KVM_CAP_TSC_DEADLINE_TIMER). */
  const LAPIC = { inKernel: true, tscDeadline: true };

  test("VMX and SVM hidden, the hypervisor bit and the KVM signature present, vendor and family kept", () => {
    const input = CpuidTable.fromEntries(supported);
    const before = input.bytes.slice();
    const out = applyCpuidPolicy(input, 3, LAPIC).entries();
    const get = (fn: number) => out.find((e) => e.function === fn)!;
    expect(get(0)).toEqual(supported[0]!);
    expect(get(1).eax).toBe(0x906ea);
    expect(get(1).ecx & (1 << 5)).toBe(0);
    expect(get(1).ecx >>> 31).toBe(1);
    expect(get(1).ebx >>> 24).toBe(3); // initial APIC ID = vCPU id
    expect(get(1).ecx & ~((1 << 5) | (1 << 31))).toBe(0x7ffafbff & ~((1 << 5) | (1 << 31))); // nothing else changed
    expect(get(0x80000001).ecx).toBe(0x121);
    expect([get(0x40000000).ebx, get(0x40000000).ecx, get(0x40000000).edx]).toEqual([...KVM_SIGNATURE]);
    expect(input.bytes).toEqual(before); // the input is not modified
    expect(out.length).toBe(4);
  });

  test("the LAPIC's features: x2APIC only with the in-kernel LAPIC; TSC-deadline set where KVM emulates it, whatever the table said", () => {
    const ecx = (apic: { inKernel: boolean; tscDeadline: boolean }, input = 0x7ffafbff) =>
      applyCpuidPolicy(CpuidTable.fromEntries([leaf(1, { ecx: input }), ...supported.slice(2)]), 0, apic).entries().find((e) => e.function === 1)!.ecx;
    const X2APIC = 1 << 21, DEADLINE = 1 << 24;
    expect(ecx(LAPIC, 0x7ffafbff & ~DEADLINE) & (X2APIC | DEADLINE)).toBe(X2APIC | DEADLINE); // KVM before 6.14 leaves it out
    expect(ecx({ inKernel: true, tscDeadline: false }) & (X2APIC | DEADLINE)).toBe(X2APIC);
    expect(ecx({ inKernel: false, tscDeadline: false }) & (X2APIC | DEADLINE)).toBe(0);
    expect(ecx(LAPIC, 0x7ffafbff & ~X2APIC) & X2APIC).toBe(0); // never more than KVM supports
  });

  test("an existing KVM signature leaf is kept as is", () => {
    const kvm = leaf(0x40000000, { eax: 0x40000001, ebx: KVM_SIGNATURE[0], ecx: KVM_SIGNATURE[1], edx: KVM_SIGNATURE[2] });
    const out = applyCpuidPolicy(CpuidTable.fromEntries([...supported, kvm]), 0, LAPIC).entries();
    expect(out.length).toBe(4);
    expect(out.filter((e) => e.function === 0x40000000)).toEqual([kvm]);
  });

  test("each vCPU's APIC ID in the x2APIC topology leaves (every subleaf) and AMD's extended APIC ID leaf", () => {
    const topology = [leaf(0xb, { index: 0, eax: 1, ebx: 2, ecx: 0x100, edx: 7 }), leaf(0xb, { index: 1, eax: 4, ebx: 8, ecx: 0x201, edx: 7 }),
      leaf(0x1f, { index: 0, edx: 7 }), leaf(0x8000001e, { eax: 7, ebx: 0x100 })];
    const out = applyCpuidPolicy(CpuidTable.fromEntries([...supported, ...topology]), 2, LAPIC).entries();
    expect(out.filter((e) => e.function === 0xb).map((e) => [e.index, e.eax, e.ebx, e.ecx, e.edx])).toEqual([[0, 1, 2, 0x100, 2], [1, 4, 8, 0x201, 2]]);
    expect(out.find((e) => e.function === 0x1f)!.edx).toBe(2);
    expect([out.find((e) => e.function === 0x8000001e)!.eax, out.find((e) => e.function === 0x8000001e)!.ebx]).toEqual([2, 0x100]);
  });
});
