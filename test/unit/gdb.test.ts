// The debugger stub without KVM: packet framing, the debug-register bookkeeping, the register
// layouts, and the protocol commands against a fake target.
import { describe, expect, test } from "bun:test";
import { alignedPieces, DebugRegisterFile } from "../../src/gdb/breakpoints";
import { parseGdbAddress } from "../../src/gdb/address";
import { checksum, encodePacket, escape, fromHex, PACKET_SIZE, PacketDecoder, runLength, toHex } from "../../src/gdb/packet";
import { cpuModeOf, fullTagWord, linearPc, RegisterLayout, type CpuState } from "../../src/gdb/registers";
import { GdbStub, type DebugTarget } from "../../src/gdb/stub";
import { kvm_fpu, kvm_regs, kvm_sregs } from "../../src/kvm/bindings";
import type { BreakKind } from "../../src/gdb/breakpoints";
import { WatchedPage } from "../../src/gdb/watched-page";
import { GuestMemory } from "../../src/memory/guest-memory";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("packet framing", () => {
  test("a packet, its checksum, acks and the interrupt byte", () => {
    const d = new PacketDecoder();
    expect(d.feed(bytes("+$g#67-\x03"))).toEqual([{ kind: "ack" }, { kind: "packet", data: "g" }, { kind: "nack" }, { kind: "interrupt" }]);
    expect(checksum("g")).toBe("67");
  });

  test("a packet split across reads, noise between packets ignored", () => {
    const d = new PacketDecoder();
    expect(d.feed(bytes("\n$qSupp"))).toEqual([]);
    expect(d.feed(bytes("orted#3"))).toEqual([]);
    expect(d.feed(bytes("7"))).toEqual([{ kind: "packet", data: "qSupported" }]);
  });

  test("a wrong or non-hex checksum is refused, and the next packet still decodes", () => {
    const d = new PacketDecoder();
    expect(d.feed(bytes("$g#00$g#zz$?#3f"))).toEqual([{ kind: "bad-checksum" }, { kind: "bad-checksum" }, { kind: "packet", data: "?" }]);
  });

  test("escapes decode (the checksum covers the escaped bytes)", () => {
    const body = escape("X1,4:#$}*");
    expect(body).toBe("X1,4:}\x03}\x04}]}\x0a");
    expect(new PacketDecoder().feed(bytes(`$${body}#${checksum(body)}`))).toEqual([{ kind: "packet", data: "X1,4:#$}*" }]);
  });

  test("run-length encoding: never # or $ as a count, and it decodes back", () => {
    for (const n of [1, 3, 4, 6, 7, 8, 9, 97, 98, 99, 200, 1000]) {
      const data = "a" + "0".repeat(n) + "b";
      const rle = runLength(data);
      expect(rle).not.toMatch(/\*[#$]/);
      expect(new PacketDecoder().feed(bytes(`$${rle}#${checksum(rle)}`))).toEqual([{ kind: "packet", data }]);
    }
    expect(runLength("0000000")).toBe("0*\"0"); // 6 more would be '#': 5 more, then one
  });

  test("encodePacket escapes, compresses, and sums", () => {
    expect(encodePacket("OK")).toBe("$OK#9a");
    expect(encodePacket("")).toBe("$#00");
    const p = encodePacket("$".repeat(10));
    const [item] = new PacketDecoder().feed(bytes(p));
    expect(item).toEqual({ kind: "packet", data: "$".repeat(10) });
  });

  test("a packet longer than PacketSize is dropped whole, reported once", () => {
    const d = new PacketDecoder();
    const body = "m" + "1".repeat(PACKET_SIZE + 10);
    expect(d.feed(bytes(`$${body}#${checksum(body)}`))).toEqual([{ kind: "too-long" }]);
    // run-length counts count too: a tiny packet that expands past the limit
    const rle = "x" + "*~".repeat(PACKET_SIZE / 97 + 2);
    expect(d.feed(bytes(`$${rle}#${checksum(rle)}`))).toEqual([{ kind: "too-long" }]);
    expect(d.feed(bytes("$g#67"))).toEqual([{ kind: "packet", data: "g" }]);
  });

  test("hex both ways; odd or non-hex text is refused", () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0x10))).toBe("00ab10");
    expect(fromHex("00ab10")).toEqual(Uint8Array.of(0, 0xab, 0x10));
    expect(fromHex("abc")).toBeUndefined();
    expect(fromHex("zz")).toBeUndefined();
  });
});

describe("debug registers", () => {
  test("execution breakpoints take one register each; DR7 enables them with RW 00 LEN 00", () => {
    const f = new DebugRegisterFile();
    expect(f.insert("sw", 0x1000n, 1)).toBe("ok");
    expect(f.insert("hw", 0x2000n, 1)).toBe("ok");
    const r = f.registers();
    expect(r.dr.slice(0, 2)).toEqual([0x1000n, 0x2000n]);
    expect(r.dr7).toBe(0x400n | 0x2n | 0x8n); // G0, G1
    expect(f.executionSlotAt(0x2000n)).toBe(1);
    expect(f.registers(1).dr7).toBe(0x400n | 0x2n); // stepping off the second: it is left out
  });

  test("a 4-byte write watchpoint: RW 01, LEN 11; an unaligned range takes aligned pieces", () => {
    const f = new DebugRegisterFile();
    expect(f.insert("write", 0x3000n, 4)).toBe("ok");
    expect(f.registers().dr7).toBe(0x400n | 0x200n | 0x2n | (1n << 16n) | (3n << 18n));
    expect(alignedPieces(0x1003n, 6)).toEqual([{ at: 0x1003n, size: 1 }, { at: 0x1004n, size: 4 }, { at: 0x1008n, size: 1 }]);
    expect(alignedPieces(0x1000n, 8)).toEqual([{ at: 0x1000n, size: 8 }]);
    expect(f.insert("access", 0x1001n, 15)).toBe("no-room"); // 1, 2, 4 and 8 bytes: four pieces, three registers left
    expect(f.insert("access", 0x1003n, 6)).toBe("ok"); // three pieces: fits
  });

  test("four at most; removal frees; DR6 names the one that hit", () => {
    const f = new DebugRegisterFile();
    for (let i = 0; i < 4; i++) expect(f.insert("sw", BigInt(0x100 * (i + 1)), 1)).toBe("ok");
    expect(f.insert("sw", 0x900n, 1)).toBe("no-room");
    expect(f.insert("sw", 0x100n, 1)).toBe("ok"); // already there
    expect(f.remove("sw", 0x300n, 1)).toBe(true);
    expect(f.remove("sw", 0x300n, 1)).toBe(false);
    expect(f.insert("read", 0x5000n, 2)).toBe("ok");
    expect(f.hit(1n << 2n)).toEqual({ kind: "read", addr: 0x5000n });
    expect(f.hit(1n << 14n)).toBeUndefined(); // a single step, no breakpoint
  });
});

function fakeState(): CpuState {
  const regs = kvm_regs.decode(kvm_regs.encode());
  const sregs = kvm_sregs.decode(kvm_sregs.encode());
  const fpu = kvm_fpu.decode(kvm_fpu.encode());
  return { regs, sregs, fpu };
}

describe("register layouts", () => {
  test("the pc is the linear address: CS:IP in real mode, RIP in 64-bit code", () => {
    const s = fakeState();
    s.sregs.cs.selector = 0x800; s.sregs.cs.base = 0x8000n; s.regs.rip = 5n;
    expect(cpuModeOf(s.sregs)).toBe("real");
    expect(linearPc(s)).toBe(0x8005n);
    const x64 = new RegisterLayout("x86-64");
    // rip is register 16: setting it moves IP, not CS
    expect(x64.writeOne(s, 16, Uint8Array.of(0x10, 0x80, 0, 0, 0, 0, 0, 0))).toBe(true);
    expect(s.regs.rip).toBe(0x10n);
    s.sregs.cr0 = 1n; s.sregs.efer = 0x500n; s.sregs.cs.l = 1; s.sregs.cs.base = 0x1234n; s.regs.rip = 0xffff_8000_0000_0000n;
    expect(cpuModeOf(s.sregs)).toBe("long 64-bit");
    expect(linearPc(s)).toBe(0xffff_8000_0000_0000n);
  });

  test("x86-64: 'g' is every register in order, 'G' writes them back; the description matches", () => {
    const layout = new RegisterLayout("x86-64");
    const s = fakeState();
    s.regs.rax = 0x1122334455667788n; s.regs.rbx = 2n; s.sregs.cr3 = 0x10000n; s.sregs.fs.base = 0xabcn;
    const g = layout.readAll(s);
    expect(g.length).toBe(layout.bytes);
    expect(toHex(g.subarray(0, 8))).toBe("8877665544332211");
    const t = fakeState();
    expect(layout.writeAll(t, g)).toBe(true);
    expect(t.regs.rax).toBe(s.regs.rax);
    expect(t.sregs.cr3).toBe(0x10000n);
    expect(t.sregs.fs.base).toBe(0xabcn);
    const xml = layout.targetXml();
    expect(xml).toContain("<architecture>i386:x86-64</architecture>");
    expect(xml.match(/<reg /g)!.length).toBe(layout.registers.length);
    expect(xml).toContain(`<reg name="xmm15" bitsize="128" type="vec128" regnum="55"/>`);
  });

  test("i386: eax ecx edx ebx …, 32 bits each; a write keeps the upper half", () => {
    const layout = new RegisterLayout("i386");
    expect(layout.registers.slice(0, 9).map((r) => r.name)).toEqual(["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip"]);
    const s = fakeState();
    s.regs.rcx = 0xdead_beef_0000_0001n;
    expect(toHex(layout.readOne(s, 1)!)).toBe("01000000");
    expect(layout.writeOne(s, 1, Uint8Array.of(2, 0, 0, 0))).toBe(true);
    expect(s.regs.rcx).toBe(0xdead_beef_0000_0002n);
    expect(layout.writeOne(s, 1, Uint8Array.of(2, 0))).toBe(false); // wrong size
    expect(layout.targetXml()).toContain("<architecture>i386</architecture>");
  });

  test("a segment selector is set in real mode (base = 16 × selector), refused in protected mode", () => {
    const layout = new RegisterLayout("x86-64");
    const ds = layout.registers.findIndex((r) => r.name === "ds");
    const s = fakeState();
    expect(layout.writeOne(s, ds, Uint8Array.of(0x00, 0x10, 0, 0))).toBe(true);
    expect(s.sregs.ds.base).toBe(0x10000n);
    s.sregs.cr0 = 1n;
    expect(layout.writeOne(s, ds, Uint8Array.of(0x10, 0, 0, 0))).toBe(false);
  });

  test("the x87 tag word: empty, zero, valid from FXSAVE's abridged tag", () => {
    const s = fakeState();
    expect(fullTagWord(s.fpu)).toBe(0xffff); // all empty
    s.fpu.ftwx = 0b11; // ST0 and ST1 in use (TOP = 0)
    s.fpu.fpr[16 + 7] = 0x80; s.fpu.fpr[16 + 8] = 0xff; s.fpu.fpr[16 + 9] = 0x3f; // ST1 = 1.0
    expect(fullTagWord(s.fpu)).toBe(0xfff0 | 0b0001); // R0 zero (01), R1 valid (00)
  });
});

/** A guest of 64 KiB of flat memory, registers in a fake state, breakpoints as a list. */
class FakeTarget implements DebugTarget {
  readonly vcpus = 1;
  state = fakeState();
  memory = new Uint8Array(0x10000);
  breaks: Array<{ kind: BreakKind; addr: bigint; length: number }> = [];
  readState(): CpuState { return structuredClone(this.state); }
  writeState(s: CpuState): void { this.state = s; }
  readMemory(addr: bigint, length: number): Uint8Array {
    if (addr >= BigInt(this.memory.length)) return new Uint8Array(0);
    return this.memory.slice(Number(addr), Math.min(this.memory.length, Number(addr) + length));
  }
  writeMemory(addr: bigint, b: Uint8Array): boolean {
    if (addr + BigInt(b.length) > BigInt(this.memory.length)) return false;
    this.memory.set(b, Number(addr));
    return true;
  }
  insertBreakpoint(kind: BreakKind, addr: bigint, length: number) {
    if (kind === "read") return "unsupported" as const;
    if (this.breaks.length >= 4) return "no-room" as const;
    this.breaks.push({ kind, addr, length });
    return "ok" as const;
  }
  removeBreakpoint(kind: BreakKind, addr: bigint): boolean {
    const i = this.breaks.findIndex((b) => b.kind === kind && b.addr === addr);
    if (i >= 0) this.breaks.splice(i, 1);
    return i >= 0;
  }
  monitor(command: string): string { return `you said ${command}\n`; }
}

describe("protocol commands", () => {
  const setup = () => {
    const t = new FakeTarget();
    return { t, stub: new GdbStub(t, new RegisterLayout("x86-64")) };
  };
  const reply = (stub: GdbStub, p: string) => {
    const a = stub.handle(p);
    if (a.kind !== "reply") throw new Error(`${p}: ${a.kind}`);
    return a.data;
  };

  test("qSupported, '?', threads, attached", () => {
    const { stub } = setup();
    expect(reply(stub, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")).toBe(
      `PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+`);
    expect(reply(stub, "?")).toBe("T05thread:01;");
    expect(reply(stub, "qfThreadInfo")).toBe("m01");
    expect(reply(stub, "qsThreadInfo")).toBe("l");
    expect(reply(stub, "qC")).toBe("QC01");
    expect(reply(stub, "qAttached")).toBe("1");
    expect(reply(stub, "T01")).toBe("OK");
    expect(reply(stub, "T02")).toBe("E16");
    expect(reply(stub, "vMustReplyEmpty")).toBe("");
    expect(reply(stub, "QStartNoAckMode")).toBe("OK");
    expect(stub.noAck).toBe(true);
  });

  test("the target description in pieces: m… then l…", () => {
    const { stub } = setup();
    const xml = new RegisterLayout("x86-64").targetXml();
    let got = "";
    for (let off = 0; ; off += 0x200) {
      const r = reply(stub, `qXfer:features:read:target.xml:${off.toString(16)},200`);
      got += r.slice(1);
      if (r[0] === "l") break;
      expect(r[0]).toBe("m");
    }
    expect(got).toBe(xml);
    expect(reply(stub, "qXfer:features:read:other.xml:0,100")).toBe("E00");
    expect(reply(stub, "qXfer:features:read:target.xml:zz")).toBe("E16");
  });

  test("registers: g, G, p, P", () => {
    const { t, stub } = setup();
    t.state.regs.rbx = 0x42n;
    const g = reply(stub, "g");
    expect(g.slice(16, 32)).toBe("4200000000000000");
    expect(reply(stub, "p1")).toBe("4200000000000000");
    expect(reply(stub, "P1=0700000000000000")).toBe("OK");
    expect(t.state.regs.rbx).toBe(7n);
    expect(reply(stub, "G" + g)).toBe("OK");
    expect(t.state.regs.rbx).toBe(0x42n);
    expect(reply(stub, "p3e8")).toBe("E16"); // no register 1000
    expect(reply(stub, "P1=07")).toBe("E16"); // wrong size
    expect(reply(stub, "Gzz")).toBe("E16");
    expect(reply(stub, "G" + "00".repeat(5000))).toBe("E16"); // longer than every register
  });

  test("memory: m, M, X; partial reads; faults; malformed addresses and lengths", () => {
    const { t, stub } = setup();
    t.memory.set([1, 2, 3, 4], 0x100);
    expect(reply(stub, "m100,4")).toBe("01020304");
    expect(reply(stub, "mfffe,8")).toBe("0000"); // two bytes, then the end
    expect(reply(stub, "m20000,4")).toBe("E0e");
    expect(reply(stub, "m100,0")).toBe("");
    expect(reply(stub, "m100,ffffffffffffffff").length).toBe(PACKET_SIZE); // capped, not allocated
    expect(reply(stub, "m1ffffffffffffffff,4")).toBe("E16"); // 17 digits
    expect(reply(stub, "mzz,4")).toBe("E16");
    expect(reply(stub, "M200,2:abcd")).toBe("OK");
    expect([...t.memory.subarray(0x200, 0x202)]).toEqual([0xab, 0xcd]);
    expect(reply(stub, "M200,3:abcd")).toBe("E16"); // length and data disagree
    expect(reply(stub, "Mffff,2:abcd")).toBe("E0e");
    expect(reply(stub, "X300,3:#}z")).toBe("OK"); // binary, as the decoder left it
    expect([...t.memory.subarray(0x300, 0x303)]).toEqual([0x23, 0x7d, 0x7a]);
    expect(reply(stub, "X300,0:")).toBe("OK");
  });

  test("resume: c, s, vCont, with an address; kill and detach", () => {
    const { stub } = setup();
    expect(stub.handle("c")).toEqual({ kind: "resume", step: false });
    expect(stub.handle("s")).toEqual({ kind: "resume", step: true });
    expect(stub.handle("c1000")).toEqual({ kind: "resume", step: false, addr: 0x1000n });
    expect(stub.handle("S05;2000")).toEqual({ kind: "resume", step: true, addr: 0x2000n });
    expect(reply(stub, "vCont?")).toBe("vCont;c;C;s;S");
    expect(stub.handle("vCont;s:1;c")).toEqual({ kind: "resume", step: true });
    expect(stub.handle("vCont;s:2;c")).toEqual({ kind: "resume", step: false }); // no thread 2: the default applies
    expect(stub.handle("vCont;C02")).toEqual({ kind: "resume", step: false });
    expect(reply(stub, "vCont;x")).toBe("E16");
    expect(stub.handle("k")).toEqual({ kind: "kill" });
    expect(stub.handle("D;1")).toEqual({ kind: "detach" });
  });

  test("breakpoints: Z0-Z4 inserted and removed; unsupported, full and malformed answered", () => {
    const { t, stub } = setup();
    expect(reply(stub, "Z0,1000,1")).toBe("OK");
    expect(reply(stub, "Z1,2000,1")).toBe("OK");
    expect(reply(stub, "Z2,3000,4")).toBe("OK");
    expect(reply(stub, "Z3,3000,4")).toBe(""); // the target cannot: gdb is told it is unsupported
    expect(reply(stub, "Z4,4000,8")).toBe("OK");
    expect(reply(stub, "Z0,5000,1")).toBe("E1c"); // no room
    expect(t.breaks.map((b) => b.kind)).toEqual(["sw", "hw", "write", "access"]);
    expect(reply(stub, "z0,1000,1")).toBe("OK");
    expect(reply(stub, "z0,1000,1")).toBe("E16");
    expect(reply(stub, "Z5,1000,1")).toBe("E16");
    expect(reply(stub, "Z2,3000,0")).toBe("E16");
    expect(reply(stub, "Z2,3000,100")).toBe("E16");
  });

  test("stop replies carry the reason, and '?' repeats the last", () => {
    const { stub } = setup();
    expect(stub.stopReply({ reason: "swbreak" })).toBe("T05thread:01;swbreak:;");
    expect(stub.stopReply({ reason: "watch", addr: 0x1234n })).toBe("T05thread:01;watch:1234;");
    expect(stub.stopReply({ reason: "interrupt" })).toBe("T02thread:01;");
    expect(reply(stub, "?")).toBe("T02thread:01;");
  });

  test("monitor commands and physical memory mode", () => {
    const { stub } = setup();
    const hex = (s: string) => toHex(new TextEncoder().encode(s));
    expect(reply(stub, "qRcmd," + hex("mode"))).toBe(hex("you said mode\n"));
    expect(reply(stub, "qRcmd," + hex("phys on"))).toBe(hex("memory packets now address guest-physical memory\n"));
    expect(stub.physical).toBe(true);
    expect(reply(stub, "qqemu.PhyMemMode")).toBe("1");
    expect(reply(stub, "Qqemu.PhyMemMode:0")).toBe("OK");
    expect(stub.physical).toBe(false);
    expect(reply(stub, "Qqemu.PhyMemMode:7")).toBe("E16");
    expect(reply(stub, "qRcmd,zz")).toBe("E16");
  });

  test("unknown packets get the empty reply", () => {
    const { stub } = setup();
    for (const p of ["", "!", "qOffsets", "vFile:open:", "bc", "\x00\xff"]) expect(reply(stub, p)).toBe("");
  });
});

describe("a watched page (read and access watchpoints by MMIO)", () => {
  test("accesses are served from RAM and reported; one running past the end of RAM is cut there, not thrown", () => {
    const memory = GuestMemory.fromBuffers([{ gpa: 0, size: 0x2000 }]);
    memory.write(0x1ffc, Uint8Array.of(1, 2, 3, 4));
    const seen: string[] = [];
    const page = new WatchedPage(memory, 0x1000, (gpa, n, write) => seen.push(`${write ? "w" : "r"} 0x${gpa.toString(16)} ${n}`));
    const data = new Uint8Array(8);
    page.read(0xffc, data); // the last 4 bytes of RAM, and 4 past it
    expect([...data]).toEqual([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff]);
    page.write(0xffe, Uint8Array.of(9, 9, 9, 9));
    expect([...memory.slice(0x1ffc, 4)]).toEqual([1, 2, 9, 9]);
    page.write(0x10, Uint8Array.of(7, 7));
    expect([...memory.slice(0x1010, 2)]).toEqual([7, 7]);
    expect(seen).toEqual(["r 0x1ffc 8", "w 0x1ffe 4", "w 0x1010 2"]);
  });
});

describe("--gdb addresses", () => {
  test("port, host:port, localhost, unix:path", () => {
    expect(parseGdbAddress("1234")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 1234 });
    expect(parseGdbAddress("0.0.0.0:0")).toEqual({ kind: "tcp", host: "0.0.0.0", port: 0 });
    expect(parseGdbAddress("localhost:9")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 9 });
    expect(parseGdbAddress("unix:/tmp/x")).toEqual({ kind: "unix", path: "/tmp/x" });
  });
  test("bad ones: one line each", () => {
    for (const bad of ["", "x", "70000", "host.example:1234", "1.2.3:4", "unix:", "unix:" + "a".repeat(200)]) {
      expect(() => parseGdbAddress(bad)).toThrow(/^bad --gdb/);
    }
  });
});
