// bzImage parsing, the zero page, the boot tables: fixtures, fake memory, no KVM.
import { describe, expect, test } from "bun:test";
import { linuxRegs, linuxSregs, writeLinuxBootTables, BOOT_CS, BOOT_DS } from "../../src/arch/linux-boot";
import { buildMemoryMap, E820_RAM, E820_RESERVED } from "../../src/arch/memmap";
import { placeInitrd, writeZeroPage } from "../../src/arch/zero-page";
import { LEGACY_HOLE_END, LEGACY_HOLE_START, LINUX_CMDLINE as CMDLINE_ADDR, LINUX_KERNEL_ADDR, LINUX_PAGE_TABLES, PVH_START_INFO, ramLayout, ZERO_PAGE } from "../../src/arch/layout";
import { hvm_memmap_table_entry, hvm_modlist_entry, hvm_start_info, pvhRegs, pvhSregs, writeStartInfo } from "../../src/arch/pvh";
import * as X from "../../src/arch/x86";
import { kvm_sregs } from "../../src/kvm/bindings";
import { isBzImage, loadBzImage, parseBzImage } from "../../src/loaders/bzimage";
import { GuestMemory } from "../../src/memory/guest-memory";
import { buildBzImage } from "../fixtures/bzimage";

const mem = (size = 64 << 20) => GuestMemory.fromBuffers(ramLayout(size));

describe("bzImage", () => {
  test("parses the setup header and loads the kernel at 1 MiB, entry at +0x200", () => {
    const img = buildBzImage();
    expect(isBzImage(img)).toBe(true);
    const bz = parseBzImage(img);
    expect(bz.version).toBe(0x020f);
    expect(bz.setupHeader.length).toBe(0x26c - 0x1f1);
    expect(bz.kernel.length).toBe(0x3000);
    const m = mem();
    const loaded = loadBzImage(bz, m);
    expect(loaded.entry).toBe(LINUX_KERNEL_ADDR + 0x200);
    expect(loaded.segments[0]).toEqual({ gpa: LINUX_KERNEL_ADDR, fileSize: 0x3000, memSize: 0x10000 });
    expect(m.readU8(LINUX_KERNEL_ADDR + 0x2fff)).toBe(0x90);
  });

  test("rejects, each with its message", () => {
    const bad = (img: Uint8Array, msg: string | RegExp) => expect(() => parseBzImage(img)).toThrow(msg);
    const good = buildBzImage();
    bad(good.subarray(0, 0x200), /truncated bzImage: 512 bytes/);
    const noMagic = good.slice(); noMagic[0x202] = 0; bad(noMagic, 'not a bzImage: no "HdrS"');
    bad(buildBzImage({ version: 0x020a }), "boot protocol 2.10 is too old: microvmm needs 2.12 or later with a 64-bit entry");
    bad(buildBzImage({ xloadflags: 0 }), /no 64-bit entry point/);
    bad(good.subarray(0, 5 * 512 + 0x100), /truncated bzImage: the kernel needs 0x3a00 bytes, the file has 0xb00/);
    expect(() => loadBzImage(parseBzImage(buildBzImage({ initSize: 64 << 20 })), mem())).toThrow(/guest RAM too small for this kernel/);
  });
});

describe("zero page", () => {
  test("setup header copied, loader type, command line, initrd, e820 with the legacy hole reserved", () => {
    const m = mem();
    const bz = parseBzImage(buildBzImage());
    const e820 = buildMemoryMap(m.regions, [{ start: LEGACY_HOLE_START, end: LEGACY_HOLE_END }]);
    writeZeroPage(m, bz, "console=ttyS0 quiet", { gpa: 0x3000000, size: 0x1234 }, e820);
    expect(m.readU32(ZERO_PAGE + 0x202)).toBe(0x53726448);
    expect(m.readU8(ZERO_PAGE + 0x210)).toBe(0xff);
    expect(m.readU32(ZERO_PAGE + 0x228)).toBe(CMDLINE_ADDR);
    const cmd = new Uint8Array(20);
    m.read(CMDLINE_ADDR, cmd);
    expect(Buffer.from(cmd).toString()).toBe("console=ttyS0 quiet\0");
    expect([m.readU32(ZERO_PAGE + 0x218), m.readU32(ZERO_PAGE + 0x21c)]).toEqual([0x3000000, 0x1234]);
    expect(m.readU8(ZERO_PAGE + 0x1e8)).toBe(3);
    const entry = (i: number) => [Number(m.readU64(ZERO_PAGE + 0x2d0 + i * 20)), Number(m.readU64(ZERO_PAGE + 0x2d8 + i * 20)), m.readU32(ZERO_PAGE + 0x2e0 + i * 20)];
    expect([entry(0), entry(1), entry(2)]).toEqual([[0, 0xa0000, E820_RAM], [0xa0000, 0x60000, E820_RESERVED], [0x100000, (64 << 20) - 0x100000, E820_RAM]]);
  });

  test("a command line longer than the kernel takes is refused", () => {
    expect(() => writeZeroPage(mem(), parseBzImage(buildBzImage()), "x".repeat(2048), undefined, [])).toThrow(/command line is 2048 bytes; this kernel takes at most 2047/);
  });

  test("the initrd goes as high as allowed, below 4 GiB and the 3 GiB hole, above the kernel", () => {
    expect(placeInitrd(0x1800, mem(), 0x7fffffff, 0x200000)).toBe((64 << 20) - 0x2000);
    const big = GuestMemory.fromBuffers(ramLayout(6 * 2 ** 30), 2 ** 30);
    expect(placeInitrd(0x1000, big, 0xffffffff, 0x200000)).toBe(0xc0000000 - 0x1000);
    expect(placeInitrd(0x1000, big, 0x37ffffff, 0x200000)).toBe(0x38000000 - 0x1000);
    expect(() => placeInitrd(64 << 20, mem(), 0x7fffffff, 0x200000)).toThrow(/initrd \(67108864 bytes\) does not fit/);
  });
});

describe("64-bit boot state", () => {
  test("boot GDT selectors, long mode, RSI = zero page; the first 4 GiB identity-mapped", () => {
    const m = mem();
    writeLinuxBootTables(m);
    const s = linuxSregs(kvm_sregs.decode(kvm_sregs.encode()));
    expect([s.cs.selector, s.ds.selector, s.ss.selector, s.cs.l]).toEqual([BOOT_CS, BOOT_DS, BOOT_DS, 1]);
    expect(s.cr3).toBe(BigInt(LINUX_PAGE_TABLES));
    expect(linuxRegs(0x100200).rsi).toBe(BigInt(ZERO_PAGE));
    // Walk the tables for a few addresses.
    const walk = (va: number) => {
      const pdpt = Number(m.readU64(LINUX_PAGE_TABLES) & ~0xfffn);
      const pd = Number(m.readU64(pdpt + Math.floor(va / 2 ** 30) * 8) & ~0xfffn);
      const pde = m.readU64(pd + (Math.floor(va / 2 ** 21) % 512) * 8);
      return Number(pde & ~0x1fffffn) + (va % 2 ** 21);
    };
    for (const va of [0, 0x100200, 0x7000, 0xbfffffff, 0xffffffff]) expect(walk(va)).toBe(va);
  });
});

describe("PVH start info", () => {
  const read = (m: GuestMemory, at: number, n: number) => { const b = new Uint8Array(n); m.read(at, b); return b; };
  test("magic, version 1, the command line, the RSDP, the initrd as module 0, the memory map", () => {
    const m = mem();
    const e820 = buildMemoryMap(m.regions, [{ start: LEGACY_HOLE_START, end: LEGACY_HOLE_END }]);
    writeStartInfo(m, "console=ttyS0 pvh", { gpa: 0x2000000, size: 0x5432 }, e820, 0xe0000);
    const si = hvm_start_info.decode(read(m, PVH_START_INFO, hvm_start_info.size));
    expect(si.magic).toBe(0x336ec578);
    expect(si.version).toBe(1);
    expect(si.nr_modules).toBe(1);
    expect(si.rsdp_paddr).toBe(0xe0000n);
    expect(new TextDecoder().decode(read(m, Number(si.cmdline_paddr), 18))).toBe("console=ttyS0 pvh\0");
    const mod = hvm_modlist_entry.decode(read(m, Number(si.modlist_paddr), hvm_modlist_entry.size));
    expect([mod.paddr, mod.size]).toEqual([0x2000000n, 0x5432n]);
    expect(si.memmap_entries).toBe(e820.length);
    const entries = Array.from({ length: si.memmap_entries }, (_, i) =>
      hvm_memmap_table_entry.decode(read(m, Number(si.memmap_paddr) + i * hvm_memmap_table_entry.size, hvm_memmap_table_entry.size)));
    expect(entries.map((e) => ({ base: Number(e.addr), length: Number(e.size), type: e.type }))).toEqual(e820);
    // The structures stay inside the one page and below the boot page tables.
    expect(Number(si.memmap_paddr) + e820.length * hvm_memmap_table_entry.size).toBeLessThanOrEqual(PVH_START_INFO + 0x1000);
  });

  test("no initrd: no modules; a command line longer than the kernel takes is refused", () => {
    const m = mem();
    writeStartInfo(m, "quiet", undefined, [], 0xe0000);
    const si = hvm_start_info.decode(read(m, PVH_START_INFO, hvm_start_info.size));
    expect([si.nr_modules, si.modlist_paddr]).toEqual([0, 0n]);
    expect(() => writeStartInfo(m, "x".repeat(2048), undefined, [], 0xe0000)).toThrow("kernel command line is 2048 bytes; this kernel takes at most 2047");
  });

  test("the entry state: 32-bit protected mode, paging off, EBX at the start info, a busy 32-bit TSS", () => {
    const s = pvhSregs(kvm_sregs.decode(kvm_sregs.encode()));
    expect(s.cr0 & X.CR0_PG).toBe(0n);
    expect(s.cr0 & X.CR0_PE).toBe(X.CR0_PE);
    expect([s.cs.db, s.cs.l, s.cs.selector, s.ds.selector]).toEqual([1, 0, 0x08, 0x10]);
    expect([s.tr.type, s.tr.present]).toEqual([11, 1]);
    const r = pvhRegs(0x1234567);
    expect([r.rbx, r.rip]).toEqual([BigInt(PVH_START_INFO), 0x1234567n]);
  });
});
