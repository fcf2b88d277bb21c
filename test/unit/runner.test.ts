// runSlice with a fake vCPU and a fake clock: each KVM_RUN "returns" what the script says (an
// exit written into kvm_run, or EINTR), so every way a slice ends is checked without KVM.
import { describe, expect, test } from "bun:test";
import { StopRequest } from "../../src/core/stop";
import * as B from "../../src/kvm/bindings";
import { EINTR, EIO } from "../../src/libc/errno";
import { MmioBus, PortBus } from "../../src/vcpu/bus";
import { makeExitContext } from "../../src/vcpu/exits";
import { runSlice, type SliceAlarm } from "../../src/vcpu/runner";
import { ExitStats } from "../../src/vcpu/stats";

type Step = "out" | "reset" | "hlt" | "eintr" | "kick" | "eio";

/** A vCPU whose KVM_RUN plays `script` (then "out" forever), each call costing `costMs` on the fake clock. */
function setup(script: Step[], costMs = 0.01) {
  const run = new Uint8Array(3 * 4096);
  const dv = new DataView(run.buffer);
  const clock = { now: 0 };
  const outs: number[] = [];
  const ports = new PortBus();
  const stop = new StopRequest();
  ports.insert(0x42, 1, "console", { read: () => 0, write: (_o, _s, v) => outs.push(v) });
  ports.insert(0x64, 1, "reset", { read: () => 0, write: () => stop.request({ status: 0, message: "guest reset", dumpState: false }) });
  const ctx = makeExitContext(run, ports, new MmioBus(), new ExitStats(), stop);
  let kicked = false;
  let calls = 0;
  const vcpu = {
    get kicked() { return kicked; },
    runOnce(): number {
      clock.now += costMs;
      const step = script[calls++] ?? "out";
      kicked = step === "kick";
      if (step === "eintr" || step === "kick") return -EINTR;
      if (step === "eio") return -EIO;
      dv.setUint32(B.kvm_run.offsetOf("exit_reason"), step === "hlt" ? B.KVM_EXIT_HLT : B.KVM_EXIT_IO, true);
      dv.setUint8(B.runOffset(B.kvm_run_io, "direction"), B.KVM_EXIT_IO_OUT);
      dv.setUint8(B.runOffset(B.kvm_run_io, "size"), 1);
      dv.setUint16(B.runOffset(B.kvm_run_io, "port"), step === "reset" ? 0x64 : 0x42, true);
      dv.setUint32(B.runOffset(B.kvm_run_io, "count"), 1, true);
      dv.setBigUint64(B.runOffset(B.kvm_run_io, "data_offset"), 0x1000n, true);
      run[0x1000] = calls & 0xff;
      return 0;
    },
  };
  const arms: number[] = [];
  let disarmed = 0;
  const timer: SliceAlarm = { arm: (ms) => { arms.push(ms); }, disarm: () => { disarmed++; } };
  const slice = (deadline: number, endOnSignal = false) => runSlice(vcpu, ctx, deadline, timer, { clock: () => clock.now, endOnSignal, maxWaitMs: 10 });
  return { slice, ctx, outs, clock, arms, disarmed: () => disarmed, calls: () => calls };
}

describe("runSlice", () => {
  test("handles exits until the guest halts, and says why it stopped", () => {
    const s = setup(["out", "out", "hlt"]);
    expect(s.slice(1000)).toEqual({ status: 0, message: "guest halted", dumpState: false });
    expect(s.outs).toEqual([1, 2]);
    expect(s.ctx.stats.total).toBe(3);
    expect(s.arms).toEqual([10]); // armed once, for min(slice, maxWait)
    expect(s.disarmed()).toBe(1); // and always disarmed
  });

  test("ends on time while the guest keeps exiting (the clock is read every 16 exits)", () => {
    const s = setup([], 0.1);
    expect(s.slice(5)).toBeUndefined();
    expect(s.calls()).toBe(64); // 6.4 ms of fake time: the first multiple of 16 past the deadline
    expect(s.clock.now).toBeGreaterThanOrEqual(5);
  });

  test("a kick (immediate_exit) hands the thread back at once and is counted as a kick", () => {
    const s = setup(["out", "kick"]);
    expect(s.slice(1000)).toBeUndefined();
    expect(s.calls()).toBe(2);
    expect([s.ctx.stats.kicks, s.ctx.stats.signals]).toEqual([1, 0]);
  });

  test("a signal ends a lone VM's slice; under the scheduler the slice goes on to its deadline, re-arming the timer", () => {
    const lone = setup(["eintr"]);
    expect(lone.slice(1000, true)).toBeUndefined();
    expect(lone.ctx.stats.signals).toBe(1);
    const shared = setup(["eintr", "eintr", "hlt"]);
    expect(shared.slice(1000, false)?.message).toBe("guest halted");
    expect(shared.ctx.stats.signals).toBe(2);
    expect(shared.arms.length).toBe(3);
  });

  test("a device's stop request ends the slice on the exit that made it", () => {
    const s = setup(["out", "reset", "out", "out"]);
    expect(s.slice(1000)).toEqual({ status: 0, message: "guest reset", dumpState: false });
    expect(s.calls()).toBe(2); // the guest ran no further
    expect(s.outs).toEqual([1]);
  });

  test("KVM_RUN failing with another errno is a host error naming the ioctl", () => {
    const s = setup(["out", "eio"]);
    expect(() => s.slice(1000)).toThrow("ioctl(KVM_RUN): EIO");
    expect(s.disarmed()).toBe(1);
  });

  test("less than 20 µs left: the guest is not entered at all", () => {
    const s = setup([]);
    expect(s.slice(0.01)).toBeUndefined();
    expect(s.calls()).toBe(0);
  });
});
