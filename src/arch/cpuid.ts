// The CPUID a guest sees: what KVM supports (vendor, family, features pass through), with the
// policy applied: no VMX or SVM (no nested virtualization offered), the hypervisor bit set, the
// KVM leaves present, and each vCPU's own APIC ID (leaf 1, the x2APIC leaves 0xB and 0x1F, AMD's
// 0x8000001E). The local APIC's features follow the KVM API's rules for them: x2APIC only with
// the in-kernel LAPIC; the TSC-deadline timer, which KVM_GET_SUPPORTED_CPUID leaves out (before
// Linux 6.14), set where KVM emulates it (KVM_CAP_TSC_DEADLINE_TIMER) in that LAPIC, as QEMU does.
// A guest without it programs its timer through the LAPIC's MMIO registers, which KVM must decode.
// It edits the table's bytes as KVM returned them (KVM_GET_SUPPORTED_CPUID →
// KVM_SET_CPUID2 needs no decoding: that costs a millisecond).
import { kvm_cpuid2, kvm_cpuid_entry2 } from "../kvm/bindings";
import { CpuidTable } from "../kvm/kvm";

export const CPUID_1_ECX_VMX = 1 << 5;
export const CPUID_1_ECX_X2APIC = 1 << 21;
export const CPUID_1_ECX_TSC_DEADLINE = 1 << 24;
export const CPUID_1_ECX_HYPERVISOR = 1 << 31;
export const CPUID_80000001_ECX_SVM = 1 << 2;
/** "KVMKVMKVM\0\0\0" in EBX, ECX, EDX of leaf 0x40000000. */
export const KVM_SIGNATURE = [0x4b4d564b, 0x564b4d56, 0x0000004d] as const;
export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;

/** What the VM's local APIC is: in the kernel (KVM_CREATE_IRQCHIP) or none, and whether KVM gives it the TSC-deadline mode. */
export interface ApicPolicy { inKernel: boolean; tscDeadline: boolean }

/** A copy of `supported` with the policy applied for vCPU `vcpuId`; `supported` is not changed. */
export function applyCpuidPolicy(supported: CpuidTable, vcpuId: number, apic: ApicPolicy): CpuidTable {
  const n = supported.length;
  const size = kvm_cpuid_entry2.size;
  const field = { function: kvm_cpuid_entry2.offsetOf("function"), eax: kvm_cpuid_entry2.offsetOf("eax"), ebx: kvm_cpuid_entry2.offsetOf("ebx"),
    ecx: kvm_cpuid_entry2.offsetOf("ecx"), edx: kvm_cpuid_entry2.offsetOf("edx") };
  const at = (i: number, f: keyof typeof field) => kvm_cpuid2.size + i * size + field[f];
  const src = new DataView(supported.bytes.buffer, supported.bytes.byteOffset, supported.bytes.byteLength);
  let signature = false;
  let features = false;
  for (let i = 0; i < n; i++) {
    const fn = src.getUint32(at(i, "function"), true);
    signature ||= fn === KVM_CPUID_SIGNATURE;
    features ||= fn === KVM_CPUID_FEATURES;
  }
  const bytes = new Uint8Array(kvm_cpuid2.size + (n + (signature ? 0 : 1)) * size);
  bytes.set(supported.bytes.subarray(0, kvm_cpuid2.size + n * size));
  const dv = new DataView(bytes.buffer);
  const update = (i: number, reg: "eax" | "ebx" | "ecx" | "edx", f: (v: number) => number) => dv.setUint32(at(i, reg), f(dv.getUint32(at(i, reg), true)) >>> 0, true);
  for (let i = 0; i < n; i++) {
    const fn = dv.getUint32(at(i, "function"), true);
    if (fn === 1) {
      update(i, "ecx", (ecx) => {
        let out = (ecx & ~(CPUID_1_ECX_VMX | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE)) | CPUID_1_ECX_HYPERVISOR;
        if (apic.inKernel) out |= (ecx & CPUID_1_ECX_X2APIC) | (apic.tscDeadline ? CPUID_1_ECX_TSC_DEADLINE : 0);
        return out;
      });
      update(i, "ebx", (ebx) => (ebx & 0x00ffffff) | (vcpuId << 24)); // initial APIC ID
    } else if (fn === 0x80000001) {
      update(i, "ecx", (ecx) => ecx & ~CPUID_80000001_ECX_SVM);
    } else if (fn === 0xb || fn === 0x1f) {
      update(i, "edx", () => vcpuId); // x2APIC ID, every subleaf (KVM passes the host CPU's)
    } else if (fn === 0x8000001e) {
      update(i, "eax", () => vcpuId); // AMD's extended APIC ID
    }
  }
  if (!signature) {
    kvm_cpuid_entry2.write(dv, {
      function: KVM_CPUID_SIGNATURE, index: 0, flags: 0, eax: features ? KVM_CPUID_FEATURES : 0,
      ebx: KVM_SIGNATURE[0], ecx: KVM_SIGNATURE[1], edx: KVM_SIGNATURE[2], padding: [0, 0, 0],
    }, kvm_cpuid2.size + n * size);
  }
  dv.setUint32(kvm_cpuid2.offsetOf("nent"), n + (signature ? 0 : 1), true);
  return new CpuidTable(bytes);
}
