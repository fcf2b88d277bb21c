// Minimal ACPI tables: RSDP → RSDT → FADT (→ FACS, DSDT) and MADT.
// The MADT describes the in-kernel interrupt controllers KVM_CREATE_IRQCHIP made: a local APIC
// per vCPU and the IOAPIC. Without it (and without an MP table) a kernel finds no APIC at all and
// falls back to the 8259 PIC with the PIT ticking at HZ: no local APIC timer, no tickless idle.
// KVM's default routing wires ISA IRQ n to IOAPIC pin n, which is what a kernel assumes without
// an interrupt source override, so only the SCI gets one (ACPI's default for it is active-low).
// The DSDT defines \_S5 (the soft-off sleep type) and the virtio-mmio devices, if any. The FADT is the ACPI 1.0 kind (revision 1),
// not hardware-reduced, so the legacy PIC/PIT setup stays as it is; it points at PM1a event and
// control blocks (devices/acpi-pm.ts), and the kernel's ACPI power-off writes SLP_TYP = 5 with
// SLP_EN to PM1a_CNT. ACPI is always on (SMI_CMD = 0): there is no SMM to hand over from.
// Everything lives in the legacy BIOS area, which the e820 map marks reserved; the RSDP is where
// the kernel's scan of 0xE0000-0xFFFFF finds it, and also given in boot_params.acpi_rsdp_addr.
import { ascii, checksum8 } from "../binary/checksum";
import type { GuestMemory } from "../memory/guest-memory";
import * as aml from "./aml";
import { ACPI_BASE, IOAPIC_ADDR, LAPIC_ADDR } from "./layout";

/** What the tables describe that the board decides: its vCPUs, and where its power-management blocks and SCI are. */
export interface AcpiBoard {
  vcpus: number;
  /** PM1a event block: 4 ports (status, enable). */
  pm1aEvtPort: number;
  /** PM1a control block: 2 ports. */
  pm1aCntPort: number;
  sciIrq: number;
  /** virtio-mmio devices, described in the DSDT. */
  virtio?: readonly VirtioSlot[];
}
/** KVM's IOAPIC resets with ID 0 and has 24 pins (GSI 0-23). */
export const IOAPIC_ID = 0;
/** SLP_TYP for S5 in \_S5 (the kernel writes it to PM1a_CNT bits 10-12). */
export const S5_SLP_TYP = 5;

/** The RSDP in its ACPI 1.0 form (revision 0): 20 bytes. */
export const RSDP_V1_SIZE = 20;

const OEM_ID = "MVMM  ";
const OEM_TABLE_ID = "MICROVMM";
const HEADER = 36;

// Offsets inside the area at ACPI_BASE.
const RSDP_OFF = 0x000;
const RSDT_OFF = 0x040;
const FADT_OFF = 0x080;
const FACS_OFF = 0x140; // 64-byte aligned
const MADT_OFF = 0x180;
/** Room for a MADT with 255 processors (8 bytes each), the most xAPIC IDs allow, then the DSDT. */
export const ACPI_AREA_SIZE = 0x1000;

// MADT entry types and flags (ACPI 6.5, 5.2.12).
const MADT_PCAT_COMPAT = 1; // the 8259 pair is there too (the kernel masks it)
const MADT_LOCAL_APIC = 0;
const MADT_IO_APIC = 1;
const MADT_INTERRUPT_OVERRIDE = 2;
const LAPIC_ENABLED = 1;
const MPS_ACTIVE_HIGH = 0b01;
const MPS_LEVEL = 0b11 << 2;

/** A virtio-mmio device as the DSDT describes it: its register page and its interrupt. */
export interface VirtioSlot { base: number; size: number; gsi: number }

/**
 * The DSDT's definitions: \_S5 (soft-off) and, under \_SB, each virtio-mmio device the way QEMU's
 * microvm describes them (_HID LNRO0005, the registers, a GSI; edge-triggered, as KVM's irqfd raises it), which is how a
 * kernel whose virtio_mmio driver takes no command-line devices finds them.
 */
export function dsdtBody(virtio: readonly VirtioSlot[]): Uint8Array {
  const s5 = aml.name("_S5_", aml.pkg([aml.integer(S5_SLP_TYP), aml.integer(0)]));
  if (virtio.length === 0) return s5;
  const devices = virtio.map((v, i) => aml.device(`VR${i.toString(16).toUpperCase().padStart(2, "0")}`, [
    aml.name("_HID", aml.string("LNRO0005")),
    aml.name("_UID", aml.integer(i)),
    aml.name("_CCA", aml.integer(1)), // cache-coherent DMA
    aml.name("_CRS", aml.resourceTemplate([aml.memory32Fixed(v.base, v.size), aml.edgeInterrupt(v.gsi)])),
  ]));
  const sb = aml.scope("\\_SB_", devices);
  const out = new Uint8Array(s5.length + sb.length);
  out.set(s5);
  out.set(sb, s5.length);
  return out;
}



/** A system description table: the 36-byte header, then `body`, checksummed. */
function table(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const t = new Uint8Array(HEADER + body.length);
  const dv = new DataView(t.buffer);
  t.set(ascii(signature), 0);
  dv.setUint32(4, t.length, true);
  dv.setUint8(8, revision);
  t.set(ascii(OEM_ID), 10);
  t.set(ascii(OEM_TABLE_ID), 16);
  dv.setUint32(24, 1, true); // OEM revision
  t.set(ascii("MVMM"), 28); // creator
  dv.setUint32(32, 1, true);
  t.set(body, HEADER);
  t[9] = checksum8(t);
  return t;
}

/** MADT body: local APIC address and flags, one Processor Local APIC per vCPU, the IOAPIC, the SCI's override. */
function madtBody(vcpus: number, sciIrq: number): Uint8Array {
  const b = new Uint8Array(8 + 8 * vcpus + 12 + 10);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, LAPIC_ADDR, true);
  dv.setUint32(4, MADT_PCAT_COMPAT, true);
  let at = 8;
  for (let id = 0; id < vcpus; id++, at += 8) {
    b.set([MADT_LOCAL_APIC, 8, id, id], at); // ACPI processor UID, APIC ID (KVM's vCPU id)
    dv.setUint32(at + 4, LAPIC_ENABLED, true);
  }
  b.set([MADT_IO_APIC, 12, IOAPIC_ID, 0], at);
  dv.setUint32(at + 4, IOAPIC_ADDR, true);
  dv.setUint32(at + 8, 0, true); // its first GSI
  at += 12;
  b.set([MADT_INTERRUPT_OVERRIDE, 10, 0, sciIrq], at); // bus 0 (ISA), the SCI's IRQ
  dv.setUint32(at + 4, sciIrq, true); // to the same GSI
  dv.setUint16(at + 8, MPS_ACTIVE_HIGH | MPS_LEVEL, true); // as KVM_IRQ_LINE would raise it
  return b;
}

/** Writes the tables at ACPI_BASE for the board; returns the RSDP's address. */
export function writeAcpiTables(memory: GuestMemory, board: AcpiBoard): number {
  const { vcpus, sciIrq } = board;
  const area = new Uint8Array(ACPI_AREA_SIZE);
  const put = (off: number, bytes: Uint8Array) => area.set(bytes, off);
  const madt = table("APIC", 1, madtBody(vcpus, sciIrq));
  const dsdt = table("DSDT", 1, dsdtBody(board.virtio ?? []));
  const dsdtOff = Math.ceil((MADT_OFF + madt.length) / 16) * 16;
  if (dsdtOff + dsdt.length > ACPI_AREA_SIZE) throw new Error(`ACPI tables for ${vcpus} vCPUs and ${board.virtio?.length ?? 0} virtio devices do not fit`);

  // FADT, revision 1 (116 bytes).
  const fadt = new Uint8Array(116 - HEADER);
  const f = new DataView(fadt.buffer);
  const at = (fadtOffset: number) => fadtOffset - HEADER;
  f.setUint32(at(36), ACPI_BASE + FACS_OFF, true); // FIRMWARE_CTRL
  f.setUint32(at(40), ACPI_BASE + dsdtOff, true); // DSDT
  f.setUint16(at(46), sciIrq, true); // SCI_INT
  f.setUint32(at(48), 0, true); // SMI_CMD: none, ACPI is always on
  f.setUint32(at(56), board.pm1aEvtPort, true); // PM1a_EVT_BLK
  f.setUint32(at(64), board.pm1aCntPort, true); // PM1a_CNT_BLK
  f.setUint8(at(88), 4); // PM1_EVT_LEN
  f.setUint8(at(89), 2); // PM1_CNT_LEN
  f.setUint32(at(112), (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5), true); // WBINVD, PROC_C1, no power/sleep buttons
  put(FADT_OFF, table("FACP", 1, fadt));

  // FACS (64 bytes, no header checksum).
  const facs = new Uint8Array(64);
  facs.set(ascii("FACS"), 0);
  new DataView(facs.buffer).setUint32(4, 64, true);
  put(FACS_OFF, facs);

  put(MADT_OFF, madt);
  put(dsdtOff, dsdt);

  // RSDT: the FADT and the MADT.
  const rsdt = new Uint8Array(8);
  new DataView(rsdt.buffer).setUint32(0, ACPI_BASE + FADT_OFF, true);
  new DataView(rsdt.buffer).setUint32(4, ACPI_BASE + MADT_OFF, true);
  put(RSDT_OFF, table("RSDT", 1, rsdt));

  // RSDP, ACPI 1.0 form (20 bytes).
  const rsdp = new Uint8Array(RSDP_V1_SIZE);
  rsdp.set(ascii("RSD PTR "), 0);
  rsdp.set(ascii(OEM_ID), 9);
  rsdp[15] = 0; // revision 0
  new DataView(rsdp.buffer).setUint32(16, ACPI_BASE + RSDT_OFF, true);
  rsdp[8] = checksum8(rsdp);
  put(RSDP_OFF, rsdp);

  memory.write(ACPI_BASE, area, "ACPI tables");
  return ACPI_BASE + RSDP_OFF;
}
