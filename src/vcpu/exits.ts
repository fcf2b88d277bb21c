// Decoding kvm_run after KVM_RUN returns, and dispatching to the buses. handleExit is a plain
// function of the exit context, so tests feed it hand-made kvm_run bytes. Nothing here allocates
// per exit on the port-I/O path: offsets are constants and views are made once.
import {
  EXIT_REASON_NAMES, INTERNAL_ERROR_NAMES, KVM_EXIT_DEBUG, KVM_EXIT_FAIL_ENTRY, KVM_EXIT_HLT,
  KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTR, KVM_EXIT_IO, KVM_EXIT_IO_OUT, KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN, KVM_EXIT_SYSTEM_EVENT, kvm_run, kvm_run_fail_entry, kvm_run_internal,
  kvm_run_io, kvm_run_mmio, kvm_run_system_event, runOffset,
} from "../kvm/bindings";
import { ExitStatus } from "../errors";
import { u64At } from "../binary/struct";
import { DEBUG_EXIT, failed, type StopRequest, type VmStop } from "../core/stop";
import type { MmioBus, PortBus } from "./bus";
import type { Peers } from "./ap-threads";
import type { CoalescedRing } from "./coalesced";
import type { ExitStats } from "./stats";

const EXIT_REASON = kvm_run.offsetOf("exit_reason");
const IO_DIRECTION = runOffset(kvm_run_io, "direction");
const IO_SIZE = runOffset(kvm_run_io, "size");
const IO_PORT = runOffset(kvm_run_io, "port");
const IO_COUNT = runOffset(kvm_run_io, "count");
const IO_DATA_OFFSET = runOffset(kvm_run_io, "data_offset");
const MMIO_PHYS_ADDR = runOffset(kvm_run_mmio, "phys_addr");
const MMIO_DATA = runOffset(kvm_run_mmio, "data");
const MMIO_LEN = runOffset(kvm_run_mmio, "len");
const MMIO_IS_WRITE = runOffset(kvm_run_mmio, "is_write");
const FAIL_REASON = runOffset(kvm_run_fail_entry, "hardware_entry_failure_reason");
const FAIL_CPU = runOffset(kvm_run_fail_entry, "cpu");
const INTERNAL_SUBERROR = runOffset(kvm_run_internal, "suberror");
const INTERNAL_NDATA = runOffset(kvm_run_internal, "ndata");
const INTERNAL_DATA = runOffset(kvm_run_internal, "data");
const SYSTEM_EVENT_TYPE = runOffset(kvm_run_system_event, "type");

// KVM_SYSTEM_EVENT_* types.
const SYSTEM_EVENT_SHUTDOWN = 1;
const SYSTEM_EVENT_RESET = 2;
const SYSTEM_EVENT_CRASH = 3;

export type { VmStop };

export interface ExitContext {
  /** The vCPU's kvm_run mapping. */
  readonly run: Uint8Array;
  readonly runView: DataView;
  readonly ports: PortBus;
  readonly mmio: MmioBus;
  readonly stats: ExitStats;
  /** One line per exit when tracing (--trace); undefined otherwise. */
  readonly trace: ((line: string) => void) | undefined;
  /** run.subarray(MMIO_DATA, MMIO_DATA + n) for n = 0..8, made once. */
  readonly mmioData: Uint8Array[];
  /** A device whose access ends the VM asks here; the exit that made the access returns it. */
  readonly stop: StopRequest;
  /** Writes KVM queued instead of exiting (coalesced ports): drained before each exit is handled. */
  ring: CoalescedRing | undefined;
  /**
   * While some ports wait to be coalesced: a flag per port (1: watched), and who is told of each
   * exiting write to a watched port. Undefined otherwise (the usual case: no cost per exit).
   */
  watchedPorts: Uint8Array | undefined;
  onWatchedWrite: (port: number) => void;
  /** Exits of this vCPU (stats counts every vCPU's together). */
  exits: number;
  /** This vCPU's id. */
  vcpuId: number;
  /** The boot vCPU's: the other vCPUs, whose exits its thread handles too (ap-threads.ts); undefined with one vCPU. */
  peers: Peers | undefined;
}

export function makeExitContext(run: Uint8Array, ports: PortBus, mmio: MmioBus, stats: ExitStats, stop: StopRequest,
  trace?: (line: string) => void): ExitContext {
  const mmioData: Uint8Array[] = [];
  for (let n = 0; n <= 8; n++) mmioData.push(run.subarray(MMIO_DATA, MMIO_DATA + n));
  return { run, runView: new DataView(run.buffer, run.byteOffset, run.byteLength), ports, mmio, stats, trace, mmioData, stop, ring: undefined,
    watchedPorts: undefined, onWatchedWrite: () => {}, exits: 0, vcpuId: 0, peers: undefined };
}

/** Handles the exit KVM_RUN just reported. Returns undefined to keep running, or why to stop. */
export function handleExit(ctx: ExitContext): VmStop | undefined {
  // Writes queued before this exit happened before it.
  if (ctx.ring !== undefined) ctx.ring.drain();
  const v = ctx.runView;
  const reason = v.getUint32(EXIT_REASON, true);
  ctx.stats.countExit(reason);
  ctx.stats.handling = ctx.vcpuId;
  ctx.exits++;
  // One trace line per counted exit; I/O and MMIO exits write their own, with the data.
  if (ctx.trace !== undefined && reason !== KVM_EXIT_IO && reason !== KVM_EXIT_MMIO) {
    ctx.trace(`exit ${EXIT_REASON_NAMES[reason] ?? `reason ${reason}`}`);
  }
  switch (reason) {
    case KVM_EXIT_IO:
      return handleIo(ctx);
    case KVM_EXIT_MMIO:
      return handleMmio(ctx);
    case KVM_EXIT_HLT:
      return { status: ExitStatus.Ok, message: "guest halted", dumpState: false };
    case KVM_EXIT_INTR:
      return undefined;
    case KVM_EXIT_SHUTDOWN:
      return failed("guest triple-faulted (KVM_EXIT_SHUTDOWN): an exception could not be delivered");
    case KVM_EXIT_FAIL_ENTRY: {
      const why = v.getBigUint64(FAIL_REASON, true);
      return failed(`KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY): hardware entry failure reason 0x${why.toString(16)} on cpu ${v.getUint32(FAIL_CPU, true)}`);
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      const sub = v.getUint32(INTERNAL_SUBERROR, true);
      const n = Math.min(v.getUint32(INTERNAL_NDATA, true), 16);
      const data: string[] = [];
      for (let i = 0; i < n; i++) data.push("0x" + v.getBigUint64(INTERNAL_DATA + 8 * i, true).toString(16));
      return failed(`KVM internal error (KVM_EXIT_INTERNAL_ERROR): ${INTERNAL_ERROR_NAMES[sub] ?? "suberror"} (${sub})${n ? `, data ${data.join(" ")}` : ""}`);
    }
    case KVM_EXIT_SYSTEM_EVENT: {
      const type = v.getUint32(SYSTEM_EVENT_TYPE, true);
      if (type === SYSTEM_EVENT_SHUTDOWN) return { status: ExitStatus.Ok, message: "guest powered off", dumpState: false };
      if (type === SYSTEM_EVENT_RESET) return { status: ExitStatus.Ok, message: "guest reset", dumpState: false };
      if (type === SYSTEM_EVENT_CRASH) return failed("guest crashed (KVM_SYSTEM_EVENT_CRASH)");
      return failed(`guest system event ${type}`);
    }
    case KVM_EXIT_DEBUG:
      return DEBUG_EXIT;
    default:
      return failed(`unhandled exit reason ${EXIT_REASON_NAMES[reason] ?? "?"} (${reason})`);
  }
}

function handleIo(ctx: ExitContext): VmStop | undefined {
  const v = ctx.runView;
  const out = v.getUint8(IO_DIRECTION) === KVM_EXIT_IO_OUT;
  const size = v.getUint8(IO_SIZE);
  const port = v.getUint16(IO_PORT, true);
  const count = v.getUint32(IO_COUNT, true);
  // data_offset is a u64; read as two halves (no BigInt on the hot path).
  const dataOffset = v.getUint32(IO_DATA_OFFSET, true);
  const dataOffsetHigh = v.getUint32(IO_DATA_OFFSET + 4, true);
  ctx.stats.countPort(port, out);
  // The data area lies inside kvm_run; KVM says where. Check it anyway: a wrong offset must not
  // make us read or write past the mapping.
  if ((size !== 1 && size !== 2 && size !== 4) || dataOffsetHigh !== 0 || dataOffset + count * size > ctx.run.length) {
    return failed(`malformed KVM_EXIT_IO: port 0x${port.toString(16)} size ${size} count ${count} data_offset 0x${dataOffset.toString(16)}`);
  }
  // `rep ins/outs` arrive as one exit with count elements of size bytes each.
  for (let i = 0, at = dataOffset; i < count; i++, at += size) {
    if (out) {
      const value = size === 1 ? v.getUint8(at) : size === 2 ? v.getUint16(at, true) : v.getUint32(at, true);
      ctx.ports.write(port, size, value);
      if (ctx.watchedPorts !== undefined && ctx.watchedPorts[port] !== 0) ctx.onWatchedWrite(port);
    } else {
      const value = ctx.ports.read(port, size);
      if (size === 1) v.setUint8(at, value); else if (size === 2) v.setUint16(at, value, true); else v.setUint32(at, value, true);
    }
  }
  if (ctx.trace !== undefined) ctx.trace(traceIo(ctx, out, port, size, count, dataOffset));
  return ctx.stop.pending;
}

function traceIo(ctx: ExitContext, out: boolean, port: number, size: number, count: number, at: number): string {
  const data: string[] = [];
  for (let i = 0; i < Math.min(count, 16); i++) {
    let value = 0;
    for (let b = size - 1; b >= 0; b--) value = value * 256 + ctx.run[at + i * size + b]!;
    data.push(value.toString(16).padStart(size * 2, "0"));
  }
  return ioTraceLine(ctx.ports, out, port, size, count, `${data.join(",")}${count > 16 ? ",…" : ""}`);
}

/** One --trace line for a port access (an exit, or a write from the coalesced ring). */
export function ioTraceLine(ports: PortBus, out: boolean, port: number, size: number, count: number, data: string): string {
  return `exit IO ${out ? "out" : "in"} port=0x${port.toString(16).padStart(4, "0")} (${ports.nameAt(port) ?? "unclaimed"}) size=${size}` +
    `${count > 1 ? ` count=${count}` : ""} data=${data}`;
}

function handleMmio(ctx: ExitContext): VmStop | undefined {
  const v = ctx.runView;
  const addr = u64At(v, MMIO_PHYS_ADDR);
  const len = v.getUint32(MMIO_LEN, true);
  const write = v.getUint8(MMIO_IS_WRITE) !== 0;
  if (len === 0 || len > 8) return failed(`malformed KVM_EXIT_MMIO: length ${len} at 0x${addr.toString(16)}`);
  const data = ctx.mmioData[len]!;
  if (write) { ctx.stats.mmioWrites++; ctx.mmio.write(addr, data); } else { ctx.stats.mmioReads++; ctx.mmio.read(addr, data); }
  if (ctx.trace !== undefined) {
    const hexData = [...data].reverse().map((b) => b.toString(16).padStart(2, "0")).join("");
    ctx.trace(`exit MMIO ${write ? "write" : "read"} addr=0x${addr.toString(16)} size=${len} data=${hexData}`);
  }
  return ctx.stop.pending;
}
