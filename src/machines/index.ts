// Choosing the machine kind for a guest, and building it: shared by the command line and the
// library. A Linux kernel (a bzImage, or an ELF vmlinux with a PVH note, or anything given as
// the kernel) gets the Linux machine; a multiboot kernel the PC machine; everything else the
// plain machine.
import type { CpuMode } from "../arch/cpu-modes";
import type { PlainGuest } from "../boot/plain";
import type { BlockBackend } from "../devices/pv-block";
import { aboutFile, BadInputError } from "../errors";
import { findMultiboot, type MultibootHeader } from "../loaders/multiboot";
import { isLinuxKernel, type GuestFile } from "../guest-file";
import type { KeySource } from "../host/input";
import type { Machine } from "../machine";
import { createLinuxMachine, DEFAULT_CMDLINE } from "./linux";
import { createPcMachine } from "./pc";
import { createPlainMachine } from "./plain";
import type { PcConsole } from "../boards/pc";
import type { DiskImage } from "../host/disk-image";
import type { Tap } from "../host/tap";

/** What one VM runs: a plain guest, a multiboot kernel, or a Linux kernel. */
export type GuestPlan =
  | { kind: "plain"; guest: PlainGuest }
  | { kind: "multiboot"; kernel: GuestFile; header: MultibootHeader }
  | { kind: "linux"; kernel: GuestFile };

/** --mode, --load, --entry: a raw binary's placement, or another mode for an ELFCLASS32 guest. */
export interface Placement { mode?: CpuMode; load?: number; entry?: number }

/** The machine kind for a guest file; `asKernel` when the user said it is a Linux kernel. */
export function planGuest(file: GuestFile, p: Placement, asKernel = false): GuestPlan {
  if (asKernel) return { kind: "linux", kernel: file };
  if (p.mode !== undefined || p.load !== undefined || p.entry !== undefined) {
    if (file.kind !== "elf") {
      const load = p.load ?? 0;
      return { kind: "plain", guest: { file, raw: { mode: p.mode ?? "real", load, entry: p.entry ?? load } } };
    }
    if (p.load !== undefined || p.entry !== undefined) throw new BadInputError(`${file.name}: --load and --entry are for raw binaries; an ELF says where it goes`);
  }
  if (isLinuxKernel(file) && p.mode === undefined) return { kind: "linux", kernel: file };
  if (p.mode === undefined) {
    const header = aboutFile(file.name, () => findMultiboot(file.bytes));
    if (header !== undefined) return { kind: "multiboot", kernel: file, header };
  }
  return { kind: "plain", guest: { file, mode: p.mode } };
}

export interface MachineOptions {
  memorySize: number;
  /** vCPUs (default 1); more need `apWorker`. */
  cpus?: number;
  /** Creates a Worker running vcpu/ap-worker.ts, one per vCPU after the first. */
  apWorker?: () => Worker;
  kvmPath: string;
  /** Guest output: the console and debugcon, or the serial console (Linux, PC). */
  output: (bytes: Uint8Array) => void;
  /** Host keys for the guest's keyboard or console UART. */
  input?: KeySource;
  /** Where problems the guest causes are printed (at most a few of each kind). */
  warn: (line: string) => void;
  /** Print unclaimed MMIO accesses too, not only unclaimed ports. */
  reportMmioMisses: boolean;
  /** False: every port write exits, none waits in KVM's coalesced ring. */
  coalesce?: boolean;
  trace?: (line: string) => void;
  /** Plain guests: hypercall 0xEF gives guest-physical addresses, not host ones. */
  noHostAddresses?: boolean;
  /** Plain and multiboot guests: QEMU's isa-debug-exit at port 0xF4. */
  debugExit?: boolean;
  /** Plain guests: disk drives 0, 1, …; Linux: virtio disks. The caller opens and closes them. */
  drives: readonly DiskImage[];
  /** Linux: a virtio-net card on this TAP device. */
  net?: { tap: Tap; mac: Uint8Array };
  /** Linux: creates a Worker running virtio/io-worker.ts, the device thread of the disks and the card. */
  ioWorker?: () => Worker;
  /** Multiboot kernels (the PC board): the IDE disks, [master, slave]; the caller opens and closes them. */
  ide?: ReadonlyArray<BlockBackend | undefined>;
  /** Multiboot kernels: the VGA screen and PS/2 keys, or COM1 both ways (default serial). */
  console?: PcConsole;
  /** Multiboot kernels: modules (--module), loaded after the kernel in order. */
  modules?: ReadonlyArray<{ name: string; bytes: Uint8Array; cmdline: string }>;
  /** Multiboot kernels: the screen, when something shows it (between slices). */
  display?: (cells: Uint8Array, cursor: { row: number; column: number } | undefined) => void;
  /** Linux: the initrd, and the command line (default DEFAULT_CMDLINE) with additions. */
  initrd?: { name: string; bytes: Uint8Array };
  cmdline?: string;
  append?: readonly string[];
}

export function createMachine(plan: GuestPlan, o: MachineOptions): Machine {
  if (plan.kind === "linux") {
    const cmdline = [o.cmdline ?? DEFAULT_CMDLINE, ...(o.append ?? [])].join(" ");
    return createLinuxMachine({ ...o, kernel: plan.kernel, cmdline });
  }
  if (plan.kind === "multiboot") {
    // As GRUB and QEMU do: the kernel's file name first, unless --cmdline gives the whole line.
    const cmdline = [o.cmdline ?? plan.kernel.name, ...(o.append ?? [])].join(" ");
    return createPcMachine({ ...o, kernel: plan.kernel, header: plan.header, cmdline, console: o.console ?? "serial", ide: o.ide ?? [], modules: o.modules ?? [] });
  }
  return createPlainMachine({ ...o, guest: plan.guest, clock: () => performance.now() });
}
