// The GDB remote protocol's commands (gdb/doc, "Packets", "General Query Packets", "Stop Reply
// Packets"), over a DebugTarget. handle() takes one packet's data and says what to do: send a
// reply, or resume the guest (the reply comes later, as a stop reply, when it stops), or end.
// No KVM and no sockets here: the target and the transport are passed in, so tests drive the stub
// with hand-made packets and a fake target.
import { BREAK_KINDS, type BreakKind } from "./breakpoints";
import { fromHex, latin1Bytes, PACKET_SIZE, textHex, toHex } from "./packet";
import type { CpuState, RegisterLayout } from "./registers";

/** What the stub needs of the VM. Addresses are linear (guest-virtual), or guest-physical in physical mode. */
export interface DebugTarget {
  /** vCPUs: gdb threads 1…n. */
  readonly vcpus: number;
  readState(): CpuState;
  writeState(s: CpuState): void;
  /** Up to `length` bytes from `addr`; fewer (maybe none) where the first unreadable byte is. */
  readMemory(addr: bigint, length: number, physical: boolean): Uint8Array;
  /** Writes all of `bytes`, or nothing and false. */
  writeMemory(addr: bigint, bytes: Uint8Array, physical: boolean): boolean;
  /** "unsupported": gdb falls back to its own way (software watchpoints). */
  insertBreakpoint(kind: BreakKind, addr: bigint, length: number): "ok" | "no-room" | "bad" | "unsupported";
  removeBreakpoint(kind: BreakKind, addr: bigint, length: number): boolean;
  /** The text of a `monitor` command's answer (ends with a newline). */
  monitor(command: string, physical: boolean): string;
}

/** Why the guest stopped, for the stop reply. */
export type StopEvent =
  | { reason: "step" }
  | { reason: "interrupt" }
  | { reason: "swbreak" | "hwbreak" }
  | { reason: "watch" | "rwatch" | "awatch"; addr: bigint };

export type StubAction =
  | { kind: "reply"; data: string }
  /** Run the guest; `addr` is where to go on from (c ADDR); a stop reply follows when it stops. */
  | { kind: "resume"; step: boolean; addr?: bigint }
  /** k: the debugger ends the VM. */
  | { kind: "kill" }
  /** D: the debugger goes; the reply is OK and the guest runs on without it. */
  | { kind: "detach" };

const SIGINT = 2;
const SIGTRAP = 5;
const E_INVAL = "E16"; // gdb only looks at "E": 0x16 is EINVAL
const E_FAULT = "E0e"; // EFAULT
const E_NOSPC = "E1c"; // ENOSPC: no debug register left

const reply = (data: string): StubAction => ({ kind: "reply", data });
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** A hex number gdb sent (an address, a length): up to 16 digits, else undefined. */
export function parseHexNumber(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  return BigInt("0x" + text);
}

export class GdbStub {
  /** QStartNoAckMode was agreed: no '+'/'-' from here on. */
  noAck = false;
  /** Memory packets address guest-physical memory (Qqemu.PhyMemMode:1, or `monitor phys on`). */
  physical = false;
  private lastStop = `T${hex2(SIGTRAP)}thread:01;`;

  constructor(private readonly target: DebugTarget, private readonly layout: RegisterLayout) {}

  /** The stop reply for an event, remembered for '?'. */
  stopReply(e: StopEvent): string {
    const signal = e.reason === "interrupt" ? SIGINT : SIGTRAP;
    let why = "";
    if (e.reason === "swbreak" || e.reason === "hwbreak") why = `${e.reason}:;`;
    else if (e.reason === "watch" || e.reason === "rwatch" || e.reason === "awatch") why = `${e.reason}:${e.addr.toString(16)};`;
    this.lastStop = `T${hex2(signal)}thread:01;${why}`;
    return this.lastStop;
  }

  handle(packet: string): StubAction {
    const c = packet[0];
    const rest = packet.slice(1);
    switch (c) {
      case "?": return reply(this.lastStop);
      case "g": return reply(toHex(this.layout.readAll(this.target.readState())));
      case "G": return this.writeRegisters(rest);
      case "p": return this.readRegister(rest);
      case "P": return this.writeRegister(rest);
      case "m": return this.readMemory(rest);
      case "M": return this.writeMemory(rest, false);
      case "X": return this.writeMemory(rest, true);
      case "c": case "s": return this.resume(c === "s", rest);
      case "C": case "S": return this.resume(c === "S", rest.includes(";") ? rest.slice(rest.indexOf(";") + 1) : "");
      case "Z": case "z": return this.breakpoint(c === "Z", rest);
      case "H": return reply("OK");
      case "T": return reply(this.threadAlive(rest) ? "OK" : E_INVAL);
      case "k": return { kind: "kill" };
      case "D": return { kind: "detach" };
      case "q": return this.query(packet);
      case "Q": return this.set(packet);
      case "v": return this.vPacket(packet);
      default: return reply(""); // not supported: the empty reply says so
    }
  }

  private query(packet: string): StubAction {
    if (packet.startsWith("qSupported")) {
      return reply(`PacketSize=${PACKET_SIZE.toString(16)};qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+`);
    }
    if (packet.startsWith("qXfer:features:read:")) return this.readFeatures(packet.slice("qXfer:features:read:".length));
    if (packet === "qAttached" || packet.startsWith("qAttached:")) return reply("1"); // attached to a running VM: k kills, quit detaches
    if (packet === "qC") return reply("QC01");
    if (packet === "qfThreadInfo") return reply("m" + Array.from({ length: this.target.vcpus }, (_, i) => hex2(i + 1)).join(","));
    if (packet === "qsThreadInfo") return reply("l");
    if (packet.startsWith("qThreadExtraInfo,")) {
      const t = parseHexNumber(packet.slice("qThreadExtraInfo,".length));
      return t !== undefined && this.threadAlive(t.toString(16)) ? reply(textHex(`vCPU ${t - 1n}`)) : reply(E_INVAL);
    }
    if (packet.startsWith("qRcmd,")) return this.monitor(packet.slice("qRcmd,".length));
    if (packet === "qqemu.PhyMemMode") return reply(this.physical ? "1" : "0");
    if (packet.startsWith("qSymbol")) return reply("OK");
    return reply("");
  }

  private set(packet: string): StubAction {
    if (packet === "QStartNoAckMode") { this.noAck = true; return reply("OK"); }
    if (packet.startsWith("Qqemu.PhyMemMode:")) {
      const v = packet.slice("Qqemu.PhyMemMode:".length);
      if (v !== "0" && v !== "1") return reply(E_INVAL);
      this.physical = v === "1";
      return reply("OK");
    }
    return reply("");
  }

  private vPacket(packet: string): StubAction {
    if (packet === "vCont?") return reply("vCont;c;C;s;S");
    if (packet.startsWith("vCont;")) {
      // Actions in order, each for a thread or (no thread) for all: the first that covers thread 1 wins.
      for (const action of packet.slice("vCont;".length).split(";")) {
        const [what, thread] = action.split(":");
        if (thread !== undefined && thread !== "-1" && !this.threadAlive(thread)) continue;
        const op = what?.[0];
        if (op === "c" || op === "C") return { kind: "resume", step: false };
        if (op === "s" || op === "S") return { kind: "resume", step: true };
        return reply(E_INVAL);
      }
      return reply(E_INVAL);
    }
    if (packet.startsWith("vKill")) return { kind: "kill" };
    return reply(""); // vMustReplyEmpty and anything we do not know
  }

  private threadAlive(text: string): boolean {
    const t = parseHexNumber(text);
    return t !== undefined && t >= 1n && t <= BigInt(this.target.vcpus);
  }

  private readFeatures(args: string): StubAction {
    const m = /^([^:]+):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(args);
    if (m === null) return reply(E_INVAL);
    if (m[1] !== "target.xml") return reply("E00");
    const xml = this.layout.targetXml();
    const offset = Number(parseHexNumber(m[2]) ?? 0n);
    const length = Math.min(Number(parseHexNumber(m[3]) ?? 0n), PACKET_SIZE - 1);
    if (offset > xml.length) return reply(E_INVAL);
    const part = xml.slice(offset, offset + length);
    return reply((offset + length >= xml.length ? "l" : "m") + part);
  }

  private writeRegisters(hex: string): StubAction {
    const bytes = fromHex(hex);
    if (bytes === undefined || bytes.length > this.layout.bytes) return reply(E_INVAL);
    const s = this.target.readState();
    const ok = this.layout.writeAll(s, bytes);
    this.target.writeState(s);
    return reply(ok ? "OK" : E_INVAL);
  }

  private readRegister(text: string): StubAction {
    const n = parseHexNumber(text);
    const bytes = n === undefined || n > 1000n ? undefined : this.layout.readOne(this.target.readState(), Number(n));
    return reply(bytes === undefined ? E_INVAL : toHex(bytes));
  }

  private writeRegister(text: string): StubAction {
    const [num, value] = text.split("=");
    const n = parseHexNumber(num);
    const bytes = fromHex(value ?? "");
    if (n === undefined || n > 1000n || bytes === undefined) return reply(E_INVAL);
    const s = this.target.readState();
    if (!this.layout.writeOne(s, Number(n), bytes)) return reply(E_INVAL);
    this.target.writeState(s);
    return reply("OK");
  }

  /** m addr,length: as many bytes as can be read from the start (an error only if none). */
  private readMemory(args: string): StubAction {
    const [a, l] = args.split(",");
    const addr = parseHexNumber(a);
    const length = parseHexNumber(l);
    if (addr === undefined || length === undefined) return reply(E_INVAL);
    if (length === 0n) return reply("");
    const n = Number(length > BigInt(PACKET_SIZE / 2) ? BigInt(PACKET_SIZE / 2) : length);
    const bytes = this.target.readMemory(addr, n, this.physical);
    return reply(bytes.length === 0 ? E_FAULT : toHex(bytes));
  }

  /** M addr,length:hex and X addr,length:binary. */
  private writeMemory(args: string, binary: boolean): StubAction {
    const colon = args.indexOf(":");
    if (colon < 0) return reply(E_INVAL);
    const [a, l] = args.slice(0, colon).split(",");
    const addr = parseHexNumber(a);
    const length = parseHexNumber(l);
    const data = binary ? latin1Bytes(args.slice(colon + 1)) : fromHex(args.slice(colon + 1));
    if (addr === undefined || length === undefined || data === undefined || BigInt(data.length) !== length) return reply(E_INVAL);
    if (data.length === 0) return reply("OK"); // gdb probes X support with an empty write
    return reply(this.target.writeMemory(addr, data, this.physical) ? "OK" : E_FAULT);
  }

  private resume(step: boolean, addrText: string): StubAction {
    if (addrText === "") return { kind: "resume", step };
    const addr = parseHexNumber(addrText);
    return addr === undefined ? reply(E_INVAL) : { kind: "resume", step, addr };
  }

  /** Z/z type,addr,kind: kind is the breakpoint's size in bytes (1 on x86) or the watched length. */
  private breakpoint(insert: boolean, args: string): StubAction {
    const [t, a, k] = args.split(/[,;]/);
    const type = t === undefined || !/^[0-4]$/.test(t) ? undefined : BREAK_KINDS[Number(t)]!;
    const addr = parseHexNumber(a);
    const length = parseHexNumber(k);
    if (type === undefined || addr === undefined || length === undefined || length === 0n || length > 64n) return reply(E_INVAL);
    if (!insert) return reply(this.target.removeBreakpoint(type, addr, Number(length)) ? "OK" : E_INVAL);
    const r = this.target.insertBreakpoint(type, addr, Number(length));
    return reply(r === "ok" ? "OK" : r === "unsupported" ? "" : r === "no-room" ? E_NOSPC : E_INVAL);
  }

  private monitor(hex: string): StubAction {
    const bytes = fromHex(hex);
    if (bytes === undefined) return reply(E_INVAL);
    const command = new TextDecoder().decode(bytes).trim();
    const words = command.split(/\s+/);
    if (words[0] === "phys" && (words[1] === "on" || words[1] === "off")) {
      this.physical = words[1] === "on";
      return reply(textHex(`memory packets now address ${this.physical ? "guest-physical" : "linear (guest-virtual)"} memory\n`));
    }
    return reply(textHex(this.target.monitor(command, this.physical)));
  }
}
