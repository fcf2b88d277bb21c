// The CPUID a guest sees: what KVM supports (vendor, family, features pass through), with the
// policy applied: no VMX or SVM (no nested virtualization offered), the hypervisor bit set, the
// KVM leaves present, and each vCPU's own APIC ID.
import type { KvmCpuidEntry2 } from "../kvm/bindings";

export const CPUID_1_ECX_VMX = 1 << 5;
export const CPUID_1_ECX_HYPERVISOR = 1 << 31;
export const CPUID_80000001_ECX_SVM = 1 << 2;
/** "KVMKVMKVM\0\0\0" in EBX, ECX, EDX of leaf 0x40000000. */
export const KVM_SIGNATURE = [0x4b4d564b, 0x564b4d56, 0x0000004d] as const;
export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;

export function applyCpuidPolicy(supported: readonly KvmCpuidEntry2[], vcpuId: number): KvmCpuidEntry2[] {
  const out = supported.map((e) => ({ ...e, padding: [...e.padding] }));
  for (const e of out) {
    if (e.function === 1) {
      e.ecx = ((e.ecx & ~CPUID_1_ECX_VMX) | CPUID_1_ECX_HYPERVISOR) >>> 0;
      e.ebx = ((e.ebx & 0x00ffffff) | (vcpuId << 24)) >>> 0; // initial APIC ID
    } else if (e.function === 0x80000001) {
      e.ecx = (e.ecx & ~CPUID_80000001_ECX_SVM) >>> 0;
    }
  }
  if (!out.some((e) => e.function === KVM_CPUID_SIGNATURE)) {
    const features = out.some((e) => e.function === KVM_CPUID_FEATURES);
    out.push({
      function: KVM_CPUID_SIGNATURE, index: 0, flags: 0, eax: features ? KVM_CPUID_FEATURES : 0,
      ebx: KVM_SIGNATURE[0], ecx: KVM_SIGNATURE[1], edx: KVM_SIGNATURE[2], padding: [0, 0, 0],
    });
  }
  return out;
}
