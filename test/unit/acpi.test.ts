// The ACPI tables read back the way a kernel walks them, and the PM1 control register.
import * as aml from "../../src/arch/aml";
import { dsdtBody } from "../../src/arch/acpi";
import { describe, expect, test } from "bun:test";
import { writeAcpiTables } from "../../src/arch/acpi";
import { ACPI_BASE, IOAPIC_ADDR, LAPIC_ADDR } from "../../src/arch/layout";
import { LINUX_ACPI, PM1A_CNT_PORT, PM1A_EVT_PORT, SCI_IRQ } from "../../src/boards/linux";
import { AcpiPm1Control, PM1_CNT_SCI_EN } from "../../src/devices/acpi-pm";
import { GuestMemory } from "../../src/memory/guest-memory";

const bytes = (m: GuestMemory, at: number, n: number) => { const b = new Uint8Array(n); m.read(at, b); return b; };
const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("ACPI tables", () => {
  test("RSDP → RSDT → FADT → FACS and DSDT, every checksum right, \\_S5 defined", () => {
    const m = GuestMemory.fromBuffers([{ gpa: 0, size: 0x100000 }]);
    const rsdp = writeAcpiTables(m, LINUX_ACPI);
    expect(rsdp % 16).toBe(0);
    expect(rsdp >= 0xe0000 && rsdp < 0x100000).toBe(true); // where the kernel scans for it
    expect(str(bytes(m, rsdp, 8))).toBe("RSD PTR ");
    expect(sum(bytes(m, rsdp, 20))).toBe(0);
    const table = (at: number, sig: string) => {
      expect(str(bytes(m, at, 4))).toBe(sig);
      const b = bytes(m, at, m.readU32(at + 4));
      expect(sum(b)).toBe(0);
      return b;
    };
    const rsdt = table(m.readU32(rsdp + 16), "RSDT");
    expect(rsdt.length).toBe(36 + 2 * 4);
    const fadtAt = new DataView(rsdt.buffer).getUint32(36, true);
    const fadt = new DataView(table(fadtAt, "FACP").buffer);
    expect(fadt.byteLength).toBe(116);
    expect(fadt.getUint16(46, true)).toBe(SCI_IRQ);
    expect(fadt.getUint32(48, true)).toBe(0); // no SMI: ACPI always on
    expect([fadt.getUint32(56, true), fadt.getUint32(64, true), fadt.getUint8(88), fadt.getUint8(89)]).toEqual([PM1A_EVT_PORT, PM1A_CNT_PORT, 4, 2]);
    expect(str(bytes(m, fadt.getUint32(36, true), 4))).toBe("FACS");
    const dsdt = table(fadt.getUint32(40, true), "DSDT");
    expect([...dsdt.subarray(36)]).toEqual([0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00]);
    expect(ACPI_BASE).toBe(0xe0000);
  });

  test("the MADT lists each vCPU's local APIC, the IOAPIC at GSI 0 and only the SCI's override", () => {
    const m = GuestMemory.fromBuffers([{ gpa: 0, size: 0x100000 }]);
    const rsdp = writeAcpiTables(m, { ...LINUX_ACPI, vcpus: 2 });
    const rsdt = m.readU32(rsdp + 16);
    const madtAt = m.readU32(rsdt + 36 + 4);
    expect(str(bytes(m, madtAt, 4))).toBe("APIC");
    const madt = bytes(m, madtAt, m.readU32(madtAt + 4));
    expect(sum(madt)).toBe(0);
    const dv = new DataView(madt.buffer);
    expect(dv.getUint32(36, true)).toBe(LAPIC_ADDR);
    expect(dv.getUint32(40, true) & 1).toBe(1); // PCAT_COMPAT: there are 8259s too
    // Walk the entries the way the kernel does: type, length, body.
    const entries: number[][] = [];
    for (let at = 44; at < madt.length; at += madt[at + 1]!) entries.push([...madt.subarray(at, at + madt[at + 1]!)]);
    const u32 = (e: number[], o: number) => new DataView(Uint8Array.from(e).buffer).getUint32(o, true);
    expect(entries.map((e) => e[0])).toEqual([0, 0, 1, 2]);
    expect(entries.slice(0, 2).map((e) => [e[2], e[3], u32(e, 4)])).toEqual([[0, 0, 1], [1, 1, 1]]); // UID, APIC ID, enabled
    const ioapic = entries[2]!;
    expect([ioapic[1], u32(ioapic, 4), u32(ioapic, 8)]).toEqual([12, IOAPIC_ADDR, 0]);
    const iso = entries[3]!;
    expect([iso[1], iso[2], iso[3], u32(iso, 4), iso[8]! | (iso[9]! << 8)]).toEqual([10, 0, SCI_IRQ, SCI_IRQ, 0b1101]);
  });
});

describe("PM1a control", () => {
  test("SCI_EN reads 1; SLP_TYP 5 with SLP_EN powers off; other states do not", () => {
    let off = 0;
    const pm = new AcpiPm1Control(() => { off++; });
    expect(pm.read(0, 2) & PM1_CNT_SCI_EN).toBe(1);
    pm.write(0, 2, 5 << 10); // SLP_TYP first, as ACPICA does
    expect(off).toBe(0);
    pm.write(0, 2, (3 << 10) | (1 << 13)); // S3: not ours
    expect(off).toBe(0);
    pm.write(0, 2, (5 << 10) | (1 << 13));
    expect(off).toBe(1);
  });
});

describe("AML for the DSDT", () => {
  test("PkgLength: one byte below 64, then a nibble and whole bytes", () => {
    expect([...aml.pkgLength(10)]).toEqual([11]);
    expect([...aml.pkgLength(62)]).toEqual([63]);
    expect([...aml.pkgLength(63)]).toEqual([0x41, 0x04]); // 65 = 0x041
    expect([...aml.pkgLength(0x1000)]).toEqual([0x83, 0x00, 0x01]); // 0x1003 does not fit 12 bits
  });

  test("\\_S5 alone without virtio devices; with them, each LNRO0005 device under \\_SB with its registers and edge-triggered GSI", () => {
    expect([...dsdtBody([])]).toEqual([0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00]);
    const b = dsdtBody([{ base: 0xd0000000, size: 0x200, gsi: 16 }, { base: 0xd0001000, size: 0x200, gsi: 17 }]);
    const text = Buffer.from(b).toString("latin1");
    expect([b[11], b[12]! >> 6, text.slice(14, 19)]).toEqual([0x10, 1, "\\_SB_"]); // Scope (\_SB), a 2-byte PkgLength
    expect(text.split("LNRO0005").length - 1).toBe(2);
    // Device (VR01): ExtOp DeviceOp PkgLength (2 bytes) "VR01", then its names.
    const dev = text.indexOf("VR01");
    expect([b[dev - 4], b[dev - 3], b[dev - 2]! >> 6]).toEqual([0x5b, 0x82, 1]);
    // Its _CRS: Memory32Fixed (ReadWrite, 0xd0001000, 0x200), Interrupt (Consumer, Level, ActiveHigh, Exclusive) {17}, end tag.
    const crs = b.subarray(text.indexOf("\x86", dev));
    expect([...crs.subarray(0, 12)]).toEqual([0x86, 9, 0, 1, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x02, 0, 0]);
    expect([...crs.subarray(12, 23)]).toEqual([0x89, 6, 0, 3, 1, 17, 0, 0, 0, 0x79, 0]);
    // Every package length is consistent: the scope's covers the rest of the body.
    const scopeLen = (b[12]! & 0x0f) | (b[13]! << 4);
    expect(12 + scopeLen).toBe(b.length);
  });
});
