// The stub's DebugTarget on a real vCPU: registers through KVM_GET/SET_REGS, SREGS and FPU, memory
// through the guest's page tables (KVM_TRANSLATE) into GuestMemory, and breakpoints:
//  - in the debug registers (breakpoints.ts), where this KVM fires them;
//  - past four, or where KVM fires no execution breakpoints, in guest memory: INT3 where KVM
//    intercepts it, else a trap of our own, `out %al, $0xf7` (e6 f7): a port write always exits
//    to us, in any mode and on any KVM, and the exit's instruction address says which breakpoint.
//    (At CPL 3 with IOPL 0 the guest takes #GP instead: breakpoints in user code need the debug
//    registers.) A breakpoint at an address the page tables do not map yet (paging off, a kernel
//    not yet up) is placed through the guest image's own map (its ELF segments, virtual to physical).
// And the KVM_SET_GUEST_DEBUG flags for each resume, and what a debug exit or a trap meant.
import { hex } from "../binary/hex";
import {
  KVM_GUESTDBG_BLOCKIRQ, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_INJECT_BP, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_HW_BP,
  KVM_GUESTDBG_USE_SW_BP, kvm_fpu, kvm_regs, kvm_run_debug, kvm_sregs, runOffset,
} from "../kvm/bindings";
import type { Vcpu } from "../kvm/kvm";
import type { GuestMemory } from "../memory/guest-memory";
import type { MmioBus } from "../vcpu/bus";
import { CR0_PG, PAGE_SIZE } from "../arch/x86";
import { formatRegisters } from "../vcpu/dump";
import { DebugRegisterFile, DR6_BS, DR6_HIT_MASK, type BreakKind } from "./breakpoints";
import { WatchedPage } from "./watched-page";
import { cpuModeOf, linearPc, setLinearPc, type CpuState } from "./registers";
import type { DebugTarget, StopEvent } from "./stub";

const PAGE = BigInt(PAGE_SIZE);
const INT3 = Uint8Array.of(0xcc);
/** The port our trap writes to: claimed by no board. */
export const TRAP_PORT = 0xf7;
/** `out %al, $0xf7`: the same two bytes in 16-, 32- and 64-bit code. */
const TRAP = Uint8Array.of(0xe6, TRAP_PORT);
const HLT = 0xf4;
const EXCEPTION_DB = 1;
const EXCEPTION_BP = 3;
/** KVM_GUESTDBG_INJECT_DB: hand a #DB we did not cause back to the guest. */
const KVM_GUESTDBG_INJECT_DB = 0x40000;
const DEBUG_EXCEPTION = runOffset(kvm_run_debug, "exception");
const DEBUG_DR6 = runOffset(kvm_run_debug, "dr6");

/** What KVM can do for a debugger, found out once per run (kvm-probe.ts). */
export interface DebugCapabilities {
  /** KVM_GUESTDBG_USE_SW_BP makes a guest INT3 exit to us (hardware KVM does; some KVMs do not). */
  int3Intercepted: boolean;
  /** Execution breakpoints in the debug registers fire (not on every nested KVM). */
  execBreakpoints: boolean;
  /** Write and access breakpoints in the debug registers fire (not on KVMs that emulate guest instructions). */
  dataBreakpoints: boolean;
  /** KVM_GUESTDBG_BLOCKIRQ: no interrupt handler is entered by a single step. */
  blockIrq: boolean;
}

/** A breakpoint written into guest memory: INT3, or our trap; what it replaced. */
interface MemoryBreak { kind: "sw" | "hw"; addr: bigint; gpa: number; code: Uint8Array; saved: Uint8Array }
/** A write watchpoint kept by single-stepping: the bytes as they were after the last step. */
interface SteppedWatch { addr: bigint; length: number; last: Uint8Array }

/** A read or access watchpoint kept by cutting its page out of guest RAM: every access there exits. */
interface PagedWatch { kind: "read" | "access"; addr: bigint; length: number; gpa: number }

/** What paged watchpoints need of the VM (VmCore): its MMIO bus, memory slots with holes, a stop. */
export interface WatchPages {
  readonly mmio: MmioBus;
  setMemoryHoles(pages: readonly number[]): void;
  requestStop(): void;
}


/** debugExit's answer when the exit was ours but is nothing to report: run on. */
export const RUN_ON = "run on";

/** How the next KVM_RUN should go, and what the exit that ends it means. */
export class KvmDebugTarget implements DebugTarget {
  readonly vcpus = 1;
  readonly registers = new DebugRegisterFile();
  private readonly inMemory: MemoryBreak[] = [];
  private readonly steppedWatches: SteppedWatch[] = [];
  private readonly pagedWatches: PagedWatch[] = [];
  /** The pages cut out of guest RAM now, and what the last access there hit. */
  private holes: number[] = [];
  /** Traps taken out for one step: their second byte is where the guest goes on from. */
  private lifted: MemoryBreak[] = [];
  private watchHit: StopEvent | undefined;
  /** The guest's own #BP or #DB goes back to it on the next entry. */
  private inject = 0;
  private cached: CpuState | undefined;
  /** kvm_run, for the debug exit's fields (made once: a stepped watchpoint decodes one per instruction). */
  private readonly runView: DataView;

  /** `imageMap`: the guest image's virtual-to-physical map (ELF segments), for addresses the page tables do not map. */
  constructor(private readonly vcpu: Vcpu, private readonly memory: GuestMemory, readonly caps: DebugCapabilities,
    private readonly imageMap: (addr: bigint) => number | undefined = () => undefined, private readonly pages?: WatchPages) {
    this.runView = new DataView(vcpu.run.buffer, vcpu.run.byteOffset, vcpu.run.byteLength);
  }

  /** A copy of the vCPU's state: the stub edits what it gets, and only writeState makes that real. */
  readState(): CpuState {
    return structuredClone(this.state());
  }

  /** The vCPU's state as last read (once per stop), for looking at only: no copy. */
  private state(): CpuState {
    return this.cached ??= { regs: this.vcpu.getRegs(), sregs: this.vcpu.getSregs(), fpu: this.vcpu.getFpu() };
  }

  writeState(s: CpuState): void {
    const c = this.state();
    if (!same(kvm_regs.encode(c.regs), kvm_regs.encode(s.regs))) this.vcpu.setRegs(s.regs);
    if (!same(kvm_sregs.encode(c.sregs), kvm_sregs.encode(s.sregs))) this.vcpu.setSregs(s.sregs);
    if (!same(kvm_fpu.encode(c.fpu), kvm_fpu.encode(s.fpu))) this.vcpu.setFpu(s.fpu);
    this.cached = undefined;
  }

  /** The guest ran: what we read of its state is stale. */
  forget(): void {
    this.cached = undefined;
  }

  /**
   * Guest-physical address of a linear one, or undefined where nothing is mapped: the page tables
   * while paging is on (KVM_TRANSLATE), the address itself while it is off (32 bits then).
   */
  translate(addr: bigint): number | undefined {
    const s = this.state();
    if ((s.sregs.cr0 & CR0_PG) === 0n) return addr < 1n << 32n ? Number(addr) : undefined;
    const t = this.vcpu.translate(addr);
    return t.valid ? t.physicalAddress : undefined;
  }

  readMemory(addr: bigint, length: number, physical: boolean): Uint8Array {
    const out: number[] = [];
    for (const piece of this.pieces(addr, length, physical)) {
      if (piece.gpa === undefined || !this.memory.contains(piece.gpa, piece.length)) break;
      const bytes = this.memory.slice(piece.gpa, piece.length, "debugger read");
      // Our breakpoints are not the guest's bytes: show what they replaced.
      for (let i = 0; i < bytes.length; i++) out.push(this.savedByte(piece.gpa + i) ?? bytes[i]!);
    }
    return Uint8Array.from(out);
  }

  writeMemory(addr: bigint, bytes: Uint8Array, physical: boolean): boolean {
    const pieces = this.pieces(addr, bytes.length, physical);
    if (pieces.some((p) => p.gpa === undefined || !this.memory.contains(p.gpa, p.length))) return false;
    let at = 0;
    for (const p of pieces) {
      for (let i = 0; i < p.length; i++) {
        const gpa = p.gpa! + i;
        const bp = this.inMemory.find((b) => gpa >= b.gpa && gpa < b.gpa + b.code.length);
        if (bp !== undefined) bp.saved[gpa - bp.gpa] = bytes[at + i]!; // the breakpoint stays until it goes
        else this.memory.writeU8(gpa, bytes[at + i]!);
      }
      at += p.length;
    }
    return true;
  }

  /** The guest's byte under one of our breakpoints at this guest-physical address, or undefined. */
  private savedByte(gpa: number): number | undefined {
    const bp = this.inMemory.find((b) => gpa >= b.gpa && gpa < b.gpa + b.code.length);
    return bp?.saved[gpa - bp.gpa];
  }

  /** [addr, addr + length) cut at page boundaries, each piece with its guest-physical address. */
  private pieces(addr: bigint, length: number, physical: boolean): Array<{ gpa: number | undefined; length: number }> {
    const out: Array<{ gpa: number | undefined; length: number }> = [];
    let at = addr;
    let left = length;
    while (left > 0) {
      const n = Math.min(left, Number(PAGE - (at % PAGE)));
      const gpa = physical ? (at < 1n << 53n ? Number(at) : undefined) : this.translate(at);
      out.push({ gpa, length: n });
      at += BigInt(n);
      left -= n;
    }
    return out;
  }

  insertBreakpoint(kind: BreakKind, addr: bigint, length: number): "ok" | "no-room" | "bad" | "unsupported" {
    if ((kind === "write" || kind === "read" || kind === "access") && !this.caps.dataBreakpoints) {
      // A KVM that does not fire data breakpoints: a write watchpoint is kept by stepping the guest
      // one instruction at a time and comparing the bytes (what gdb's `watch` reports: a change).
      // A read leaves no trace to compare: read and access watchpoints cut the watched page out of
      // guest RAM instead, so that every access to it exits to us as MMIO (pagedInsert).
      if (kind === "read" || kind === "access") return this.pagedInsert(kind, addr, length);
      if (!this.steppedWatches.some((w) => w.addr === addr && w.length === length)) {
        this.steppedWatches.push({ addr, length, last: this.readMemory(addr, length, false) });
      }
      return "ok";
    }
    const inRegisters = kind === "sw" || kind === "hw" ? this.caps.execBreakpoints : this.caps.dataBreakpoints;
    if (inRegisters) {
      const r = this.registers.insert(kind, addr, length);
      if (r !== "no-room" || kind !== "sw") return r;
    }
    if (kind !== "sw" && kind !== "hw") return "unsupported";
    if (this.inMemory.some((b) => b.addr === addr)) return "ok";
    // Past four (or no debug registers that fire): INT3 where KVM intercepts it, else our trap.
    const code = this.caps.int3Intercepted ? INT3 : TRAP;
    const gpa = this.translate(addr) ?? this.imageMap(addr);
    if (gpa === undefined || !this.memory.contains(gpa, code.length)) return "bad";
    if (this.inMemory.some((b) => gpa < b.gpa + b.code.length && b.gpa < gpa + code.length)) return "bad"; // overlaps another
    this.inMemory.push({ kind, addr, gpa, code, saved: this.memory.slice(gpa, code.length, "breakpoint").slice() });
    this.memory.write(gpa, code, "breakpoint");
    return "ok";
  }

  removeBreakpoint(kind: BreakKind, addr: bigint, length: number): boolean {
    const p = this.pagedWatches.findIndex((x) => x.kind === kind && x.addr === addr && x.length === length);
    if (p >= 0) { this.pagedWatches.splice(p, 1); this.updateHoles(); return true; }
    const w = kind === "write" ? this.steppedWatches.findIndex((x) => x.addr === addr && x.length === length) : -1;
    if (w >= 0) { this.steppedWatches.splice(w, 1); return true; }
    if (this.registers.remove(kind, addr, length)) return true;
    const i = this.inMemory.findIndex((b) => b.kind === kind && b.addr === addr);
    if (i < 0) return false;
    const [bp] = this.inMemory.splice(i, 1);
    this.memory.write(bp!.gpa, bp!.saved, "breakpoint");
    return true;
  }

  /** Every breakpoint gone (the debugger detached or went away). */
  removeAll(): void {
    this.registers.clear();
    this.steppedWatches.length = 0;
    this.pagedWatches.length = 0;
    this.updateHoles();
    for (const bp of this.inMemory.splice(0)) this.memory.write(bp.gpa, bp.saved, "breakpoint");
  }

  /**
   * A read or access watchpoint where the debug registers do not fire: its page leaves guest RAM
   * (KVM memory slots are rebuilt around it) and sits on the MMIO bus, served from the same bytes.
   * Each guest access there exits; one that touches the watched bytes stops the guest after its
   * instruction, as a data breakpoint would. Slow for a busy page; the page must hold no code or
   * page tables the guest uses (the CPU cannot fetch or walk through MMIO).
   */
  private pagedInsert(kind: "read" | "access", addr: bigint, length: number): "ok" | "bad" | "unsupported" {
    if (this.pages === undefined) return "unsupported";
    const gpa = this.translate(addr) ?? this.imageMap(addr);
    if (gpa === undefined || !this.memory.contains(gpa, length)) return "bad";
    if (!this.pagedWatches.some((w) => w.kind === kind && w.addr === addr && w.length === length)) {
      this.pagedWatches.push({ kind, addr, length, gpa });
    }
    this.updateHoles();
    return "ok";
  }

  /** Cuts out the pages the paged watchpoints need, and gives back the others. */
  private updateHoles(): void {
    if (this.pages === undefined) return;
    const want = new Set<number>();
    for (const w of this.pagedWatches) {
      for (let p = Math.floor(w.gpa / PAGE_SIZE) * PAGE_SIZE; p < w.gpa + w.length; p += PAGE_SIZE) want.add(p);
    }
    const pages = [...want].sort((a, b) => a - b);
    if (pages.length === this.holes.length && pages.every((p, i) => p === this.holes[i])) return;
    const { mmio } = this.pages;
    for (const p of this.holes) if (!want.has(p)) mmio.remove(p);
    for (const p of pages) {
      if (!this.holes.includes(p)) mmio.insert(p, PAGE_SIZE, "debugger watch", new WatchedPage(this.memory, p, (gpa, n, write) => this.touched(gpa, n, write)));
    }
    this.holes = pages;
    this.pages.setMemoryHoles(pages);
  }

  /** An access in a watched page: does it touch a watchpoint's bytes (a write only counts for awatch)? */
  private touched(gpa: number, length: number, write: boolean): void {
    const w = this.pagedWatches.find((x) => gpa < x.gpa + x.length && x.gpa < gpa + length && (!write || x.kind === "access"));
    if (w === undefined) return;
    this.watchHit ??= { reason: w.kind === "read" ? "rwatch" : "awatch", addr: w.addr };
    this.pages!.requestStop();
  }

  /**
   * A paged watchpoint was touched (the exit is in kvm_run): the access's instruction is finished
   * first (KVM_RUN with immediate_exit: no further instruction runs), so the guest stops after it.
   */
  watchExit(): StopEvent | undefined {
    this.vcpu.completeExit();
    this.forget();
    const hit = this.watchHit;
    this.watchHit = undefined;
    return hit;
  }

  /**
   * The guest wrote to TRAP_PORT (the exit is in kvm_run): our trap, or the guest's own write?
   * KVM finishes an I/O exit only when KVM_RUN is entered again, so it is finished first (with
   * immediate_exit: no guest instruction runs); the instruction pointer is then past the two bytes.
   * Ours: the pc goes back to the breakpoint and the stop is reported. The guest's: nothing to do.
   */
  trapExit(): StopEvent | undefined {
    this.vcpu.completeExit();
    this.forget();
    const s = this.readState();
    const at = linearPc(s) - BigInt(TRAP.length);
    const bp = this.inMemory.find((b) => b.addr === at && b.code === TRAP);
    if (bp === undefined) return undefined;
    setLinearPc(s, at);
    this.writeState(s);
    return { reason: bp.kind === "hw" ? "hwbreak" : "swbreak" };
  }

  /**
   * KVM_SET_GUEST_DEBUG for the next run: single step or not, our debug registers (`masked` slot
   * left out: stepping off an execution breakpoint at the current instruction), INT3 interception
   * while we have INT3s in memory. With nothing to watch, debugging is off: no cost to the guest.
   */
  arm(step: boolean, masked = -1): void {
    const { dr, dr7 } = this.registers.registers(masked);
    let control = 0;
    // Stepped watchpoints step too, with interrupts let in: a write in a handler counts as well.
    const watching = this.steppedWatches.length > 0;
    const int3s = this.inMemory.some((b) => b.code === INT3);
    if (step || watching || this.registers.used > 0 || int3s || this.inject !== 0) {
      control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP | this.inject;
      if (step || watching) control |= KVM_GUESTDBG_SINGLESTEP;
      // A step sees no interrupt handler, unless the instruction is HLT: that one waits for an interrupt.
      if (step && this.caps.blockIrq && this.readMemory(linearPc(this.state()), 1, false)[0] !== HLT) control |= KVM_GUESTDBG_BLOCKIRQ;
      if (int3s) control |= KVM_GUESTDBG_USE_SW_BP;
    }
    this.inject = 0;
    this.forget();
    this.vcpu.setGuestDebug(control, dr, dr7);
  }

  /**
   * Our two-byte trap at X covers X + 1, where another instruction may start (after a one-byte one
   * at X): when the guest is about to run from there, such traps are taken out for one step.
   * True if any was; restoreLifted() puts them back.
   */
  liftTrapsAtPc(): boolean {
    const pc = this.translate(linearPc(this.state()));
    if (pc === undefined) return false;
    for (const bp of this.inMemory) {
      if (pc > bp.gpa && pc < bp.gpa + bp.code.length) {
        this.memory.write(bp.gpa, bp.saved, "breakpoint");
        this.lifted.push(bp);
      }
    }
    return this.lifted.length > 0;
  }

  restoreLifted(): void {
    for (const bp of this.lifted.splice(0)) if (this.inMemory.includes(bp)) this.memory.write(bp.gpa, bp.code, "breakpoint");
  }

  /** An execution breakpoint on the instruction the guest would run next: its debug register, or -1. */
  slotAtPc(): number {
    return this.registers.executionSlotAt(linearPc(this.state()));
  }

  /**
   * What the KVM_EXIT_DEBUG now in kvm_run means: a stop to report; RUN_ON when it was ours with
   * nothing to report (a step that changed no watched bytes); undefined when it was the guest's
   * own (its INT3, or a #DB it caused), which goes back to it when it resumes.
   */
  debugExit(stepping: boolean): StopEvent | typeof RUN_ON | undefined {
    const event = this.decodeDebugExit(stepping || this.steppedWatches.length > 0);
    if (event === undefined || event.reason !== "step" || this.steppedWatches.length === 0) return event;
    for (const w of this.steppedWatches) {
      const now = this.readMemory(w.addr, w.length, false);
      if (!same(now, w.last)) {
        w.last = now;
        return { reason: "watch", addr: w.addr };
      }
    }
    return stepping ? event : RUN_ON;
  }

  private decodeDebugExit(stepping: boolean): StopEvent | undefined {
    const v = this.runView;
    const exception = v.getUint32(DEBUG_EXCEPTION, true);
    const dr6 = v.getBigUint64(DEBUG_DR6, true);
    this.forget();
    if (exception === EXCEPTION_BP) {
      const pc = linearPc(this.state());
      const bp = this.inMemory.find((b) => b.addr === pc && b.code === INT3);
      if (bp !== undefined) return { reason: bp.kind === "hw" ? "hwbreak" : "swbreak" };
      this.inject = KVM_GUESTDBG_INJECT_BP;
      return undefined;
    }
    if (exception !== EXCEPTION_DB) return { reason: "step" };
    const hit = (dr6 & DR6_HIT_MASK) !== 0n ? this.registers.hit(dr6) : undefined;
    if (hit !== undefined) {
      if (hit.kind === "sw") return { reason: "swbreak" };
      if (hit.kind === "hw") return { reason: "hwbreak" };
      return { reason: hit.kind === "write" ? "watch" : hit.kind === "read" ? "rwatch" : "awatch", addr: hit.addr };
    }
    if (stepping || (dr6 & DR6_BS) !== 0n) return { reason: "step" };
    // Some KVMs leave DR6 empty for an execution breakpoint: the instruction address tells.
    const slot = this.slotAtPc();
    if (slot >= 0) return { reason: "swbreak" };
    this.inject = KVM_GUESTDBG_INJECT_DB;
    return undefined;
  }

  monitor(command: string, physical: boolean): string {
    const words = command.split(/\s+/).filter((w) => w !== "");
    const s = this.state();
    switch (words[0]) {
      case undefined: case "help":
        return [
          "microvmm monitor commands:",
          "  mode              the CPU mode and where the next instruction is (CS:IP and linear)",
          "  regs              every register KVM has for the vCPU, with segment bases and limits",
          "  breakpoints       how each breakpoint and watchpoint is served",
          "  xp ADDR [LEN]     hex dump of guest-physical memory (LEN bytes, default 64, at most 4096)",
          "  phys on|off       memory commands (x, print) address guest-physical memory, or linear",
          "",
        ].join("\n");
      case "mode": {
        const mode = cpuModeOf(s.sregs);
        const paging = (s.sregs.cr0 & CR0_PG) !== 0n ? `paging on, CR3 ${hex(s.sregs.cr3)}` : "paging off";
        // CS:IP as segment:offset, the offset as wide as the mode's instruction pointer.
        const ipDigits = mode === "real" || mode === "protected 16-bit" ? 4 : mode === "long 64-bit" ? 16 : 8;
        const csip = `${s.sregs.cs.selector.toString(16).padStart(4, "0")}:${s.regs.rip.toString(16).padStart(ipDigits, "0")}`;
        return `${mode} mode, ${paging}; next instruction at CS:IP ${csip} = linear ${hex(linearPc(s))}` +
          `; memory packets address ${physical ? "guest-physical" : "linear"} memory\n`;
      }
      case "regs":
        return formatRegisters(s.regs, s.sregs).join("\n") + "\n";
      case "breakpoints":
        return [
          ...this.registers.describe(),
          ...this.inMemory.map((b) => `${b.kind === "sw" ? "breakpoint" : "hardware breakpoint"} at 0x${b.addr.toString(16)}: ` +
            `${b.code === INT3 ? "INT3" : `trap (out to port ${hex(TRAP_PORT)})`} at guest-physical ${hex(b.gpa)}`),
          ...this.steppedWatches.map((w) => `write watchpoint at 0x${w.addr.toString(16)}, ${w.length} bytes, kept by single-stepping`),
          ...this.pagedWatches.map((w) => `${w.kind} watchpoint at 0x${w.addr.toString(16)}, ${w.length} bytes: its page ${hex(Math.floor(w.gpa / PAGE_SIZE) * PAGE_SIZE)} is out of guest RAM, every access exits`),
          this.caps.execBreakpoints
            ? "breakpoints: in the debug registers, four at most; past four, in guest memory"
            : "this KVM fires no execution breakpoints in the debug registers: breakpoints (hbreak too) are written into guest memory",
          this.caps.int3Intercepted
            ? "breakpoints in guest memory: INT3 (this KVM intercepts it)"
            : `breakpoints in guest memory: a port write to ${hex(TRAP_PORT)} (this KVM does not intercept INT3); not in user-mode code`,
          this.caps.dataBreakpoints
            ? "watchpoints: in the debug registers"
            : "this KVM does not fire data breakpoints: write watchpoints are kept by single-stepping, read and access watchpoints by taking their page out of guest RAM (slow)",
          "",
        ].join("\n");
      case "xp": {
        const addr = words[1] === undefined ? undefined : /^(0x)?[0-9a-f]+$/i.test(words[1]) ? BigInt(words[1].startsWith("0x") ? words[1] : "0x" + words[1]) : undefined;
        const length = words[2] === undefined ? 64 : Number(words[2]);
        if (addr === undefined || !Number.isInteger(length) || length < 1 || length > 4096) return "usage: xp ADDR [LEN] (hex address, LEN 1 to 4096)\n";
        const bytes = this.readMemory(addr, length, true);
        if (bytes.length === 0) return `${hex(Number(addr))}: not guest RAM\n`;
        const lines: string[] = [];
        for (let i = 0; i < bytes.length; i += 16) {
          lines.push(`${hex(Number(addr) + i)}: ${[...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
        }
        if (bytes.length < length) lines.push(`(${length - bytes.length} bytes past the end of guest RAM)`);
        return lines.join("\n") + "\n";
      }
      default:
        return `unknown monitor command "${words[0]}" (monitor help lists them)\n`;
    }
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
