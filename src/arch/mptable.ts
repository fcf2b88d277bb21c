// The MP floating pointer and MP configuration table (Intel MultiProcessor Specification 1.4,
// chapter 4), for kernels that find their CPUs and IOAPIC this way rather than through ACPI
// (xv6, most hobby kernels, old Linux). It describes what KVM_CREATE_IRQCHIP made: one local APIC
// per vCPU (APIC ID = vCPU id, the boot processor first), an ISA bus, the IOAPIC, ISA IRQ n routed
// to IOAPIC pin n (KVM's default routing; the PIT's IRQ 0 included), and LINT0/LINT1 as ExtINT/NMI
// (the virtual-wire setup a BIOS leaves). No IMCR (the PIC is not in front of the APIC).
// The floating pointer is where a kernel's search looks: in the BIOS area 0xF0000-0xFFFFF.
import { ascii, checksum8 } from "../binary/checksum";
import type { GuestMemory } from "../memory/guest-memory";
import { IOAPIC_ID } from "./acpi";
import { IOAPIC_ADDR, LAPIC_ADDR, MP_TABLE_BASE } from "./layout";

export const MP_SPEC_REV = 4; // 1.4
const LAPIC_VERSION = 0x14; // what KVM's local APIC reports
const IOAPIC_VERSION = 0x11; // what KVM's IOAPIC reports
const ISA_BUS = 0;
const ISA_IRQS = 16;

// Entry types (table 4-3).
export const MP_PROCESSOR = 0;
export const MP_BUS = 1;
export const MP_IOAPIC = 2;
export const MP_IO_INTERRUPT = 3;
export const MP_LOCAL_INTERRUPT = 4;
// Interrupt types.
export const MP_INT = 0;
export const MP_NMI = 1;
export const MP_EXTINT = 3;

const CPU_ENABLED = 0x01;
const CPU_BOOT = 0x02;

export const FLOATING_SIZE = 16;
const HEADER_SIZE = 44;

/** The processor entries' CPU signature and feature flags: family 6, with an FPU and a local APIC. Kernels ask CPUID itself. */
const CPU_SIGNATURE = 0x600;
const CPU_FEATURES = 0x001 | 0x200;

export interface MpBoard {
  vcpus: number;
}



/** The configuration table (header and entries) as it sits at `base`. */
export function mpConfigTable(b: MpBoard): Uint8Array {
  const entries: Uint8Array[] = [];
  const entry = (size: number, fill: (dv: DataView) => void) => {
    const e = new Uint8Array(size);
    fill(new DataView(e.buffer));
    entries.push(e);
  };
  for (let id = 0; id < b.vcpus; id++) {
    entry(20, (dv) => {
      dv.setUint8(0, MP_PROCESSOR);
      dv.setUint8(1, id);
      dv.setUint8(2, LAPIC_VERSION);
      dv.setUint8(3, CPU_ENABLED | (id === 0 ? CPU_BOOT : 0));
      dv.setUint32(4, CPU_SIGNATURE, true);
      dv.setUint32(8, CPU_FEATURES, true);
    });
  }
  entry(8, (dv) => {
    dv.setUint8(0, MP_BUS);
    dv.setUint8(1, ISA_BUS);
    new Uint8Array(dv.buffer).set(ascii("ISA   "), 2);
  });
  entry(8, (dv) => {
    dv.setUint8(0, MP_IOAPIC);
    dv.setUint8(1, IOAPIC_ID);
    dv.setUint8(2, IOAPIC_VERSION);
    dv.setUint8(3, 1); // usable
    dv.setUint32(4, IOAPIC_ADDR, true);
  });
  for (let irq = 0; irq < ISA_IRQS; irq++) {
    if (irq === 2) continue; // the cascade: no ISA device raises it
    entry(8, (dv) => {
      dv.setUint8(0, MP_IO_INTERRUPT);
      dv.setUint8(1, MP_INT);
      dv.setUint16(2, 0, true); // polarity and trigger conform to the bus (ISA: active high, edge)
      dv.setUint8(4, ISA_BUS);
      dv.setUint8(5, irq);
      dv.setUint8(6, IOAPIC_ID);
      dv.setUint8(7, irq);
    });
  }
  for (const [type, lint] of [[MP_EXTINT, 0], [MP_NMI, 1]] as const) {
    entry(8, (dv) => {
      dv.setUint8(0, MP_LOCAL_INTERRUPT);
      dv.setUint8(1, type);
      dv.setUint8(4, ISA_BUS);
      dv.setUint8(5, 0);
      dv.setUint8(6, 0xff); // every local APIC
      dv.setUint8(7, lint);
    });
  }
  const length = HEADER_SIZE + entries.reduce((n, e) => n + e.length, 0);
  const t = new Uint8Array(length);
  const dv = new DataView(t.buffer);
  t.set(ascii("PCMP"), 0);
  dv.setUint16(4, length, true);
  dv.setUint8(6, MP_SPEC_REV);
  t.set(ascii("MICROVMM"), 8);
  t.set(ascii("PC          "), 16);
  dv.setUint16(34, entries.length, true);
  dv.setUint32(36, LAPIC_ADDR, true);
  let at = HEADER_SIZE;
  for (const e of entries) { t.set(e, at); at += e.length; }
  t[7] = checksum8(t);
  return t;
}

/** The 16-byte floating pointer structure, pointing at the table at `tableAddr`. */
export function mpFloatingPointer(tableAddr: number): Uint8Array {
  const f = new Uint8Array(FLOATING_SIZE);
  const dv = new DataView(f.buffer);
  f.set(ascii("_MP_"), 0);
  dv.setUint32(4, tableAddr, true);
  dv.setUint8(8, 1); // length in 16-byte units
  dv.setUint8(9, MP_SPEC_REV);
  // Feature byte 1 = 0: the configuration table is present; byte 2 bit 7 = 0: no IMCR.
  f[10] = checksum8(f);
  return f;
}

/** Where writeMpTable puts the floating pointer and the table: [MP_TABLE_BASE, end). */
export function mpTableRange(b: MpBoard): { start: number; end: number } {
  return { start: MP_TABLE_BASE, end: MP_TABLE_BASE + FLOATING_SIZE + mpConfigTable(b).length };
}

/** Writes the floating pointer at MP_TABLE_BASE and the table right after it; returns the bytes used. */
export function writeMpTable(memory: GuestMemory, b: MpBoard): number {
  const table = mpConfigTable(b);
  memory.write(MP_TABLE_BASE, mpFloatingPointer(MP_TABLE_BASE + FLOATING_SIZE), "MP floating pointer");
  memory.write(MP_TABLE_BASE + FLOATING_SIZE, table, "MP configuration table");
  return FLOATING_SIZE + table.length;
}
