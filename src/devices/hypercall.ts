// Port-I/O hypercalls (0xE9-0xEF), the numbering hypervisor courses use. Guest addresses given
// here are guest-virtual: each is translated through the vCPU's page tables (a string page by
// page, since contiguous virtual pages need not be contiguous in RAM) and checked against guest
// RAM before a byte is read. A bad address gets a message on stderr and the guest goes on.
//   0xE9 out 8   print the byte as is (unbuffered, like QEMU's debugcon)
//   0xEA out 32  print the value in decimal and "\n"
//   0xEB in 32   VM exits so far, this one included
//   0xEC out 32  print the NUL-terminated string at this address (one exit, any length)
//   0xED in 32   address of "IO in: X\nIO out: Y\n", written by the VMM into its scratch page:
//                each call its own slot (SNAPSHOT_SLOTS in turn), so earlier answers stay as they were
//   0xEE out 32  remember a guest-virtual address; 0xEF in 32 gives its host virtual address
//                (low 32 bits), or prints "Invalid GVA" and gives 0
// Why 0xEF hands out a host address: the course exercise it serves makes the VMM walk the whole
// chain, guest-virtual → guest-physical (the guest's page tables) → host-virtual (where the VMM
// mapped guest RAM), and print each step; the guest reads it with a 32-bit `in`, so it gets the
// low 32 bits. It tells the guest something about the host's address space (ASLR), so
// `hostAddresses: false` (--no-host-addresses) gives the guest-physical address instead.
import { hex } from "../binary/hex";
import type { GuestMemory } from "../memory/guest-memory";
import { allOnes, truncate, type PortDevice } from "../vcpu/bus";

export const HC_DEBUGCON = 0;
export const HC_PRINT_DECIMAL = 1;
export const HC_EXIT_COUNT = 2;
export const HC_PRINT_STRING = 3;
export const HC_IO_COUNTS = 4;
export const HC_SET_GVA = 5;
export const HC_TRANSLATE = 6;
export const HYPERCALL_PORTS = 7;

/** 0xED's answers: this many in the scratch page, each SNAPSHOT_SIZE bytes, used in turn. */
export const SNAPSHOT_SIZE = 64;
export const SNAPSHOT_SLOTS = 0x1000 / SNAPSHOT_SIZE;

/** Longest string 0xEC prints; a longer one (no NUL within it) is refused. */
export const STRING_MAX = 64 << 10;
const PAGE = 0x1000;

const KINDS = ["debugcon", "printDecimal", "exitCount", "printString", "ioCounts", "setGva", "translate"] as const;
export type HypercallKind = (typeof KINDS)[number];

export interface HypercallHost {
  /** Writes guest output to stdout now. */
  write(bytes: Uint8Array): void;
  /** Reports a bad request on stderr. */
  warn(message: string): void;
  /** VM exits so far, the current one included. */
  exitCount(): number;
  /** Port-I/O exits so far by direction, the current one included. */
  ioCounts(): { in: number; out: number };
  /** Guest-virtual → guest-physical through the vCPU's page tables; undefined if not mapped. */
  translate(gva: number): number | undefined;
}

const encoder = new TextEncoder();

export class Hypercalls implements PortDevice {
  readonly calls: Record<HypercallKind, number> = {
    debugcon: 0, printDecimal: 0, exitCount: 0, printString: 0, ioCounts: 0, setGva: 0, translate: 0,
  };
  private gva = 0;
  private nextSnapshot = 0;
  private readonly byte = new Uint8Array(1);

  /** `scratch` is a guest-physical page the VMM owns (not part of the image or the stack). */
  constructor(private readonly memory: GuestMemory, private readonly scratch: number, private readonly host: HypercallHost,
    private readonly hostAddresses = true) {}

  write(offset: number, size: number, value: number): void {
    const kind = KINDS[offset];
    if (kind === undefined) return;
    switch (offset) {
      case HC_DEBUGCON:
        for (let i = 0; i < size; i++) { this.byte[0] = value >>> (8 * i); this.host.write(this.byte); }
        break;
      case HC_PRINT_DECIMAL:
        this.host.write(encoder.encode(`${value >>> 0}\n`));
        break;
      case HC_PRINT_STRING:
        this.printString(value >>> 0);
        break;
      case HC_SET_GVA:
        this.gva = value >>> 0;
        break;
      default:
        this.host.warn(`hypercall port ${hex(0xe9 + offset)} is read-only; write ignored`);
        return;
    }
    this.calls[kind]++;
  }

  read(offset: number, size: number): number {
    const kind = KINDS[offset];
    if (kind === undefined) return 0xffffffff;
    let value: number;
    switch (offset) {
      case HC_EXIT_COUNT:
        value = this.host.exitCount();
        break;
      case HC_IO_COUNTS: {
        const c = this.host.ioCounts();
        const text = encoder.encode(`IO in: ${c.in}\nIO out: ${c.out}\n\0`);
        value = this.scratch + this.nextSnapshot * SNAPSHOT_SIZE;
        this.nextSnapshot = (this.nextSnapshot + 1) % SNAPSHOT_SLOTS;
        this.memory.write(value, text, "hypercall scratch page");
        break;
      }
      case HC_TRANSLATE:
        value = this.translate();
        break;
      default:
        this.host.warn(`hypercall port ${hex(0xe9 + offset)} is write-only; read gives all-ones`);
        return allOnes(size);
    }
    this.calls[kind]++;
    // A narrower read gets the low bytes.
    return truncate(value, size);
  }

  private translate(): number {
    const gpa = this.host.translate(this.gva);
    const hva = gpa === undefined ? undefined : this.memory.hostAddress(gpa);
    if (gpa === undefined || hva === undefined) {
      this.host.write(encoder.encode("Invalid GVA\n"));
      return 0;
    }
    return (this.hostAddresses ? hva : gpa) % 2 ** 32;
  }

  private printString(gva: number): void {
    const s = this.readString(gva);
    if (typeof s === "string") this.host.warn(`hypercall 0xEC: ${s}; nothing printed`);
    else this.host.write(s);
  }

  /** The bytes before the NUL at gva, or why they cannot be had. */
  private readString(gva: number): Uint8Array | string {
    const pieces: Uint8Array[] = [];
    let length = 0;
    for (let at = gva; length < STRING_MAX;) {
      const gpa = this.host.translate(at);
      if (gpa === undefined) return `string at ${hex(gva)}: address ${hex(at)} does not translate (not mapped)`;
      const n = Math.min(PAGE - (at % PAGE), STRING_MAX - length);
      if (!this.memory.contains(gpa, n)) return `string at ${hex(gva)}: guest physical ${hex(gpa)} is not in guest RAM`;
      const bytes = this.memory.slice(gpa, n);
      const nul = bytes.indexOf(0);
      pieces.push(nul >= 0 ? bytes.subarray(0, nul) : bytes);
      if (nul >= 0) return concat(pieces);
      length += n;
      at += n;
    }
    return `string at ${hex(gva)} has no NUL in its first ${STRING_MAX} bytes`;
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) { out.set(p, at); at += p.length; }
  return out;
}
