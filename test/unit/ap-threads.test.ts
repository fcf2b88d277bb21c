// The main thread's side of the application processors' protocol (vcpu/ap-threads.ts), with the
// AP side played by the test on the shared state: no KVM, no threads. And the constants the two
// sides keep each a copy of.
import { describe, expect, test } from "bun:test";
import * as B from "../../src/kvm/bindings";
import type { Vcpu } from "../../src/kvm/kvm";
import { MmioBus, PortBus } from "../../src/vcpu/bus";
import * as main from "../../src/vcpu/ap-threads";
import * as worker from "../../src/vcpu/ap-worker";
import { makeExitContext } from "../../src/vcpu/exits";
import { ExitStats } from "../../src/vcpu/stats";
import { StopRequest } from "../../src/core/stop";

interface Posted { index: number; fd: number; state: SharedArrayBuffer; threads: SharedArrayBuffer; signal: number }

/** Two APs (vCPUs 1 and 2), each with its own kvm_run bytes; port 0x42 echoes which AP wrote. */
function setup() {
  const writes: string[] = [];
  const ports = new PortBus();
  const stats = new ExitStats();
  const stop = new StopRequest();
  const posted: Posted[] = [];
  const exitRequests: number[] = [];
  let onRequestExit = (_id: number) => {};
  const aps = [1, 2].map((id) => ({ id, fd: 100 + id, requestExit: () => { exitRequests.push(id); onRequestExit(id); } }) as unknown as Vcpu);
  const runs = aps.map(() => new Uint8Array(3 * 4096));
  const contexts = runs.map((run, i) => {
    ports.insert(0x40 + i, 1, `ap${i + 1}`, { read: () => 0x10 + i, write: (_o, _s, v) => writes.push(`vcpu ${i + 1} wrote ${v}`) });
    return makeExitContext(run, ports, new MmioBus(), stats, stop, undefined);
  });
  const terminated: number[] = [];
  const threads = new main.ApThreads(aps, contexts, () => ({
    postMessage: (m: Posted) => posted.push(m),
    terminate: () => terminated.push(posted.length),
  }) as unknown as Worker);
  threads.start();
  const state = () => new Int32Array(posted[0]!.state);
  /** What an AP thread does after KVM_RUN returned an exit: the exit in its kvm_run, its slot EXITED, the doorbell rung. */
  const exit = (id: number, port: number, dir: number, value = 0) => {
    const dv = new DataView(runs[id - 1]!.buffer);
    dv.setUint32(B.kvm_run.offsetOf("exit_reason"), B.KVM_EXIT_IO, true);
    dv.setUint8(B.runOffset(B.kvm_run_io, "direction"), dir);
    dv.setUint8(B.runOffset(B.kvm_run_io, "size"), 1);
    dv.setUint16(B.runOffset(B.kvm_run_io, "port"), port, true);
    dv.setUint32(B.runOffset(B.kvm_run_io, "count"), 1, true);
    dv.setBigUint64(B.runOffset(B.kvm_run_io, "data_offset"), 0x1000n, true);
    dv.setUint8(0x1000, value);
    const s = state();
    expect(Atomics.compareExchange(s, main.SLOTS + 2 * id, main.RUN, main.EXITED)).toBe(main.RUN);
    Atomics.add(s, main.DOORBELL, 1);
  };
  return { threads, posted, state, exit, writes, runs, contexts, stop, terminated, exitRequests, onExit: (f: (id: number) => void) => { onRequestExit = f; } };
}

describe("application processor threads, the main thread's side", () => {
  test("the two copies of the protocol agree, and KVM_RUN is the ioctl's number", () => {
    for (const k of ["RUN", "EXITED", "STOP", "FAILED", "GONE", "DOORBELL", "SLOTS"] as const) expect([k, main[k]]).toEqual([k, worker[k]]);
    expect(worker.KVM_RUN).toBe(0xae80);
  });

  test("one worker per AP, told its vCPU id, fd, the shared state and the kick signal", () => {
    const { posted } = setup();
    expect(posted.map((p) => [p.index, p.fd, p.signal])).toEqual([[1, 101, 14], [2, 102, 14]]);
    expect(posted[0]!.state).toBe(posted[1]!.state);
  });

  test("nothing pending until an AP rings; serve() handles each waiting exit on its own kvm_run and lets that AP run on", () => {
    const { threads, state, exit, writes, runs } = setup();
    expect(threads.pending()).toBe(false);
    exit(2, 0x41, B.KVM_EXIT_IO_OUT, 7);
    exit(1, 0x40, B.KVM_EXIT_IO_IN);
    expect(threads.pending()).toBe(true);
    expect(threads.serve()).toBeUndefined();
    expect(threads.pending()).toBe(false);
    expect(writes).toEqual(["vcpu 2 wrote 7"]);
    expect(runs[0]![0x1000]).toBe(0x10); // AP 1's IN answered in its own kvm_run
    expect([Atomics.load(state(), main.SLOTS + 2), Atomics.load(state(), main.SLOTS + 4)]).toEqual([main.RUN, main.RUN]);
    // A slot that is running is left alone.
    expect(threads.serve()).toBeUndefined();
    expect(writes.length).toBe(1);
  });

  test("an exit that stops the VM (a triple fault) is returned, and that AP is not let back into the guest", () => {
    const { threads, state, runs } = setup();
    new DataView(runs[0]!.buffer).setUint32(B.kvm_run.offsetOf("exit_reason"), B.KVM_EXIT_SHUTDOWN, true);
    Atomics.store(state(), main.SLOTS + 2, main.EXITED);
    Atomics.add(state(), main.DOORBELL, 1);
    expect(threads.serve()?.message).toBe("guest triple-faulted (KVM_EXIT_SHUTDOWN): an exception could not be delivered");
    expect(Atomics.load(state(), main.SLOTS + 2)).toBe(main.EXITED);
  });

  test("a failed KVM_RUN on an AP ends the VM with its errno", () => {
    const { threads, state } = setup();
    Atomics.store(state(), main.SLOTS + 4 + 1, 22);
    Atomics.store(state(), main.SLOTS + 4, main.FAILED);
    Atomics.add(state(), main.DOORBELL, 1);
    expect(threads.serve()?.message).toBe("KVM_RUN failed on vCPU 2: ioctl(KVM_RUN): EINVAL (Invalid argument)");
  });

  test("stop(): every slot says STOP, every AP is asked to leave KVM_RUN, the threads are waited for, then ended; once", () => {
    const { threads, state, terminated, exitRequests, onExit } = setup();
    onExit((id) => Atomics.store(state(), main.SLOTS + 2 * id, main.GONE)); // the AP thread leaves its loop
    threads.stop();
    threads.stop();
    expect(exitRequests).toEqual([1, 2]);
    expect([Atomics.load(state(), main.SLOTS + 2), Atomics.load(state(), main.SLOTS + 4)]).toEqual([main.GONE, main.GONE]);
    expect(terminated.length).toBe(2);
  });

  test("stop() gives up on a thread that never leaves after its wait, instead of hanging", () => {
    const { threads, terminated } = setup();
    const t0 = performance.now();
    threads.stop();
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(terminated.length).toBe(2);
  });
});
