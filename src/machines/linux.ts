// The Linux machine: the Linux boot protocols (bzImage, PVH, 64-bit vmlinux) on the Linux board,
// with KVM's in-kernel irqchip and PIT. ACPI tables, kernel, initrd and boot information are all
// placed and checked before KVM is touched.
import { writeAcpiTables } from "../arch/acpi";
import { LEGACY_HOLE_END } from "../arch/layout";
import { LinuxBoot, type LinuxBootOptions } from "../boot/linux";
import { LINUX_ACPI, LinuxBoard, MAX_VIRTIO_DEVICES, virtioSlots, type LinuxWiring } from "../boards/linux";
import type { DiskImage } from "../host/disk-image";
import type { Tap } from "../host/tap";
import { VirtioBlk } from "../virtio/blk";
import { VirtioRng } from "../virtio/rng";
import { VirtioNet } from "../virtio/net";
import { BadInputError } from "../errors";
import { Machine, type MachineBasics } from "../machine";

/**
 * The default command line, each option there for a reason:
 *   console=ttyS0      the kernel's console is our 16550A
 *   reboot=k           reboot through the i8042's reset pulse, which ends the VM
 *   panic=1            on panic, reboot (so end the VM) after 1 s instead of hanging
 *   pci=off            there is no PCI bus: skip probing it (virtio devices are in the DSDT)
 *   8250.nr_uarts=1    one UART: do not probe COM2-4
 *   i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd   a bare controller: no mouse, no mux,
 *                      no PnP lookup, no keyboard commands to wait on
 *   no_timer_check     skip the IOAPIC timer check, unreliable under virtualization
 */
export const DEFAULT_CMDLINE = "console=ttyS0 reboot=k panic=1 pci=off 8250.nr_uarts=1 " +
  "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd no_timer_check";

export type LinuxOptions = MachineBasics & Omit<LinuxWiring, "virtio"> & Omit<LinuxBootOptions, "rsdp"> & {
  /** Disks (--disk), each a virtio-blk device: /dev/vda, /dev/vdb, … in this order. The caller opens and closes them. */
  drives?: readonly DiskImage[];
  /** A virtio-net card (--net) on this TAP; the caller opens and closes it. */
  net?: { tap: Tap; mac: Uint8Array };
};

export type LinuxMachine = Machine & { readonly board: LinuxBoard; readonly boot: LinuxBoot };

export function createLinuxMachine(o: LinuxOptions): LinuxMachine {
  const drives = o.drives ?? [];
  // The disks, the network card, then the entropy device (virtio-rng: the kernel's random pool is seeded at boot).
  const count = drives.length + (o.net === undefined ? 0 : 1) + 1;
  if (count > MAX_VIRTIO_DEVICES) throw new BadInputError(`at most ${MAX_VIRTIO_DEVICES - 1} virtio disks and cards for a Linux kernel`);
  return Machine.build({ ...o, irqchip: true, hugePages: true }, (memory) => {
    if (!memory.contains(0, LEGACY_HOLE_END)) {
      throw new BadInputError("Linux needs guest RAM beyond 1 MiB (boot pages, ACPI tables, the kernel) — raise --memory");
    }
    // The tables describe the board; the boot information points at their RSDP.
    const rsdp = writeAcpiTables(memory, { ...LINUX_ACPI, vcpus: o.cpus ?? 1, virtio: virtioSlots(count) });
    return LinuxBoot.place(memory, { ...o, rsdp });
  }, (core) => new LinuxBoard(core, {
    ...o,
    // The disks and the card: the device thread does their I/O with its own copies, built from the specs.
    virtio: [
      ...drives.map((d, i) => {
        const serial = `microvmm-disk${i}`;
        return { name: `blk${i}`, device: new VirtioBlk(core.memory, d, serial, core.reports.of(`virtio blk${i}`)), thread: { kind: "blk" as const, disk: d.handle, serial } };
      }),
      ...(o.net === undefined ? [] : [{
        name: "net", device: new VirtioNet(core.memory, o.net.tap, o.net.mac),
        thread: { kind: "net" as const, tap: { name: o.net.tap.name, fd: o.net.tap.fd }, mac: [...o.net.mac] },
      }]),
      { name: "rng", device: new VirtioRng(core.memory) },
    ],
  }));
}
