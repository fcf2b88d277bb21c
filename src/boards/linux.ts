// The Linux board: KVM's in-kernel PIC/IOAPIC/LAPIC and PIT (the core makes them), a 16550A on
// COM1 (IRQ 4) for the console, an i8042 for reset, a CMOS clock, ACPI PM1a blocks for power-off
// (described by the ACPI tables the machine writes from LINUX_ACPI), and quiet answers to the
// legacy ports a kernel probes, and virtio-mmio devices (a disk per --disk, the network card, the
// entropy device), each at its page from VIRTIO_MMIO_BASE with IOAPIC pin 16, 17, … (above the
// ISA IRQs, so no 8259 shares them; edge-triggered), described in the DSDT. The disks and the
// card do their I/O on the device thread (virtio/io-thread.ts); the entropy device, which only
// copies from getrandom, answers here. Only this file knows these port numbers and IRQs.
import type { AcpiBoard, VirtioSlot } from "../arch/acpi";
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE } from "../arch/layout";
import { VIRTIO_MMIO_SIZE, VirtioMmio, type VirtioDevice } from "../virtio/mmio";
import { IoThread, type DeviceSpec } from "../virtio/io-thread";
import { ExitStatus, HostError } from "../errors";
import type { VmCore } from "../core/vm";
import type { VmStop } from "../core/stop";
import { AcpiPm1Control, AcpiPm1Event } from "../devices/acpi-pm";
import { Cmos } from "../devices/cmos";
import { I8042 } from "../devices/i8042";
import { Quiet } from "../devices/quiet";
import { Serial } from "../devices/serial";
import type { KeySink, KeySource } from "../host/input";
import type { Board, StatsPart } from "../machine";
import { KICKED } from "../vcpu/runner";

export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;
export const CMOS_PORT = 0x70;
export const I8042_PORT = 0x60; // 0x60 data … 0x64 command (0x61 belongs to the in-kernel PIT)
export const PM1A_EVT_PORT = 0x600; // 4 bytes: PM1 status (2), PM1 enable (2)
export const PM1A_CNT_PORT = 0x604; // 2 bytes: PM1 control
export const SCI_IRQ = 9;
/** The first virtio device's GSI; KVM's IOAPIC has pins up to 23. */
export const VIRTIO_GSI_BASE = 16;
export const MAX_VIRTIO_DEVICES = 8;

/** Where virtio device i sits and which GSI it raises. */
export function virtioSlots(count: number): VirtioSlot[] {
  if (count > MAX_VIRTIO_DEVICES) throw new Error(`at most ${MAX_VIRTIO_DEVICES} virtio devices`);
  return Array.from({ length: count }, (_, i) => ({ base: VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, size: VIRTIO_MMIO_SIZE, gsi: VIRTIO_GSI_BASE + i }));
}

/** Legacy ports a kernel probes, answered quietly like absent hardware. */
export const QUIET_PORTS: ReadonlyArray<{ base: number; length: number; why: string }> = [
  { base: 0x2e, length: 2, why: "Super I/O configuration (first address): no Super I/O chip" },
  { base: 0x4e, length: 2, why: "Super I/O configuration (second address)" },
  { base: 0x80, length: 1, why: "POST code port, written as an I/O delay" },
  { base: 0x87, length: 1, why: "DMA page register" },
  { base: 0x2e8, length: 8, why: "COM4 probe: absent" },
  { base: 0x2f8, length: 8, why: "COM2 probe: absent" },
  { base: 0x3e8, length: 8, why: "COM3 probe: absent" },
  { base: 0xcf8, length: 8, why: "PCI configuration mechanism 1: no PCI bus" },
];

/** What the ACPI tables say about this board. */
export const LINUX_ACPI: AcpiBoard = { vcpus: 1, pm1aEvtPort: PM1A_EVT_PORT, pm1aCntPort: PM1A_CNT_PORT, sciIrq: SCI_IRQ };

/** How the kernel starts a panic message (kernel/panic.c). */
export const KERNEL_PANIC = "Kernel panic - not syncing";
const latin1 = new TextDecoder("latin1");

export interface LinuxWiring {
  /** The serial console's output. */
  output: (bytes: Uint8Array) => void;
  /** Host keys; the UART pulls more when the guest has read its receive FIFO empty. */
  input?: KeySource;
  /**
   * virtio devices, each on its transport at the next slot (virtioSlots), named for --stats.
   * A device with a `thread` spec has its queues served by the device thread, which builds its
   * own copy of the device from the spec (`device` here answers the registers).
   */
  virtio?: ReadonlyArray<{ name: string; device: VirtioDevice & { stats: object }; thread?: DeviceSpec }>;
  /** Creates a Worker running virtio/io-worker.ts: the device thread. */
  ioWorker?: () => Worker;
}

export class LinuxBoard implements Board {
  readonly serial: Serial;
  readonly pacing = KICKED;
  /** The UART's receive FIFO as a place for host keys. */
  readonly keys: KeySink;
  private readonly panic = new PanicWatch();
  private readonly byte = new Uint8Array(1);
  readonly virtio: Array<{ name: string; transport: VirtioMmio }> = [];
  /** The device thread, if a device has its I/O there. */
  private readonly io: IoThread | undefined;

  constructor(private readonly core: VmCore, private readonly w: LinuxWiring) {
    const serial = new Serial((b) => {
      this.byte[0] = b;
      w.output(this.byte);
      this.panic.see(b);
    }, (level) => core.irqLine(COM1_IRQ, level), () => w.input?.pull(this.keys));
    this.serial = serial;
    this.keys = { get space() { return serial.rxSpace; }, push: (b) => serial.receive(b) };
    const ports = core.ports;
    ports.insert(COM1_PORT, 8, "serial", serial);
    ports.insert(I8042_PORT, 5, "i8042", new I8042(() => core.stop.request(this.resetStop())));
    ports.insert(CMOS_PORT, 2, "cmos", new Cmos());
    ports.insert(PM1A_EVT_PORT, 4, "acpi pm1a event", new AcpiPm1Event());
    ports.insert(PM1A_CNT_PORT, 2, "acpi pm1a control", new AcpiPm1Control(() => {
      core.stop.request({ status: ExitStatus.Ok, message: "guest powered off (ACPI S5)", dumpState: false });
    }));
    const quiet = new Quiet();
    for (const q of QUIET_PORTS) ports.insert(q.base, q.length, "quiet", quiet);
    const devices = w.virtio ?? [];
    this.io = devices.some((d) => d.thread !== undefined) ? this.deviceThread() : undefined;
    virtioSlots(devices.length).forEach((slot, i) => {
      const { name, device, thread } = devices[i]!;
      const offload = thread === undefined ? undefined : this.io!.add(name, thread, device.queueSizes.length, slot.base, slot.gsi);
      const transport = new VirtioMmio(core.memory, device, (level) => core.irqLine(slot.gsi, level), core.reports.of(`virtio ${name}`), offload);
      core.mmio.insert(slot.base, slot.size, `virtio ${name}`, transport);
      this.virtio.push({ name, transport });
    });
  }

  private deviceThread(): IoThread {
    const vm = this.core.eventFds();
    if (vm === undefined) throw new HostError("this KVM has no ioeventfd or irqfd (KVM_CAP_IOEVENTFD, KVM_CAP_IRQFD), which virtio disks and network cards need");
    if (this.w.ioWorker === undefined) throw new Error("virtio disks and network cards need the device thread's Worker");
    return new IoThread(vm, this.core.memory, this.w.ioWorker, this.core.reports);
  }

  start(): void {
    this.io?.start();
  }

  /** Between slices: the device thread's reports; a failed thread ends the VM. */
  poll(): VmStop | undefined {
    const io = this.io;
    if (io === undefined) return undefined;
    io.poll();
    if (io.failure === undefined) return undefined;
    return { status: ExitStatus.Internal, message: io.failure, dumpState: false };
  }

  finish(): void {
    this.io?.stop();
  }

  stats(): StatsPart {
    const c = this.serial.counts;
    const virtio = this.virtio.map((v) => ({ name: v.name, ...v.transport.counters() }));
    return {
      json: { serial: { ...c }, virtio },
      lines: [`  serial: ${c.transmitted} bytes sent, ${c.received} received, ${c.overruns} overruns`,
        ...virtio.map(({ name, ...counts }) => `  virtio ${name}: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ")}`)],
    };
  }

  /** With panic=1 a panicking kernel resets like `reboot -f` does: the console tells the two apart. */
  private resetStop(): VmStop {
    const line = this.panic.line;
    if (line !== undefined) return { status: ExitStatus.GuestFailed, message: `guest kernel panicked: ${line}`, dumpState: false };
    return { status: ExitStatus.Ok, message: "guest reset (i8042)", dumpState: false };
  }
}

/** Collects console bytes into a line (no allocation per byte); keeps the first line that starts a panic. */
export class PanicWatch {
  line: string | undefined;
  private readonly buffer = new Uint8Array(512);
  private length = 0;

  see(b: number): void {
    if (b !== 0x0a) {
      if (b !== 0x0d && this.length < this.buffer.length) this.buffer[this.length++] = b;
      return;
    }
    if (this.line === undefined) {
      const text = latin1.decode(this.buffer.subarray(0, this.length));
      const i = text.indexOf(KERNEL_PANIC);
      if (i >= 0) this.line = text.slice(i);
    }
    this.length = 0;
  }
}
