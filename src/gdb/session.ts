// A VM under a debugger: the socket (server.ts), the framing (packet.ts), the commands (stub.ts)
// and the vCPU (kvm-target.ts), around the machine's slices.
//
// The guest is either held (stopped: we serve the debugger's packets, waiting in poll()) or
// running (slices of KVM_RUN as without a debugger; a watcher thread kicks the vCPU out of KVM_RUN
// when the debugger sends something, so its Ctrl-C stops the guest at once). It starts held and
// runs its first instruction only when a debugger has connected and said continue or step.
// Without a debugger attached (before the first, after one detaches) nothing is armed and the exit
// path is the same as without --gdb.
import { ExitStatus } from "../errors";
import { DEBUG_EXIT, DEBUG_TRAP, DEBUG_WATCH, type VmStop } from "../core/stop";
import type { FdWatcher } from "../host/fd-watcher";
import type { Machine } from "../machine";
import { SliceTimer, yieldToEventLoop, type HostHooks, type SliceAlarm } from "../vcpu/runner";
import { RUN_ON, TRAP_PORT, type KvmDebugTarget } from "./kvm-target";
import { encodePacket, PacketDecoder, type Incoming } from "./packet";
import type { GdbServer } from "./server";
import { setLinearPc, type RegisterLayout } from "./registers";
import { GdbStub, type StopEvent } from "./stub";

/** Packets waiting to be served, at most (a debugger waits for each reply). */
const MAX_QUEUED = 4096;
/** While the guest is held, the host (signals, Ctrl-A x) is looked at this often. */
const HELD_WAIT_MS = 50;

const KILLED: VmStop = { status: ExitStatus.Ok, message: "ended by the debugger (kill)", dumpState: false };

export class DebugSession {
  private held = true;
  private decoder = new PacketDecoder();
  private stub: GdbStub;
  private queue: Incoming[] = [];
  private lastSent = "";
  /** The resume in progress is a single step (the debugger's, not ours). */
  private stepping = false;
  /** A continue that first steps off an execution breakpoint at the current instruction. */
  private steppingOff = false;
  private ended: VmStop | undefined;
  /** The debugger closed its end; what it sent before is still to be served. */
  private peerClosed = false;

  constructor(private readonly machine: Machine, private readonly server: GdbServer, private readonly target: KvmDebugTarget,
    private readonly layout: RegisterLayout, private readonly watcher: FdWatcher, private readonly say: (line: string) => void) {
    this.stub = new GdbStub(target, layout);
    // Our breakpoints in guest memory write to this port: the exit stops the slice (see kvm-target.ts).
    const core = machine.core;
    core.ports.insert(TRAP_PORT, 1, "debugger trap", {
      read: () => 0xff,
      write: () => core.stop.request(DEBUG_TRAP),
    });
  }

  /** Runs a lone VM until it ends or the host stops it (as Machine.run does without a debugger). */
  async run(host: HostHooks): Promise<VmStop> {
    const timer = new SliceTimer();
    const sliceMs = this.machine.board.pacing.sliceMs;
    try {
      for (;;) {
        const stop = this.slice(performance.now() + sliceMs, timer, true);
        if (stop !== undefined) return stop;
        host.poll();
        await yieldToEventLoop();
        const hostStop = host.stopRequested();
        if (hostStop !== undefined) return this.end(hostStop);
      }
    } finally {
      timer.delete();
      this.machine.finish();
    }
  }

  /**
   * One slice: while held, serve the debugger until the deadline (at most HELD_WAIT_MS for a lone
   * VM, so the host is looked at); while running, the guest runs. Why the VM ended, or undefined.
   */
  slice(deadline: number, timer: SliceAlarm, lone = false): VmStop | undefined {
    if (this.ended !== undefined) return this.ended;
    if (this.held) {
      this.serve(lone ? Math.min(deadline, performance.now() + HELD_WAIT_MS) : deadline);
      if (this.ended !== undefined) return this.ended;
      if (this.held) return undefined;
    }
    if (!this.watcher.started) this.watcher.start(this.machine.core.vcpu, this.server.fds);
    this.watcher.watch(this.server.fds);
    this.watcher.rearm();
    const vcpu = this.machine.core.vcpu;
    // Debug exits we only note (a stepped watchpoint's step, the guest's own INT3) go on in this slice.
    while (!this.held) {
      // A lone VM: KVM_RUN is interrupted only at the deadline (signals and kicks end it sooner).
      const stop = this.machine.slice(deadline, timer, lone ? { endOnSignal: true, maxWaitMs: Math.max(1, deadline - performance.now()) } : {});
      if (stop === DEBUG_EXIT) this.onDebugExit();
      else if (stop === DEBUG_TRAP) this.onTrap();
      else if (stop === DEBUG_WATCH) this.onWatch();
      else if (stop !== undefined) return this.end(stop);
      if (stop === undefined || vcpu.kicked) break;
    }
    vcpu.clearKick();
    this.takeInput();
    return undefined;
  }

  /** The VM ends: an attached debugger is told (W: exited, with the status) and let go. */
  end(stop: VmStop): VmStop {
    if (this.server.connected) this.sendPacket(`W${(stop.status & 0xff).toString(16).padStart(2, "0")}`);
    this.server.hangUp();
    this.ended ??= stop;
    return stop;
  }

  private onDebugExit(): void {
    const event = this.target.debugExit(this.stepping || this.steppingOff);
    if (event === undefined || event === RUN_ON) {
      // Nothing to report (the guest's own exception goes back to it): on, as before.
      this.steppingOff = false;
      this.target.restoreLifted();
      this.target.arm(this.stepping);
      return;
    }
    if (this.steppingOff && event.reason === "step" && !this.stepping) {
      // Off the breakpoint: now continue with every breakpoint in place.
      this.steppingOff = false;
      this.target.restoreLifted();
      this.target.arm(false);
      return;
    }
    this.stop(event);
  }

  /** The guest wrote to the trap port: one of our breakpoints in memory, or its own write. */
  private onTrap(): void {
    this.machine.core.stop.withdraw(DEBUG_TRAP);
    const event = this.target.trapExit();
    if (event !== undefined) this.stop(event);
  }

  /** An access in a watched page touched a read or access watchpoint. */
  private onWatch(): void {
    this.machine.core.stop.withdraw(DEBUG_WATCH);
    const event = this.target.watchExit();
    if (event !== undefined) this.stop(event);
  }

  private stop(event: StopEvent): void {
    this.target.restoreLifted();
    this.held = true;
    this.stepping = false;
    this.steppingOff = false;
    this.target.forget();
    this.sendPacket(this.stub.stopReply(event));
  }

  /** Reads what the debugger sent (and a new connection) without waiting; acts on it while running. */
  private takeInput(): void {
    this.receive();
    // A debugger that went away while the guest ran is gone now, so the next one can connect.
    if (this.peerClosed && !this.held) this.gone();
    if (this.server.accept()) { this.connected(); this.receive(); }
    if (!this.held && this.queue.some((i) => i.kind === "interrupt")) {
      this.queue = this.queue.filter((i) => i.kind !== "interrupt");
      this.stop({ reason: "interrupt" });
    }
    // What it sent before it closed is served first (a `k` and then EOF, say); then it is gone.
    if (this.peerClosed && (!this.held || this.queue.length === 0)) this.gone();
  }

  /** Everything the debugger has sent so far, decoded into the queue; notes EOF. */
  private receive(): void {
    for (;;) {
      const bytes = this.server.receive();
      if (bytes === undefined) { if (this.server.connected) this.peerClosed = true; break; } // EOF: the debugger went away
      if (bytes.length === 0) break;
      this.queue.push(...this.decoder.feed(bytes));
      // gdb sends nothing but Ctrl-C while the guest runs; a peer that floods us is let go.
      if (this.queue.length > MAX_QUEUED) {
        this.say(`the debugger sent more than ${MAX_QUEUED} packets without waiting for replies: disconnected`);
        this.peerClosed = true;
        this.queue = [];
        break;
      }
    }
  }

  /** Serves the debugger while the guest is held, until it resumes the guest or the deadline passes. */
  private serve(deadline: number): void {
    for (;;) {
      this.takeInput();
      while (this.held && this.ended === undefined && this.queue.length > 0) this.act(this.queue.shift()!);
      if (this.peerClosed && this.ended === undefined) this.gone();
      if (!this.held || this.ended !== undefined) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      this.server.wait(left);
    }
  }

  private act(item: Incoming): void {
    switch (item.kind) {
      case "ack": case "interrupt": return;
      case "nack": if (this.lastSent !== "") this.server.send(this.lastSent); return;
      case "bad-checksum": if (!this.stub.noAck) this.server.send("-"); return;
      case "too-long": this.ack(); this.sendPacket("E16"); return;
      case "packet": break;
    }
    this.ack();
    const action = this.stub.handle(item.data);
    switch (action.kind) {
      case "reply":
        this.sendPacket(action.data);
        return;
      case "resume": {
        if (action.addr !== undefined) {
          // c ADDR / s ADDR: a linear address, as the pc register gdb sees.
          const s = this.target.readState();
          setLinearPc(s, action.addr);
          this.target.writeState(s);
        }
        this.stepping = action.step;
        const slot = this.target.slotAtPc();
        // An execution breakpoint here would hit before the instruction runs, and a trap of ours
        // may cover this instruction's first byte: step it with those out of the way.
        const lifted = this.target.liftTrapsAtPc();
        this.steppingOff = (slot >= 0 || lifted) && !action.step;
        this.target.arm(action.step || slot >= 0 || lifted, slot);
        this.held = false;
        return;
      }
      case "kill":
        if (item.data.startsWith("vKill")) this.sendPacket("OK");
        this.server.hangUp();
        this.ended = KILLED;
        return;
      case "detach":
        this.sendPacket("OK");
        this.gone();
        return;
    }
  }

  /** A debugger connected: the guest stops for it (it asks '?' for why). */
  private connected(): void {
    this.peerClosed = false;
    this.decoder = new PacketDecoder();
    this.stub = new GdbStub(this.target, this.layout);
    this.queue = [];
    if (!this.held) {
      this.held = true;
      this.target.forget();
    }
    this.say(`debugger connected on ${this.server.address}`);
  }

  /** The debugger detached or went away: its breakpoints go, the guest runs on. */
  private gone(): void {
    this.peerClosed = false;
    this.server.hangUp();
    this.queue = [];
    this.target.removeAll();
    this.stepping = false;
    this.steppingOff = false;
    this.target.arm(false);
    this.held = false;
  }

  private ack(): void {
    if (!this.stub.noAck) this.server.send("+");
  }

  private sendPacket(data: string): void {
    this.lastSent = encodePacket(data);
    if (!this.server.send(this.lastSent)) this.gone();
  }
}
