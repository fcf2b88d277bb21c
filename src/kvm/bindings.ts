// The <linux/kvm.h> structs microvmm uses (x86-64), as field tables. Names follow the header.
import { struct, type Struct } from "../binary/struct";

export const kvm_regs = struct("kvm_regs", {
  rax: "u64", rbx: "u64", rcx: "u64", rdx: "u64", rsi: "u64", rdi: "u64", rsp: "u64", rbp: "u64",
  r8: "u64", r9: "u64", r10: "u64", r11: "u64", r12: "u64", r13: "u64", r14: "u64", r15: "u64",
  rip: "u64", rflags: "u64",
});
export type KvmRegs = ReturnType<typeof kvm_regs.decode>;

export const kvm_segment = struct("kvm_segment", {
  base: "u64", limit: "u32", selector: "u16", type: "u8", present: "u8", dpl: "u8", db: "u8",
  s: "u8", l: "u8", g: "u8", avl: "u8", unusable: "u8", padding: "u8",
});
export type KvmSegment = ReturnType<typeof kvm_segment.decode>;

export const kvm_dtable = struct("kvm_dtable", { base: "u64", limit: "u16", padding: ["u16", 3] });
export type KvmDtable = ReturnType<typeof kvm_dtable.decode>;

export const kvm_sregs = struct("kvm_sregs", {
  cs: kvm_segment, ds: kvm_segment, es: kvm_segment, fs: kvm_segment, gs: kvm_segment,
  ss: kvm_segment, tr: kvm_segment, ldt: kvm_segment, gdt: kvm_dtable, idt: kvm_dtable,
  cr0: "u64", cr2: "u64", cr3: "u64", cr4: "u64", cr8: "u64", efer: "u64", apic_base: "u64",
  interrupt_bitmap: ["u64", 4],
});
export type KvmSregs = ReturnType<typeof kvm_sregs.decode>;

export const kvm_userspace_memory_region = struct("kvm_userspace_memory_region", {
  slot: "u32", flags: "u32", guest_phys_addr: "u64", memory_size: "u64", userspace_addr: "u64",
});

export const kvm_translation = struct("kvm_translation", {
  linear_address: "u64", physical_address: "u64", valid: "u8", writeable: "u8", usermode: "u8",
  pad: ["u8", 5],
});

export const kvm_cpuid_entry2 = struct("kvm_cpuid_entry2", {
  function: "u32", index: "u32", flags: "u32", eax: "u32", ebx: "u32", ecx: "u32", edx: "u32",
  padding: ["u32", 3],
});
export type KvmCpuidEntry2 = ReturnType<typeof kvm_cpuid_entry2.decode>;
/** struct kvm_cpuid2 header; `entries[]` (kvm_cpuid_entry2) follow it. */
export const kvm_cpuid2 = struct("kvm_cpuid2", { nent: "u32", padding: "u32" });

export const kvm_fpu = struct("kvm_fpu", {
  fpr: ["u8", 128], fcw: "u16", fsw: "u16", ftwx: "u8", pad1: "u8", last_opcode: "u16",
  last_ip: "u64", last_dp: "u64", xmm: ["u8", 256], mxcsr: "u32", pad2: "u32",
});

export type KvmFpu = ReturnType<typeof kvm_fpu.decode>;

export const kvm_msr_entry = struct("kvm_msr_entry", { index: "u32", reserved: "u32", data: "u64" });
/** struct kvm_msrs header; `entries[]` (kvm_msr_entry) follow it. */
export const kvm_msrs = struct("kvm_msrs", { nmsrs: "u32", pad: "u32" });

export const kvm_irq_level = struct("kvm_irq_level", { irq: "u32", level: "u32" });

/** KVM_REGISTER_COALESCED_MMIO: writes to [addr, addr + size) are queued, not exited for; `pio` 1 for ports. */
export const kvm_coalesced_mmio_zone = struct("kvm_coalesced_mmio_zone", { addr: "u64", size: "u32", pio: "u32" });
/** One queued write in the ring. */
export const kvm_coalesced_mmio = struct("kvm_coalesced_mmio", { phys_addr: "u64", len: "u32", pio: "u32", data: ["u8", 8] });
/** The ring's header (KVM advances `last`, user space `first`); entries follow it to the end of the page. */
export const kvm_coalesced_mmio_ring = struct("kvm_coalesced_mmio_ring", { first: "u32", last: "u32" });
/** KVM_IOEVENTFD: a guest write of `len` bytes (equal to `datamatch` with that flag) at `addr` signals `fd` instead of exiting. */
export const kvm_ioeventfd = struct("kvm_ioeventfd", { datamatch: "u64", addr: "u64", len: "u32", fd: "u32", flags: "u32", pad: ["u8", 36] });
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1;
/** KVM_IRQFD: a signal on `fd` raises GSI `gsi` (a pulse: set, then cleared) without an ioctl. */
export const kvm_irqfd = struct("kvm_irqfd", { fd: "u32", gsi: "u32", flags: "u32", resamplefd: "u32", pad: ["u8", 16] });
export const kvm_pit_config = struct("kvm_pit_config", { flags: "u32", pad: ["u32", 15] });
export const KVM_PIT_SPEAKER_DUMMY = 1;

// struct kvm_run: a fixed header, then at KVM_RUN_EXIT_OFFSET a 256-byte union whose member is
// chosen by exit_reason. Each member is its own table; offsets inside kvm_run are header + member.
export const kvm_run = struct("kvm_run", {
  request_interrupt_window: "u8", immediate_exit: "u8", padding1: ["u8", 6],
  exit_reason: "u32", ready_for_interrupt_injection: "u8", if_flag: "u8", flags: "u16",
  cr8: "u64", apic_base: "u64",
});
export const KVM_RUN_EXIT_OFFSET = 32;

export const kvm_run_io = struct("kvm_run.io", {
  direction: "u8", size: "u8", port: "u16", count: "u32", data_offset: "u64",
});
export const kvm_run_mmio = struct("kvm_run.mmio", {
  phys_addr: "u64", data: ["u8", 8], len: "u32", is_write: "u8",
});
export const kvm_run_fail_entry = struct("kvm_run.fail_entry", {
  hardware_entry_failure_reason: "u64", cpu: "u32",
});
export const kvm_run_internal = struct("kvm_run.internal", {
  suberror: "u32", ndata: "u32", data: ["u64", 16],
});
export const kvm_run_system_event = struct("kvm_run.system_event", {
  type: "u32", ndata: "u32", data: ["u64", 16],
});
export const kvm_run_ex = struct("kvm_run.ex", { exception: "u32", error_code: "u32" });
/** KVM_EXIT_DEBUG: struct kvm_debug_exit_arch (x86): the exception (1 #DB, 3 #BP), where, and DR6/DR7 then. */
export const kvm_run_debug = struct("kvm_run.debug.arch", { exception: "u32", pad: "u32", pc: "u64", dr6: "u64", dr7: "u64" });

/** KVM_SET_GUEST_DEBUG: control (KVM_GUESTDBG_*), then struct kvm_guest_debug_arch: DR0-DR7 (DR4/5 unused). */
export const kvm_guest_debug_arch = struct("kvm_guest_debug_arch", { debugreg: ["u64", 8] });
export const kvm_guest_debug = struct("kvm_guest_debug", { control: "u32", pad: "u32", arch: kvm_guest_debug_arch });
export const KVM_GUESTDBG_ENABLE = 0x1;
export const KVM_GUESTDBG_SINGLESTEP = 0x2;
export const KVM_GUESTDBG_USE_SW_BP = 0x10000;
export const KVM_GUESTDBG_USE_HW_BP = 0x20000;
export const KVM_GUESTDBG_INJECT_BP = 0x80000;
/** No interrupt is delivered while single-stepping (KVM_CAP_SET_GUEST_DEBUG2 lists it where KVM has it). */
export const KVM_GUESTDBG_BLOCKIRQ = 0x100000;

/** Offset of a field of a kvm_run union member, from the start of kvm_run. */
export function runOffset(member: Struct<object>, field: string): number {
  return KVM_RUN_EXIT_OFFSET + member.offsetOf(field);
}

// KVM_EXIT_* (exit_reason values).
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_EXCEPTION = 1;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_DEBUG = 4;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;

export const EXIT_REASON_NAMES: Record<number, string> = {
  0: "UNKNOWN", 1: "EXCEPTION", 2: "IO", 3: "HYPERCALL", 4: "DEBUG", 5: "HLT", 6: "MMIO",
  7: "IRQ_WINDOW_OPEN", 8: "SHUTDOWN", 9: "FAIL_ENTRY", 10: "INTR", 11: "SET_TPR",
  12: "TPR_ACCESS", 13: "S390_SIEIC", 14: "S390_RESET", 15: "DCR", 16: "NMI",
  17: "INTERNAL_ERROR", 18: "OSI", 19: "PAPR_HCALL", 20: "S390_UCONTROL", 21: "WATCHDOG",
  22: "S390_TSCH", 23: "EPR", 24: "SYSTEM_EVENT", 25: "S390_STSI", 26: "IOAPIC_EOI",
  27: "HYPERV", 28: "ARM_NISV", 29: "X86_RDMSR", 30: "X86_WRMSR", 31: "DIRTY_RING_FULL",
  32: "AP_RESET_HOLD", 33: "X86_BUS_LOCK", 34: "XEN", 35: "RISCV_SBI", 36: "RISCV_CSR",
  37: "NOTIFY", 38: "LOONGARCH_IOCSR", 39: "MEMORY_FAULT",
};

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

// KVM_INTERNAL_ERROR_* suberrors.
export const INTERNAL_ERROR_NAMES: Record<number, string> = {
  1: "emulation failure", 2: "simultaneous exceptions (double fault while delivering)",
  3: "delivery event", 4: "unexpected exit reason", 5: "delivery event (no EPT)",
};

export const KVM_MEM_READONLY = 1 << 1;
