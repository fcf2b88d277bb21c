// Thin wrappers over the KVM API, one method per ioctl, one class per fd: Kvm (/dev/kvm) →
// Vm → Vcpu. Each method makes the call, lets libc turn -1 into a SyscallError naming the
// ioctl, and returns. No policy lives here.
import * as libc from "../libc/libc";
import { E2BIG, EACCES, EINVAL, ENOENT, ENODEV, ENOTTY, ENXIO, EPERM } from "../libc/errno";
import { HostError } from "../errors";
import {
  kvm_coalesced_mmio_zone, kvm_cpuid2, kvm_cpuid_entry2, kvm_fpu, kvm_guest_debug, kvm_msr_entry, kvm_msrs, kvm_regs, kvm_sregs,
  kvm_ioeventfd, kvm_irqfd, kvm_pit_config, kvm_run, KVM_IOEVENTFD_FLAG_DATAMATCH, kvm_translation, kvm_userspace_memory_region,
  type KvmCpuidEntry2, type KvmFpu, type KvmRegs, type KvmSregs,
} from "./bindings";
import * as K from "./ioctls";
import { KICK_SIGNO, type KickTarget } from "./kick";

const IMMEDIATE_EXIT = kvm_run.offsetOf("immediate_exit");

export const KVM_API_VERSION = 12;
export const DEFAULT_KVM_PATH = "/dev/kvm";

export class Kvm {
  private constructor(readonly fd: number, readonly path: string) {}

  /** Opens the KVM device; failures become one-line errors saying what to do. */
  static open(path = DEFAULT_KVM_PATH): Kvm {
    let fd: number;
    try {
      fd = libc.open(path, libc.O_RDWR | libc.O_CLOEXEC);
    } catch (e) {
      if (!(e instanceof libc.SyscallError)) throw e;
      if (e.errno === ENOENT || e.errno === ENXIO || e.errno === ENODEV) {
        throw new HostError(`KVM is not available: ${path} does not exist — enable virtualization in the firmware and load kvm-intel or kvm-amd`);
      }
      if (e.errno === EACCES || e.errno === EPERM) {
        throw new HostError(`${path}: permission denied — add yourself to the kvm group (sudo usermod -aG kvm $USER) and log in again`);
      }
      throw new HostError(`KVM is not available: cannot open ${path}: ${e.message}`);
    }
    const kvm = new Kvm(fd, path);
    let version: number;
    try {
      version = kvm.getApiVersion();
    } catch (e) {
      libc.close(fd);
      if (e instanceof libc.SyscallError && (e.errno === ENOTTY || e.errno === EINVAL)) {
        throw new HostError(`KVM is not available: ${path} is not a KVM device — point --kvm at /dev/kvm`);
      }
      throw e;
    }
    if (version !== KVM_API_VERSION) {
      libc.close(fd);
      throw new HostError(`KVM is not usable: ${path} speaks API version ${version}, microvmm needs ${KVM_API_VERSION}`);
    }
    return kvm;
  }

  getApiVersion(): number {
    return libc.ioctlInt(this.fd, K.KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
  }

  checkExtension(cap: number): number {
    return libc.ioctlInt(this.fd, K.KVM_CHECK_EXTENSION, cap, "KVM_CHECK_EXTENSION");
  }

  getVcpuMmapSize(): number {
    return libc.ioctlInt(this.fd, K.KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
  }

  getSupportedCpuid(): CpuidTable {
    return readCpuid2(this.fd, K.KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID");
  }

  createVm(): Vm {
    const fd = libc.ioctlInt(this.fd, K.KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    return new Vm(this, fd);
  }

  close(): void {
    libc.close(this.fd);
  }
}

export interface MemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: number;
  memorySize: number;
  userspaceAddr: number;
}

export class Vm {
  private readonly vcpus: Vcpu[] = [];
  /** struct kvm_irq_level, reused: IRQ lines change on the exit path. */
  private readonly irqLevel = new Uint32Array(2);

  constructor(readonly kvm: Kvm, readonly fd: number) {}

  setUserMemoryRegion(r: MemoryRegion): void {
    const buf = kvm_userspace_memory_region.encode({
      slot: r.slot, flags: r.flags, guest_phys_addr: BigInt(r.guestPhysAddr),
      memory_size: BigInt(r.memorySize), userspace_addr: BigInt(r.userspaceAddr),
    });
    libc.ioctl(this.fd, K.KVM_SET_USER_MEMORY_REGION, buf, "KVM_SET_USER_MEMORY_REGION");
  }

  setTssAddr(addr: number): void {
    libc.ioctlInt(this.fd, K.KVM_SET_TSS_ADDR, addr, "KVM_SET_TSS_ADDR");
  }

  setIdentityMapAddr(addr: number): void {
    libc.ioctl(this.fd, K.KVM_SET_IDENTITY_MAP_ADDR, new BigUint64Array([BigInt(addr)]), "KVM_SET_IDENTITY_MAP_ADDR");
  }

  /** KVM_CREATE_IRQCHIP: the PIC, IOAPIC and a local APIC per vCPU, in the kernel. */
  createIrqchip(): void {
    libc.ioctlInt(this.fd, K.KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
  }

  /** KVM_CREATE_PIT2: the 8254 timer in the kernel (after the irqchip). */
  createPit2(flags: number): void {
    libc.ioctl(this.fd, K.KVM_CREATE_PIT2, kvm_pit_config.encode({ flags, pad: [] }), "KVM_CREATE_PIT2");
  }

  /** KVM_REGISTER_COALESCED_MMIO: writes to the zone wait in the ring instead of exiting. */
  registerCoalescedMmio(addr: number, size: number, pio: boolean): void {
    const zone = kvm_coalesced_mmio_zone.encode({ addr: BigInt(addr), size, pio: pio ? 1 : 0 });
    libc.ioctl(this.fd, K.KVM_REGISTER_COALESCED_MMIO, zone, "KVM_REGISTER_COALESCED_MMIO");
  }

  /** KVM_UNREGISTER_COALESCED_MMIO. */
  unregisterCoalescedMmio(addr: number, size: number, pio: boolean): void {
    const zone = kvm_coalesced_mmio_zone.encode({ addr: BigInt(addr), size, pio: pio ? 1 : 0 });
    libc.ioctl(this.fd, K.KVM_UNREGISTER_COALESCED_MMIO, zone, "KVM_UNREGISTER_COALESCED_MMIO");
  }

  /** KVM_IRQ_LINE: sets a GSI's level on the in-kernel irqchip. */
  irqLine(irq: number, level: boolean): void {
    this.irqLevel[0] = irq;
    this.irqLevel[1] = level ? 1 : 0;
    libc.ioctl(this.fd, K.KVM_IRQ_LINE, this.irqLevel, "KVM_IRQ_LINE");
  }

  /**
   * KVM_IOEVENTFD: a guest write of `len` bytes equal to `datamatch` at MMIO address `addr` signals
   * eventfd `fd` and the guest goes on, with no exit to user space (other writes there still exit).
   */
  ioeventfd(fd: number, addr: number, len: number, datamatch: number): void {
    const buf = kvm_ioeventfd.encode({ datamatch: BigInt(datamatch), addr: BigInt(addr), len, fd, flags: KVM_IOEVENTFD_FLAG_DATAMATCH, pad: [] });
    libc.ioctl(this.fd, K.KVM_IOEVENTFD, buf, "KVM_IOEVENTFD");
  }

  /** KVM_IRQFD: each signal on eventfd `fd` (from any thread) pulses GSI `gsi` on the in-kernel irqchip. */
  irqfd(fd: number, gsi: number): void {
    libc.ioctl(this.fd, K.KVM_IRQFD, kvm_irqfd.encode({ fd, gsi, flags: 0, resamplefd: 0, pad: [] }), "KVM_IRQFD");
  }

  createVcpu(id: number): Vcpu {
    const fd = libc.ioctlInt(this.fd, K.KVM_CREATE_VCPU, id, "KVM_CREATE_VCPU");
    const size = this.kvm.getVcpuMmapSize();
    const addr = libc.mmap(size, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_SHARED, fd, 0, "kvm_run");
    const vcpu = new Vcpu(id, fd, addr, size, this.kvm.checkExtension(K.KVM_CAP_IMMEDIATE_EXIT) > 0);
    this.vcpus.push(vcpu);
    return vcpu;
  }

  close(): void {
    for (const v of this.vcpus) v.close();
    libc.close(this.fd);
  }
}

export interface Translation {
  physicalAddress: number;
  valid: boolean;
  writeable: boolean;
  usermode: boolean;
}

export class Vcpu {
  /** The shared kvm_run area (KVM_GET_VCPU_MMAP_SIZE bytes), mapped once. */
  readonly run: Uint8Array;

  /**
   * runAddr: where kvm_run is mapped in this process; runSize: KVM_GET_VCPU_MMAP_SIZE;
   * immediateExit: KVM honours kvm_run.immediate_exit (KVM_CAP_IMMEDIATE_EXIT).
   */
  constructor(readonly id: number, readonly fd: number, readonly runAddr: number, readonly runSize: number,
    readonly immediateExit = false) {
    this.run = new Uint8Array(libc.hostView(runAddr, runSize));
  }

  /**
   * What another thread needs to kick this vCPU out of KVM_RUN (kick.ts). Call it on the thread
   * that runs the vCPU: the signal goes to the calling thread.
   */
  kickTarget(): KickTarget {
    return { thread: libc.pthreadSelf(), kvmRun: this.runAddr, immediateExit: this.immediateExit ? IMMEDIATE_EXIT : -1, signal: KICK_SIGNO };
  }

  /** KVM_RUN returned EINTR because the vCPU was kicked (immediate_exit is set), not for a mere signal. */
  get kicked(): boolean {
    return this.run[IMMEDIATE_EXIT] !== 0;
  }

  /** Makes the next KVM_RUN (or the one running, with a signal after this) return EINTR: kick.ts. */
  requestExit(): void {
    this.run[IMMEDIATE_EXIT] = 1;
  }

  /** The kick was seen: KVM_RUN may block again. */
  clearKick(): void {
    this.run[IMMEDIATE_EXIT] = 0;
  }

  /**
   * KVM_RUN with immediate_exit set: KVM finishes the I/O or MMIO exit it last reported (the data
   * read lands, RIP moves past the instruction) and returns EINTR before running the guest.
   * For looking at or changing the registers right after such an exit (api.rst, "immediate_exit").
   */
  completeExit(): void {
    this.run[IMMEDIATE_EXIT] = 1;
    this.runOnce();
    this.clearKick();
  }

  /** KVM_RUN. Returns 0, or -errno (EINTR when a signal arrived): the loop decides, no throw. */
  runOnce(): number {
    return libc.ioctlRaw(this.fd, K.KVM_RUN);
  }

  /** KVM_GET_MP_STATE: runnable, halted (waiting in HLT for an interrupt), … (KVM_MP_STATE_*). */
  getMpState(): number {
    const buf = new Uint8Array(4);
    libc.ioctl(this.fd, K.KVM_GET_MP_STATE, buf, "KVM_GET_MP_STATE");
    return new DataView(buf.buffer).getUint32(0, true);
  }

  /**
   * KVM_SET_GUEST_DEBUG: `control` is KVM_GUESTDBG_* flags; with KVM_GUESTDBG_USE_HW_BP, DR0-DR3
   * and DR7 are ours (the guest's own are set aside while they are).
   */
  setGuestDebug(control: number, dr: readonly bigint[] = [], dr7 = 0n): void {
    const debugreg = [dr[0] ?? 0n, dr[1] ?? 0n, dr[2] ?? 0n, dr[3] ?? 0n, 0n, 0n, 0n, dr7];
    libc.ioctl(this.fd, K.KVM_SET_GUEST_DEBUG, kvm_guest_debug.encode({ control, pad: 0, arch: { debugreg } }), "KVM_SET_GUEST_DEBUG");
  }

  getRegs(): KvmRegs {
    const buf = kvm_regs.encode();
    libc.ioctl(this.fd, K.KVM_GET_REGS, buf, "KVM_GET_REGS");
    return kvm_regs.decode(buf);
  }

  setRegs(regs: KvmRegs): void {
    libc.ioctl(this.fd, K.KVM_SET_REGS, kvm_regs.encode(regs), "KVM_SET_REGS");
  }

  getSregs(): KvmSregs {
    const buf = kvm_sregs.encode();
    libc.ioctl(this.fd, K.KVM_GET_SREGS, buf, "KVM_GET_SREGS");
    return kvm_sregs.decode(buf);
  }

  setSregs(sregs: KvmSregs): void {
    libc.ioctl(this.fd, K.KVM_SET_SREGS, kvm_sregs.encode(sregs), "KVM_SET_SREGS");
  }

  /** KVM_TRANSLATE: a guest-virtual address through the vCPU's current page tables. */
  translate(linearAddress: bigint): Translation {
    const buf = kvm_translation.encode({
      linear_address: linearAddress, physical_address: 0n, valid: 0, writeable: 0, usermode: 0, pad: [],
    });
    libc.ioctl(this.fd, K.KVM_TRANSLATE, buf, "KVM_TRANSLATE");
    const t = kvm_translation.decode(buf);
    return {
      physicalAddress: Number(t.physical_address), valid: t.valid !== 0,
      writeable: t.writeable !== 0, usermode: t.usermode !== 0,
    };
  }

  setCpuid2(table: CpuidTable): void {
    libc.ioctl(this.fd, K.KVM_SET_CPUID2, table.bytes, "KVM_SET_CPUID2");
  }

  getFpu(): KvmFpu {
    const buf = kvm_fpu.encode();
    libc.ioctl(this.fd, K.KVM_GET_FPU, buf, "KVM_GET_FPU");
    return kvm_fpu.decode(buf);
  }

  setFpu(fpu: KvmFpu): void {
    libc.ioctl(this.fd, K.KVM_SET_FPU, kvm_fpu.encode(fpu), "KVM_SET_FPU");
  }

  /** KVM_SET_MSRS; returns how many were set (KVM stops at the first it refuses). */
  setMsrs(msrs: ReadonlyArray<{ index: number; data: bigint }>): number {
    const buf = new Uint8Array(kvm_msrs.size + msrs.length * kvm_msr_entry.size);
    const dv = new DataView(buf.buffer);
    kvm_msrs.write(dv, { nmsrs: msrs.length, pad: 0 });
    msrs.forEach((m, i) => kvm_msr_entry.write(dv, { index: m.index, reserved: 0, data: m.data }, kvm_msrs.size + i * kvm_msr_entry.size));
    return libc.ioctl(this.fd, K.KVM_SET_MSRS, buf, "KVM_SET_MSRS");
  }

  close(): void {
    libc.munmap(this.runAddr, this.runSize);
    libc.close(this.fd);
  }
}

/**
 * A struct kvm_cpuid2 with its entries, kept as the bytes KVM filled in: passing the table from
 * KVM_GET_SUPPORTED_CPUID to KVM_SET_CPUID2 needs no decoding. Entries decode on demand.
 */
export class CpuidTable {
  constructor(readonly bytes: Uint8Array) {}

  static fromEntries(entries: readonly KvmCpuidEntry2[]): CpuidTable {
    const bytes = new Uint8Array(kvm_cpuid2.size + entries.length * kvm_cpuid_entry2.size);
    const dv = new DataView(bytes.buffer);
    kvm_cpuid2.write(dv, { nent: entries.length, padding: 0 });
    entries.forEach((e, i) => kvm_cpuid_entry2.write(dv, e, kvm_cpuid2.size + i * kvm_cpuid_entry2.size));
    return new CpuidTable(bytes);
  }

  get length(): number {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset).getUint32(0, true);
  }

  entries(): KvmCpuidEntry2[] {
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const out: KvmCpuidEntry2[] = [];
    for (let i = 0; i < this.length; i++) out.push(kvm_cpuid_entry2.read(dv, kvm_cpuid2.size + i * kvm_cpuid_entry2.size));
    return out;
  }
}

/** KVM_MAX_CPUID_ENTRIES: one buffer this big always suffices, so one call does. */
const MAX_CPUID_ENTRIES = 256;

/** ioctls that fill a kvm_cpuid2: grow the buffer while KVM says E2BIG (newer kernels may allow more). */
function readCpuid2(fd: number, request: number, name: string): CpuidTable {
  for (let n = MAX_CPUID_ENTRIES; ; n *= 2) {
    const buf = new Uint8Array(kvm_cpuid2.size + n * kvm_cpuid_entry2.size);
    new DataView(buf.buffer).setUint32(0, n, true); // nent: the capacity going in, the count coming out
    try {
      libc.ioctl(fd, request, buf, name);
    } catch (e) {
      if (e instanceof libc.SyscallError && e.errno === E2BIG && n < 16 * MAX_CPUID_ENTRIES) continue;
      throw e;
    }
    const nent = new DataView(buf.buffer).getUint32(0, true);
    return new CpuidTable(buf.subarray(0, kvm_cpuid2.size + nent * kvm_cpuid_entry2.size));
  }
}
