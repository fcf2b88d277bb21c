// The exit dispatcher fed hand-made kvm_run bytes, no KVM involved.
import { describe, expect, test } from "bun:test";
import * as B from "../../src/kvm/bindings";
import { MmioBus, PortBus } from "../../src/vcpu/bus";
import { handleExit, makeExitContext } from "../../src/vcpu/exits";
import { ExitStats } from "../../src/vcpu/stats";
import { StopRequest } from "../../src/core/stop";

function setup() {
  const run = new Uint8Array(3 * 4096); // kvm_run is mapped as a few pages; I/O data follows the struct
  const dv = new DataView(run.buffer);
  const writes: string[] = [];
  const ports = new PortBus();
  ports.insert(0x42, 1, "sink", { read: (_o, s) => 0x11223344 & (s === 4 ? 0xffffffff : (1 << (8 * s)) - 1), write: (_o, s, v) => writes.push(`${s}:${v.toString(16)}`) });
  const traces: string[] = [];
  const ctx = makeExitContext(run, ports, new MmioBus(), new ExitStats(), new StopRequest(), (l) => traces.push(l));
  const io = (dir: number, size: number, port: number, count: number, dataOffset: number) => {
    dv.setUint32(B.kvm_run.offsetOf("exit_reason"), B.KVM_EXIT_IO, true);
    dv.setUint8(B.runOffset(B.kvm_run_io, "direction"), dir);
    dv.setUint8(B.runOffset(B.kvm_run_io, "size"), size);
    dv.setUint16(B.runOffset(B.kvm_run_io, "port"), port, true);
    dv.setUint32(B.runOffset(B.kvm_run_io, "count"), count, true);
    dv.setBigUint64(B.runOffset(B.kvm_run_io, "data_offset"), BigInt(dataOffset), true);
  };
  const reason = (r: number) => dv.setUint32(B.kvm_run.offsetOf("exit_reason"), r, true);
  return { run, dv, ctx, writes, traces, io, reason };
}

describe("exit dispatch", () => {
  test("OUT of each size goes to the bus with its value", () => {
    const { dv, ctx, writes, io } = setup();
    for (const size of [1, 2, 4]) {
      dv.setUint32(0x1000, 0xa1b2c3d4, true);
      io(B.KVM_EXIT_IO_OUT, size, 0x42, 1, 0x1000);
      expect(handleExit(ctx)).toBeUndefined();
    }
    expect(writes).toEqual(["1:d4", "2:c3d4", "4:a1b2c3d4"]);
    expect(ctx.stats.ports.get(0x42)).toEqual({ in: 0, out: 3 });
  });

  test("string OUT (rep outsb) hands over every element, in order", () => {
    const { run, ctx, writes, io, traces } = setup();
    run.set(Buffer.from("hello"), 0x1000);
    io(B.KVM_EXIT_IO_OUT, 1, 0x42, 5, 0x1000);
    handleExit(ctx);
    expect(writes.join(" ")).toBe("1:68 1:65 1:6c 1:6c 1:6f");
    expect(traces[0]).toBe("exit IO out port=0x0042 (sink) size=1 count=5 data=68,65,6c,6c,6f");
  });

  test("IN fills the data area; string IN fills every element; unclaimed ports read all-ones", () => {
    const { dv, ctx, io } = setup();
    io(B.KVM_EXIT_IO_IN, 2, 0x42, 3, 0x1000);
    handleExit(ctx);
    expect([dv.getUint16(0x1000, true), dv.getUint16(0x1002, true), dv.getUint16(0x1004, true)]).toEqual([0x3344, 0x3344, 0x3344]);
    io(B.KVM_EXIT_IO_IN, 4, 0x43, 1, 0x1000);
    handleExit(ctx);
    expect(dv.getUint32(0x1000, true)).toBe(0xffffffff);
  });

  test("a data area outside kvm_run, or a bad size, stops the VM instead of touching memory", () => {
    const { ctx, io } = setup();
    io(B.KVM_EXIT_IO_OUT, 1, 0x42, 2, 3 * 4096 - 1);
    expect(handleExit(ctx)?.message).toMatch(/malformed KVM_EXIT_IO/);
    io(B.KVM_EXIT_IO_OUT, 3, 0x42, 1, 0x1000);
    expect(handleExit(ctx)?.message).toMatch(/malformed KVM_EXIT_IO/);
  });

  test("MMIO to nowhere: reads all-ones into kvm_run, writes dropped", () => {
    const { dv, run, ctx, reason } = setup();
    reason(B.KVM_EXIT_MMIO);
    dv.setBigUint64(B.runOffset(B.kvm_run_mmio, "phys_addr"), 0xfee00000n, true);
    dv.setUint32(B.runOffset(B.kvm_run_mmio, "len"), 4, true);
    dv.setUint8(B.runOffset(B.kvm_run_mmio, "is_write"), 0);
    expect(handleExit(ctx)).toBeUndefined();
    const at = B.runOffset(B.kvm_run_mmio, "data");
    expect([...run.subarray(at, at + 4)]).toEqual([255, 255, 255, 255]);
    expect(ctx.mmio.misses.get(0xfee00000)).toEqual({ reads: 1, writes: 0 });
    // An address above 4 GiB keeps its high half.
    dv.setBigUint64(B.runOffset(B.kvm_run_mmio, "phys_addr"), 0x1_2345_6000n, true);
    dv.setUint8(B.runOffset(B.kvm_run_mmio, "is_write"), 1);
    expect(handleExit(ctx)).toBeUndefined();
    expect(ctx.mmio.misses.get(0x1_2345_6000)).toEqual({ reads: 0, writes: 1 });
  });

  test("HLT stops with status 0; SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR stop with a message and a dump", () => {
    const { dv, ctx, reason } = setup();
    reason(B.KVM_EXIT_HLT);
    expect(handleExit(ctx)).toEqual({ status: 0, message: "guest halted", dumpState: false });
    reason(B.KVM_EXIT_SHUTDOWN);
    expect(handleExit(ctx)).toMatchObject({ status: 1, dumpState: true, message: expect.stringMatching(/triple-fault/) });
    reason(B.KVM_EXIT_FAIL_ENTRY);
    dv.setBigUint64(B.runOffset(B.kvm_run_fail_entry, "hardware_entry_failure_reason"), 0x80000021n, true);
    expect(handleExit(ctx)?.message).toMatch(/FAIL_ENTRY.*reason 0x80000021 on cpu 0/);
    reason(B.KVM_EXIT_INTERNAL_ERROR);
    dv.setUint32(B.runOffset(B.kvm_run_internal, "suberror"), 1, true);
    dv.setUint32(B.runOffset(B.kvm_run_internal, "ndata"), 2, true);
    dv.setBigUint64(B.runOffset(B.kvm_run_internal, "data"), 0xabn, true);
    expect(handleExit(ctx)?.message).toBe("KVM internal error (KVM_EXIT_INTERNAL_ERROR): emulation failure (1), data 0xab 0x0");
    reason(99);
    expect(handleExit(ctx)?.message).toBe("unhandled exit reason ? (99)");
    expect(ctx.stats.reasons()).toEqual({ UNKNOWN: 1, HLT: 1, SHUTDOWN: 1, FAIL_ENTRY: 1, INTERNAL_ERROR: 1 });
  });

  test("a device that ends the VM (reset, power-off) stops it on the very exit that asked", () => {
    const { ctx, io } = setup();
    ctx.ports.insert(0x64, 1, "reset", { read: () => 0, write: () => ctx.stop.request({ status: 0, message: "guest reset", dumpState: false }) });
    io(B.KVM_EXIT_IO_IN, 1, 0x64, 1, 0x1000);
    expect(handleExit(ctx)).toBeUndefined();
    io(B.KVM_EXIT_IO_OUT, 1, 0x64, 1, 0x1000);
    expect(handleExit(ctx)).toEqual({ status: 0, message: "guest reset", dumpState: false });
  });

  test("INTR (a signal) just continues", () => {
    const { ctx, reason } = setup();
    reason(B.KVM_EXIT_INTR);
    expect(handleExit(ctx)).toBeUndefined();
  });
});
