// What this KVM does for a debugger, asked before the debugger connects. KVM_CAP_SET_GUEST_DEBUG2
// lists the KVM_GUESTDBG_* flags (BLOCKIRQ among them). Two things no capability says, so a
// throwaway VM with one page runs two tiny real-mode tests and we look at the exits:
//  - does KVM_GUESTDBG_USE_SW_BP intercept INT3? Some KVMs accept the flag and let the guest take
//    #BP through its own IDT: KVM_EXIT_DEBUG, or the HLT its interrupt vector 3 leads to.
//  - do execution breakpoints in the debug registers fire? (Not on every nested KVM.) An
//    instruction with DR0 on it gives KVM_EXIT_DEBUG before it runs, or the HLT after it.
//  - do data breakpoints fire? A KVM that emulates guest instructions (instead of running them on
//    VMX/SVM) checks only execution breakpoints: a write to a watched byte gives KVM_EXIT_DEBUG,
//    or runs on to the HLT after it.
// A few milliseconds, with --gdb only.
import {
  KVM_EXIT_DEBUG, KVM_GUESTDBG_BLOCKIRQ, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_USE_HW_BP, KVM_GUESTDBG_USE_SW_BP, kvm_run,
} from "../kvm/bindings";
import { KVM_CAP_SET_GUEST_DEBUG2 } from "../kvm/ioctls";
import { Kvm } from "../kvm/kvm";
import * as libc from "../libc/libc";
import type { DebugCapabilities } from "./kvm-target";

const PAGE = 0x1000;
const INT3 = 0xcc;
const HLT = 0xf4;
/** Real-mode IVT entry 3 (offset, segment) points at 0000:0010, a HLT. */
const VECTOR3 = 3 * 4;
const HANDLER = 0x10;
/** The write test: at 0x20, `mov %al, 0x100` (a2 00 01), then HLT; DR0 watches 0x100. */
const WRITE_TEST = 0x20;
const WATCHED = 0x100;
/** DR7: bit 10 reads as 1, G0, RW0 = 01 (writes), LEN0 = 00 (one byte). */
const DR7_WRITE_BYTE0 = 0x400n | 0x2n | (1n << 16n);
/** The execution test: a NOP at 0x30 with DR0 on it (RW0 = 00, LEN0 = 00), then HLT. */
const EXEC_TEST = 0x30;
const NOP = 0x90;
const DR7_EXEC0 = 0x400n | 0x2n;

export function probeDebugCapabilities(kvmPath: string): DebugCapabilities {
  const kvm = Kvm.open(kvmPath);
  let ram = 0;
  const vm = kvm.createVm();
  try {
    const flags = Math.max(0, kvm.checkExtension(KVM_CAP_SET_GUEST_DEBUG2));
    ram = libc.mmap(PAGE, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_PRIVATE | libc.MAP_ANONYMOUS, -1, 0, "probe page");
    const page = new Uint8Array(libc.hostView(ram, PAGE));
    page.fill(HLT);
    page.fill(0, VECTOR3, VECTOR3 + 4);
    page[VECTOR3] = HANDLER;
    page[0] = INT3;
    page.set([0xa2, WATCHED & 0xff, WATCHED >> 8], WRITE_TEST);
    page[EXEC_TEST] = NOP;
    vm.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: PAGE, userspaceAddr: ram });
    const vcpu = vm.createVcpu(0);
    const sregs = vcpu.getSregs();
    sregs.cs.base = 0n;
    sregs.cs.selector = 0;
    vcpu.setSregs(sregs);
    const regs = vcpu.getRegs();
    regs.rip = 0n;
    regs.rsp = 0x800n;
    regs.rflags = 2n;
    vcpu.setRegs(regs);
    const exitsToDebug = () => vcpu.runOnce() === 0 &&
      new DataView(vcpu.run.buffer, vcpu.run.byteOffset).getUint32(kvm_run.offsetOf("exit_reason"), true) === KVM_EXIT_DEBUG;
    vcpu.setGuestDebug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP);
    const int3Intercepted = exitsToDebug();
    regs.rip = BigInt(WRITE_TEST);
    vcpu.setRegs(regs);
    vcpu.setGuestDebug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, [BigInt(WATCHED)], DR7_WRITE_BYTE0);
    const dataBreakpoints = exitsToDebug();
    regs.rip = BigInt(EXEC_TEST);
    vcpu.setRegs(regs);
    vcpu.setGuestDebug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, [BigInt(EXEC_TEST)], DR7_EXEC0);
    const execBreakpoints = exitsToDebug();
    return { int3Intercepted, execBreakpoints, dataBreakpoints, blockIrq: (flags & KVM_GUESTDBG_BLOCKIRQ) !== 0 };
  } finally {
    vm.close();
    kvm.close();
    if (ram !== 0) libc.munmap(ram, PAGE);
  }
}
