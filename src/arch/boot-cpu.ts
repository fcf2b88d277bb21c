// The MSR and x87/SSE state a kernel finds at its entry, whichever boot protocol: what firmware
// leaves behind on a PC, set explicitly rather than trusting each KVM version's reset values.
import type { KvmFpu } from "../kvm/bindings";

export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_SYSENTER_CS = 0x174;
export const MSR_IA32_SYSENTER_ESP = 0x175;
export const MSR_IA32_SYSENTER_EIP = 0x176;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_MTRR_DEF_TYPE = 0x2ff;
export const MSR_STAR = 0xc000_0081;
export const MSR_LSTAR = 0xc000_0082;
export const MSR_CSTAR = 0xc000_0083;
export const MSR_SYSCALL_MASK = 0xc000_0084;
export const MSR_KERNEL_GS_BASE = 0xc000_0102;

export const MISC_ENABLE_FAST_STRING = 1n << 0n;
export const MTRR_ENABLE = 1n << 11n;
export const MTRR_TYPE_WRBACK = 6n;

/** FNINIT's control word: every x87 exception masked, 64-bit precision, round to nearest. */
export const FCW_INIT = 0x37f;
/** Every SSE exception masked, round to nearest: MXCSR's power-on value. */
export const MXCSR_INIT = 0x1f80;

/**
 * The MSRs at kernel entry. SYSCALL/SYSENTER targets and the swapped GS base are zero until the
 * kernel sets its own; the TSC counts from 0; fast strings on (as firmware does, so `rep movs`
 * is fast). MTRRs on with write-back as the default type: all of guest RAM is ordinary memory,
 * and a kernel that finds MTRRs disabled also leaves PAT unprogrammed (no write-combining).
 */
export function bootMsrs(): Array<{ index: number; data: bigint }> {
  return [
    { index: MSR_IA32_SYSENTER_CS, data: 0n },
    { index: MSR_IA32_SYSENTER_ESP, data: 0n },
    { index: MSR_IA32_SYSENTER_EIP, data: 0n },
    { index: MSR_STAR, data: 0n },
    { index: MSR_LSTAR, data: 0n },
    { index: MSR_CSTAR, data: 0n },
    { index: MSR_SYSCALL_MASK, data: 0n },
    { index: MSR_KERNEL_GS_BASE, data: 0n },
    { index: MSR_IA32_TSC, data: 0n },
    { index: MSR_IA32_MISC_ENABLE, data: MISC_ENABLE_FAST_STRING },
    { index: MSR_MTRR_DEF_TYPE, data: MTRR_ENABLE | MTRR_TYPE_WRBACK },
  ];
}

/** The x87/SSE state at kernel entry: `current` (KVM_GET_FPU) with the init control words. */
export function bootFpu(current: KvmFpu): KvmFpu {
  return { ...current, fcw: FCW_INIT, mxcsr: MXCSR_INIT };
}
