// ioctl request numbers, computed the way <asm-generic/ioctl.h> does: dir(2) | size(14) | type(8) | nr(8).
// The size is sizeof the struct, written as a number as the C compiler would put it there: taking
// it from the struct tables in bindings.ts would lay out every table at startup, most of them
// unused by a given run. The layout test checks every number here, and every table's size, against
// <linux/kvm.h>.

const IOC_NRBITS = 8;
const IOC_TYPEBITS = 8;
const IOC_SIZEBITS = 14;
const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

function ioc(dir: number, type: number, nr: number, size: number): number {
  if (size >= 1 << IOC_SIZEBITS) throw new Error(`ioctl size ${size} too large`);
  // >>> 0 keeps the result unsigned (dir bit 31 would make it negative).
  return ((dir << IOC_DIRSHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)) >>> 0;
}
export const _IO = (type: number, nr: number) => ioc(IOC_NONE, type, nr, 0);
export const _IOR = (type: number, nr: number, size: number) => ioc(IOC_READ, type, nr, size);
export const _IOW = (type: number, nr: number, size: number) => ioc(IOC_WRITE, type, nr, size);
export const _IOWR = (type: number, nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, type, nr, size);

const KVMIO = 0xae;

// On the system fd (/dev/kvm).
export const KVM_GET_API_VERSION = _IO(KVMIO, 0x00);
export const KVM_CREATE_VM = _IO(KVMIO, 0x01);
export const KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = _IO(KVMIO, 0x04);
export const KVM_GET_SUPPORTED_CPUID = _IOWR(KVMIO, 0x05, 8); // struct kvm_cpuid2

// On a VM fd.
export const KVM_CREATE_VCPU = _IO(KVMIO, 0x41);
export const KVM_SET_USER_MEMORY_REGION = _IOW(KVMIO, 0x46, 32); // struct kvm_userspace_memory_region
export const KVM_SET_TSS_ADDR = _IO(KVMIO, 0x47);
export const KVM_SET_IDENTITY_MAP_ADDR = _IOW(KVMIO, 0x48, 8);
export const KVM_CREATE_IRQCHIP = _IO(KVMIO, 0x60);
export const KVM_IRQ_LINE = _IOW(KVMIO, 0x61, 8); // struct kvm_irq_level
export const KVM_REGISTER_COALESCED_MMIO = _IOW(KVMIO, 0x67, 16); // struct kvm_coalesced_mmio_zone
export const KVM_UNREGISTER_COALESCED_MMIO = _IOW(KVMIO, 0x68, 16); // struct kvm_coalesced_mmio_zone
export const KVM_IRQFD = _IOW(KVMIO, 0x76, 32); // struct kvm_irqfd
export const KVM_CREATE_PIT2 = _IOW(KVMIO, 0x77, 64); // struct kvm_pit_config
export const KVM_IOEVENTFD = _IOW(KVMIO, 0x79, 64); // struct kvm_ioeventfd

// On a vCPU fd.
export const KVM_RUN = _IO(KVMIO, 0x80);
export const KVM_GET_REGS = _IOR(KVMIO, 0x81, 144); // struct kvm_regs
export const KVM_SET_REGS = _IOW(KVMIO, 0x82, 144); // struct kvm_regs
export const KVM_GET_SREGS = _IOR(KVMIO, 0x83, 312); // struct kvm_sregs
export const KVM_SET_SREGS = _IOW(KVMIO, 0x84, 312); // struct kvm_sregs
export const KVM_TRANSLATE = _IOWR(KVMIO, 0x85, 24); // struct kvm_translation
export const KVM_SET_MSRS = _IOW(KVMIO, 0x89, 8); // struct kvm_msrs
export const KVM_GET_FPU = _IOR(KVMIO, 0x8c, 416); // struct kvm_fpu
export const KVM_SET_FPU = _IOW(KVMIO, 0x8d, 416); // struct kvm_fpu
export const KVM_SET_CPUID2 = _IOW(KVMIO, 0x90, 8); // struct kvm_cpuid2
export const KVM_GET_MP_STATE = _IOR(KVMIO, 0x98, 4); // struct kvm_mp_state { __u32 mp_state; }
export const KVM_SET_GUEST_DEBUG = _IOW(KVMIO, 0x9b, 72); // struct kvm_guest_debug

/** Every number above by its <linux/kvm.h> name, for the layout test. */
export const IOCTLS: Record<string, number> = {
  KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE,
  KVM_GET_SUPPORTED_CPUID, KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_SET_TSS_ADDR,
  KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO, KVM_IRQFD, KVM_CREATE_PIT2, KVM_IOEVENTFD, KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
  KVM_TRANSLATE, KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU, KVM_SET_CPUID2, KVM_GET_MP_STATE, KVM_SET_GUEST_DEBUG,
};

// KVM_CAP_* numbers for KVM_CHECK_EXTENSION.
export const KVM_CAP_SET_TSS_ADDR = 4;
/** The vCPUs a VM should have (recommended); KVM_CAP_MAX_VCPUS is the most it can have. */
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_MAX_VCPUS = 66;
/** Answers with the page (in the vCPU mapping) that holds the coalesced-write ring. */
export const KVM_CAP_COALESCED_MMIO = 15;
export const KVM_CAP_COALESCED_PIO = 162;
/** KVM_IRQFD and KVM_IOEVENTFD are there (both since Linux 2.6.32). */
export const KVM_CAP_IRQFD = 32;
export const KVM_CAP_IOEVENTFD = 36;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
/** The in-kernel LAPIC has the TSC-deadline timer mode (the guest learns it from CPUID, which userspace sets). */
export const KVM_CAP_TSC_DEADLINE_TIMER = 72;
/** Answers with the KVM_GUESTDBG_* flags KVM_SET_GUEST_DEBUG accepts (0 on older kernels). */
export const KVM_CAP_SET_GUEST_DEBUG2 = 195;

/** kvm_mp_state.mp_state: the vCPU executed HLT and waits for an interrupt. */
export const KVM_MP_STATE_HALTED = 3;
/** kvm_mp_state.mp_state: an application processor before its INIT and SIPI (in-kernel LAPIC). */
export const KVM_MP_STATE_UNINITIALIZED = 1;
