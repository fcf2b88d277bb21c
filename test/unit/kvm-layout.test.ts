// Our struct tables and ioctl numbers against the system's <linux/kvm.h>: a C program compiled
// here prints sizeof/offsetof for every field we declare and every ioctl number we compute.
import { expect, test } from "bun:test";
import * as B from "../../src/kvm/bindings";
import { KVM_RUN as AP_KVM_RUN } from "../../src/vcpu/ap-worker";
import { IOCTLS, KVM_CAP_COALESCED_MMIO, KVM_CAP_COALESCED_PIO, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS, KVM_CAP_SET_GUEST_DEBUG2,
  KVM_MP_STATE_HALTED, KVM_MP_STATE_UNINITIALIZED } from "../../src/kvm/ioctls";
import type { Struct } from "../../src/binary/struct";
import { compareWithC } from "../c-layout";

const TOP_LEVEL: Struct<object>[] = [
  B.kvm_regs, B.kvm_segment, B.kvm_dtable, B.kvm_sregs, B.kvm_userspace_memory_region,
  B.kvm_translation, B.kvm_cpuid_entry2, B.kvm_cpuid2, B.kvm_fpu, B.kvm_msr_entry, B.kvm_msrs, B.kvm_irq_level,
  B.kvm_pit_config, B.kvm_guest_debug_arch, B.kvm_guest_debug, B.kvm_run, B.kvm_coalesced_mmio_zone, B.kvm_coalesced_mmio, B.kvm_coalesced_mmio_ring,
  B.kvm_ioeventfd, B.kvm_irqfd,
];
const RUN_MEMBERS: Struct<object>[] = [
  B.kvm_run_io, B.kvm_run_mmio, B.kvm_run_fail_entry, B.kvm_run_internal, B.kvm_run_system_event, B.kvm_run_ex, B.kvm_run_debug,
];

function expectations(): Map<string, { c: string; ours: number }> {
  const m = new Map<string, { c: string; ours: number }>();
  for (const s of TOP_LEVEL) {
    const c = `struct ${s.name}`;
    // kvm_run's size depends on the union; only its header is ours.
    if (s !== B.kvm_run) m.set(`sizeof ${s.name}`, { c: `sizeof(${c})`, ours: s.size });
    for (const f of s.fields()) m.set(`${s.name}.${f.name}`, { c: `offsetof(${c}, ${f.name})`, ours: f.offset });
  }
  for (const s of RUN_MEMBERS) {
    const member = s.name.slice("kvm_run.".length);
    m.set(`sizeof ${s.name}`, { c: `sizeof(((struct kvm_run *)0)->${member})`, ours: s.size });
    for (const f of s.fields()) {
      m.set(`${s.name}.${f.name}`, { c: `offsetof(struct kvm_run, ${member}.${f.name})`, ours: B.runOffset(s, f.name) });
    }
  }
  for (const [name, value] of Object.entries(IOCTLS)) m.set(name, { c: `(unsigned long)${name}`, ours: value });
  // The AP threads' own copy (they import nothing at run time).
  m.set("KVM_RUN (vcpu/ap-worker.ts)", { c: "(unsigned long)KVM_RUN", ours: AP_KVM_RUN });
  for (const [name, value] of Object.entries({
    KVM_EXIT_IO: B.KVM_EXIT_IO, KVM_EXIT_HLT: B.KVM_EXIT_HLT, KVM_EXIT_MMIO: B.KVM_EXIT_MMIO,
    KVM_EXIT_SHUTDOWN: B.KVM_EXIT_SHUTDOWN, KVM_EXIT_FAIL_ENTRY: B.KVM_EXIT_FAIL_ENTRY,
    KVM_EXIT_INTR: B.KVM_EXIT_INTR, KVM_EXIT_INTERNAL_ERROR: B.KVM_EXIT_INTERNAL_ERROR,
    KVM_EXIT_SYSTEM_EVENT: B.KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_DEBUG: B.KVM_EXIT_DEBUG,
    KVM_EXIT_IO_OUT: B.KVM_EXIT_IO_OUT, KVM_MEM_READONLY: B.KVM_MEM_READONLY,
    KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_COALESCED_MMIO, KVM_CAP_COALESCED_PIO, KVM_MP_STATE_HALTED, KVM_MP_STATE_UNINITIALIZED, KVM_CAP_SET_GUEST_DEBUG2,
    KVM_CAP_NR_VCPUS, KVM_CAP_MAX_VCPUS,
    KVM_GUESTDBG_ENABLE: B.KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP: B.KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_SW_BP: B.KVM_GUESTDBG_USE_SW_BP,
    KVM_GUESTDBG_USE_HW_BP: B.KVM_GUESTDBG_USE_HW_BP, KVM_GUESTDBG_INJECT_BP: B.KVM_GUESTDBG_INJECT_BP, KVM_GUESTDBG_BLOCKIRQ: B.KVM_GUESTDBG_BLOCKIRQ,
  })) m.set(name, { c: `(unsigned long)${name}`, ours: value });
  return m;
}

test("struct layouts, exit codes and ioctl numbers match <linux/kvm.h>", () => {
  expect(compareWithC(["#include <linux/kvm.h>"], expectations())).toEqual([]);
});

test("the struct codec round-trips nested structs and 64-bit values", () => {
  const s = B.kvm_sregs.encode();
  const v = B.kvm_sregs.decode(s);
  v.cs.selector = 0x18; v.cs.base = 0xffff_ffff_8100_0000n; v.efer = 0x500n; v.interrupt_bitmap[3] = 1n << 63n;
  const back = B.kvm_sregs.decode(B.kvm_sregs.encode(v));
  expect(back).toEqual(v);
  expect(B.kvm_sregs.offsetOf("cs.selector")).toBe(12); // base u64, limit u32, then selector
});
