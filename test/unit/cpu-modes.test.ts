// Boot structures checked by reading them back the way the CPU would.
import { describe, expect, test } from "bun:test";
import { gdtDescriptor } from "../../src/arch/boot-state";
import { CODE32, CODE64, DATA, initialRegs, initialSregs, planBootArea, writeBootStructures } from "../../src/arch/cpu-modes";
import { placeHighest, ramLayout } from "../../src/arch/layout";
import * as X from "../../src/arch/x86";
import { kvm_sregs } from "../../src/kvm/bindings";
import { GuestMemory } from "../../src/memory/guest-memory";

const reset = kvm_sregs.decode(kvm_sregs.encode());

/** Walks 4-level paging (2 MiB leaves) like the MMU does. */
function walk64(m: GuestMemory, cr3: number, va: number): number | undefined {
  const idx = (shift: number) => Math.floor(va / 2 ** shift) % 512;
  const pml4e = m.readU64(cr3 + idx(39) * 8);
  if (!(pml4e & X.PTE_PRESENT)) return undefined;
  const pdpte = m.readU64(Number(pml4e & ~0xfffn) + idx(30) * 8);
  if (!(pdpte & X.PTE_PRESENT)) return undefined;
  const pde = m.readU64(Number(pdpte & ~0xfffn) + idx(21) * 8);
  if (!(pde & X.PTE_PRESENT) || !(pde & X.PTE_PAGE_SIZE)) return undefined;
  return Number(pde & ~0x1fffffn) + (va % X.PAGE_2M);
}

describe("boot structures", () => {
  test("GDT descriptors are the well-known flat ones", () => {
    expect(gdtDescriptor(CODE32)).toBe(0x00cf9b000000ffffn);
    expect(gdtDescriptor(DATA)).toBe(0x00cf93000000ffffn);
    expect(gdtDescriptor(CODE64)).toBe(0x00af9b000000ffffn);
  });

  test("register bits are the manual's", () => {
    expect([X.CR0_PE, X.CR0_MP, X.CR0_ET, X.CR0_NE, X.CR0_PG]).toEqual([1n, 2n, 0x10n, 0x20n, 0x80000000n]);
    expect([X.CR4_PSE, X.CR4_PAE, X.CR4_OSFXSR, X.CR4_OSXMMEXCPT]).toEqual([0x10n, 0x20n, 0x200n, 0x400n]);
    expect([X.EFER_LME, X.EFER_LMA]).toEqual([0x100n, 0x400n]);
  });

  test("long mode identity-maps all of RAM with 2 MiB pages, above 4 GiB too", () => {
    const m = GuestMemory.fromBuffers([{ gpa: 0, size: 64 << 20 }]);
    const area = planBootArea("long", m, [{ start: 0x100000, end: 0x200000 }]);
    writeBootStructures("long", m, area);
    for (const va of [0, 0x1234, 0x100000, (64 << 20) - 1, 0x3fff_ffff]) expect(walk64(m, area.pageTables, va)).toBe(va);
    expect(walk64(m, area.pageTables, 0x4000_0000)).toBeUndefined(); // beyond RAM's last GiB
    const s = initialSregs("long", reset, area, 0x100000);
    expect(s.cr3).toBe(BigInt(area.pageTables));
    expect(s.efer & (X.EFER_LME | X.EFER_LMA)).toBe(X.EFER_LME | X.EFER_LMA);
    expect(s.cr0 & X.CR0_PG).toBe(X.CR0_PG);
    expect(s.cs.l).toBe(1);
    expect(m.readU64(area.gdt + 0x18)).toBe(gdtDescriptor(CODE64));
  });

  test("long mode page tables cover RAM above the 3-4 GiB hole", () => {
    const layout = ramLayout(5 * 2 ** 30);
    const m = GuestMemory.fromBuffers(layout, 2 ** 30);
    const area = planBootArea("long", m, []);
    expect(area.pageTablePages).toBe(2 + 6); // RAM ends at 6 GiB
    // Only write and check the tables, not 5 GiB of zeroes beyond them.
    writeBootStructures("long", m, area);
    expect(walk64(m, area.pageTables, 6 * 2 ** 30 - 1)).toBe(6 * 2 ** 30 - 1);
  }, 20_000);

  test("paged mode: one page directory of 4 MiB PSE pages mapping 4 GiB", () => {
    const m = GuestMemory.fromBuffers([{ gpa: 0, size: 16 << 20 }]);
    const area = planBootArea("paged", m, []);
    writeBootStructures("paged", m, area);
    for (const i of [0, 1, 1023]) expect(m.readU32(area.pageTables + i * 4)).toBe(((i * X.PAGE_4M) | 0x83) >>> 0);
    const s = initialSregs("paged", reset, area, 0);
    expect(s.cr4 & X.CR4_PSE).toBe(X.CR4_PSE);
    expect(s.cr0 & (X.CR0_PG | X.CR0_PE)).toBe(X.CR0_PG | X.CR0_PE);
    expect(s.efer & X.EFER_LME).toBe(0n);
  });

  test("the boot area avoids the image, stays in reach of the mode, and the stack is valid", () => {
    const m = GuestMemory.fromBuffers([{ gpa: 0, size: 64 << 20 }]);
    const top = planBootArea("protected", m, []);
    expect(top.base + top.size).toBe(64 << 20);
    expect(initialRegs("protected", top, 0).rsp).toBe(BigInt(64 << 20));
    const below = planBootArea("protected", m, [{ start: (64 << 20) - 0x1000, end: 64 << 20 }]);
    expect(below.base + below.size).toBe((64 << 20) - 0x1000);
    const real = planBootArea("real", m, [{ start: 0, end: 0x80000 }]);
    expect(real.base + real.size).toBe(0x100000);
    const rs = initialSregs("real", reset, real, 0x12345);
    const rr = initialRegs("real", real, 0x12345);
    expect(Number(rs.cs.base) + Number(rr.rip)).toBe(0x12345);
    expect(Number(rs.ss.base) + Number(rr.rsp)).toBe(real.stackTop);
    expect(() => initialSregs("real", reset, real, 0x100000)).toThrow(/out of reach of real mode/);
  });

  test("RAM too small for image and boot area: a clear error", () => {
    const m = GuestMemory.fromBuffers([{ gpa: 0, size: 64 << 10 }]);
    expect(() => planBootArea("long", m, [{ start: 0, end: 0xc000 }])).toThrow(/guest RAM too small: no room for the VMM's/);
  });

  test("placeHighest picks the highest gap that fits, aligned", () => {
    const ram = [{ gpa: 0, size: 0x10000 }];
    expect(placeHighest(ram, [], 0x1000, 0x1000, 0x10000)).toBe(0xf000);
    expect(placeHighest(ram, [{ start: 0xe800, end: 0x10000 }], 0x1000, 0x1000, 0x10000)).toBe(0xd000);
    expect(placeHighest(ram, [{ start: 0x800, end: 0x10000 }], 0x1000, 0x1000, 0x10000)).toBeUndefined();
    expect(placeHighest(ram, [], 0x1000, 0x1000, 0x8000)).toBe(0x7000);
  });
});
