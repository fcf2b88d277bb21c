// The GDB remote serial protocol's framing (gdb/doc "Overview" of the remote protocol):
//   $<data>#<two hex digits: sum of the data bytes mod 256>
// answered by '+' (received) or '-' (send again), unless both sides agreed to QStartNoAckMode.
// A lone 0x03 between packets is the debugger's interrupt (Ctrl-C). Inside data, '}' escapes the
// next byte (XOR 0x20) and "c*n" repeats c (n - 29) more times (run-length encoding). Packets are
// bytes, kept as latin1 strings: one character per byte, so binary data survives.
// Nothing here knows about registers or KVM; the decoder takes any bytes a socket hands it.

/** What the debugger sent, in order. */
export type Incoming =
  | { kind: "packet"; data: string }
  /** Longer than PACKET_SIZE after decoding: acknowledged, its content dropped, answered with an error. */
  | { kind: "too-long" }
  /** The checksum did not match: the reply is '-' and the debugger sends it again. */
  | { kind: "bad-checksum" }
  | { kind: "interrupt" }
  | { kind: "ack" }
  | { kind: "nack" };

/** The largest packet we accept and say we accept (qSupported PacketSize), in bytes of decoded data. */
export const PACKET_SIZE = 0x4000;

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const INTERRUPT = 0x03;
const ACK = 0x2b;
const NACK = 0x2d;
/** A run-length count character is the count + 29 (so a repeat of 3 more is ' '). */
const RLE_BIAS = 29;

const enum State { Idle, Data, Escape, Repeat, Sum1, Sum2 }

/** Turns a byte stream into Incoming items; keeps a partial packet across calls. */
export class PacketDecoder {
  private state = State.Idle;
  private data: string[] = [];
  private length = 0;
  private sum = 0;
  private sumText = "";
  private overflow = false;

  feed(bytes: Uint8Array): Incoming[] {
    const out: Incoming[] = [];
    for (const b of bytes) {
      switch (this.state) {
        case State.Idle:
          if (b === DOLLAR) this.begin();
          else if (b === INTERRUPT) out.push({ kind: "interrupt" });
          else if (b === ACK) out.push({ kind: "ack" });
          else if (b === NACK) out.push({ kind: "nack" });
          // Anything else between packets is noise (a debugger's stray newline): ignored.
          break;
        case State.Data:
          if (b === HASH) { this.state = State.Sum1; break; }
          this.sum = (this.sum + b) & 0xff;
          if (b === ESCAPE) this.state = State.Escape;
          else if (b === STAR && this.length > 0) this.state = State.Repeat;
          else this.push(String.fromCharCode(b), 1);
          break;
        case State.Escape:
          this.sum = (this.sum + b) & 0xff;
          this.push(String.fromCharCode(b ^ 0x20), 1);
          this.state = State.Data;
          break;
        case State.Repeat: {
          this.sum = (this.sum + b) & 0xff;
          // A count below the bias is malformed: taken as no repeat (the checksum still decides).
          const n = Math.max(0, b - RLE_BIAS);
          this.push(this.data[this.data.length - 1]!, n);
          this.state = State.Data;
          break;
        }
        case State.Sum1:
          this.sumText = String.fromCharCode(b);
          this.state = State.Sum2;
          break;
        case State.Sum2: {
          this.state = State.Idle;
          const given = parseInt(this.sumText + String.fromCharCode(b), 16);
          if (given !== this.sum || !/^[0-9a-fA-F]{2}$/.test(this.sumText + String.fromCharCode(b))) out.push({ kind: "bad-checksum" });
          else if (this.overflow) out.push({ kind: "too-long" });
          else out.push({ kind: "packet", data: this.data.join("") });
          this.data = [];
          break;
        }
      }
    }
    return out;
  }

  private begin(): void {
    this.state = State.Data;
    this.data = [];
    this.length = 0;
    this.sum = 0;
    this.overflow = false;
  }

  /** Appends `count` copies of one character, unless the packet is already too long (then only counts). */
  private push(ch: string, count: number): void {
    this.length += count;
    if (this.length > PACKET_SIZE) { this.overflow = true; this.data = [""]; return; }
    for (let i = 0; i < count; i++) this.data.push(ch);
  }
}

/** The checksum of a packet's data as sent: the byte sum mod 256, two lowercase hex digits. */
export function checksum(sent: string): string {
  let sum = 0;
  for (let i = 0; i < sent.length; i++) sum = (sum + sent.charCodeAt(i)) & 0xff;
  return sum.toString(16).padStart(2, "0");
}

/** '$', '#', '}' and '*' cannot appear as themselves in data: each is sent as '}' and itself XOR 0x20. */
export function escape(data: string): string {
  return data.replace(/[$#}*]/g, (c) => "}" + String.fromCharCode(c.charCodeAt(0) ^ 0x20));
}

/**
 * Run-length encodes: a run of 4 or more of one character becomes c*n. Counts whose character
 * would be '#' or '$' (6 and 7 repeats) are cut to 5, and none goes past '~' (97 repeats).
 */
export function runLength(data: string): string {
  let out = "";
  for (let i = 0; i < data.length;) {
    const c = data[i]!;
    let run = 1;
    while (i + run < data.length && data[i + run] === c) run++;
    i += run;
    out += c;
    let more = run - 1;
    while (more > 0) {
      if (more < 3) { out += c.repeat(more); break; }
      let n = Math.min(more, 126 - RLE_BIAS);
      if (n === 6 || n === 7) n = 5;
      out += "*" + String.fromCharCode(n + RLE_BIAS);
      more -= n;
      if (more > 0) { out += c; more--; }
    }
  }
  return out;
}

/**
 * A packet to send: escaped, then run-length encoded where that is shorter. Characters of the
 * data are bytes (latin1). Escaping happens first, so an escaped '*' is never taken for a repeat.
 */
export function encodePacket(data: string): string {
  const body = runLength(escape(data));
  return `$${body}#${checksum(body)}`;
}

/** Hex of bytes, two lowercase digits each (registers and memory). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

/** Bytes from hex; undefined if the text is not whole hex byte pairs. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A latin1 string's bytes (binary packet data, as the X packet carries). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes as a latin1 string, for a binary reply (qXfer). */
export function bytesLatin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Text as hex of its UTF-8 bytes (console output in O packets, qRcmd). */
export function textHex(text: string): string {
  return toHex(new TextEncoder().encode(text));
}
