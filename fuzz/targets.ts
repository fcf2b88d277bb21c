// What the fuzzer feeds: each target turns one mutated input into calls on microvmm's parsers,
// loaders, boot protocols and device state machines, in this process, on fake guest memory. A
// target's only allowed failure is the user-facing kind (BadInputError: one line, status 2); any
// other exception is a bug (on the command line it would be status 70) and is reported with the
// input that caused it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildMemoryMap } from "../src/arch/memmap";
import { MultibootBoot } from "../src/boot/multiboot";
import { PlainBoot } from "../src/boot/plain";
import { findMultiboot } from "../src/loaders/multiboot";
import { LinuxBoot } from "../src/boot/linux";
import { StopRequest } from "../src/core/stop";
import { AcpiPm1Control, AcpiPm1Event } from "../src/devices/acpi-pm";
import { Cmos } from "../src/devices/cmos";
import { Console } from "../src/devices/console";
import { Hypercalls } from "../src/devices/hypercall";
import { I8042 } from "../src/devices/i8042";
import { IdeChannel } from "../src/devices/ide";
import { PciHostNoDevices } from "../src/devices/pci-host";
import { SystemControlA } from "../src/devices/system-control";
import { Vga } from "../src/devices/vga";
import { Keyboard } from "../src/devices/keyboard";
import { MemMapDevice } from "../src/devices/memmap";
import { PvBlock, type BlockBackend } from "../src/devices/pv-block";
import { Serial } from "../src/devices/serial";
import { Timer } from "../src/devices/timer";
import { UserError } from "../src/errors";
import { classify } from "../src/guest-file";
import * as B from "../src/kvm/bindings";
import { planGuest } from "../src/machines";
import { GuestMemory } from "../src/memory/guest-memory";
import * as M from "../src/virtio/mmio";
import { VirtioBlk } from "../src/virtio/blk";
import { VirtioNet } from "../src/virtio/net";
import { SharedDevice } from "../src/virtio/io-shared";
import { ThreadedDevice } from "../src/virtio/io-device";
import { VirtioRng } from "../src/virtio/rng";
import { MmioBus, PortBus, type PortDevice } from "../src/vcpu/bus";
import { handleExit, makeExitContext } from "../src/vcpu/exits";
import { ExitStats } from "../src/vcpu/stats";
import { buildBzImage } from "../test/fixtures/bzimage";
import { buildElf, pvhNote } from "../test/fixtures/elf";
import { rawMultiboot1 } from "../test/fixtures/multiboot";
import type { Rng } from "./mutate";
import { DebugRegisterFile, type BreakKind } from "../src/gdb/breakpoints";
import { encodePacket, latin1Bytes, PACKET_SIZE, PacketDecoder } from "../src/gdb/packet";
import { RegisterLayout } from "../src/gdb/registers";
import { GdbStub, type DebugTarget } from "../src/gdb/stub";
import { WatchedPage } from "../src/gdb/watched-page";

export interface Target {
  name: string;
  /** Valid inputs to start from. */
  seeds(): Uint8Array[];
  /** Runs one input; throws only BadInputError-like UserErrors for bad input. */
  run(input: Uint8Array, rng: Rng): void;
  /** Whether the command line can take this target's inputs as files (the binary sample). */
  cliArgs?(file: string, rng: Rng): string[];
}

const ROOT = join(import.meta.dir, "..");
const built = (name: string) => { try { return new Uint8Array(readFileSync(join(ROOT, "guest/build", name))); } catch { return undefined; } };
const present = (xs: Array<Uint8Array | undefined>) => xs.filter((x): x is Uint8Array => x !== undefined);

/** Bad input is allowed to be refused; anything else escapes as a bug. */
function refusedOk(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return;
    throw e;
  }
}

// Fake RAM, made once per target: 32 MiB from 0 (Linux needs more than 1 MiB), content left over.
let ram: GuestMemory | undefined;
const memory = () => (ram ??= GuestMemory.fromBuffers([{ gpa: 0, size: 32 << 20 }]));

const hlt = Uint8Array.of(0xf4);

export const TARGETS: Target[] = [
  {
    name: "elf",
    seeds: () => present([
      buildElf({ bits: 64, entry: 0x100000, segments: [{ paddr: 0x100000, data: hlt }, { paddr: 0x200000, data: hlt, memsz: 0x1000 }] }),
      buildElf({ bits: 32, entry: 0x100000, segments: [{ paddr: 0x100000, data: hlt }] }),
      buildElf({ bits: 64, entry: 0xffffffff81000000n, segments: [{ paddr: 0x100000, vaddr: 0xffffffff81000000n, data: hlt }], noSections: true }),
      built("demo.elf"), built("hello-32.elf"), built("hypercalls.elf"),
    ]),
    run: (input) => refusedOk(() => {
      const file = classify("fuzz.elf", input);
      const plan = planGuest(file, {});
      if (plan.kind === "plain") PlainBoot.place(plan.guest, memory());
    }),
    cliArgs: (file) => ["-m", "32M", file],
  },
  {
    name: "linux",
    seeds: () => [
      buildBzImage(),
      buildElf({ bits: 64, entry: 0x1000000, segments: [{ paddr: 0x1000000, data: hlt }, { paddr: 0, data: pvhNote(0x1000000), type: 4 }] }),
      buildElf({ bits: 64, entry: 0x1000000, segments: [{ paddr: 0x1000000, data: hlt, memsz: 0x10000 }] }),
    ],
    run: (input, rng) => refusedOk(() => {
      const kernel = classify("fuzz-kernel", input);
      const initrd = rng.below(2) === 0 ? undefined : { name: "initrd", bytes: new Uint8Array(rng.below(8 << 20)) };
      const cmdline = "x".repeat(rng.below(3000));
      LinuxBoot.place(memory(), { kernel, initrd, cmdline, rsdp: 0xe0000 });
    }),
    cliArgs: (file) => ["-m", "64M", "--kernel", file],
  },
  {
    name: "multiboot",
    seeds: () => present([built("test-multiboot1.elf"), built("test-multiboot2.elf"), rawMultiboot1(Uint8Array.of(0xba, 0xea, 0, 0, 0, 0xef, 0xf4))]),
    run: (input, rng) => refusedOk(() => {
      const file = classify("fuzz.mb", input);
      const header = findMultiboot(input);
      if (header !== undefined) {
        const modules = Array.from({ length: rng.below(3) }, (_, i) => ({ name: `m${i}`, bytes: new Uint8Array(rng.below(0x3000)), cmdline: "m" }));
        MultibootBoot.place(file, header, memory(), { cmdline: "x".repeat(rng.below(300)), modules, rsdp: new Uint8Array(20) });
      }
    }),
    cliArgs: (file) => ["-m", "32M", file],
  },
  {
    name: "raw",
    seeds: () => present([built("hello-real.bin"), built("hello-long.bin"), built("hello-32.bin"), Uint8Array.of(0xf4)]),
    run: (input, rng) => refusedOk(() => {
      const mode = rng.pick(["real", "protected", "paged", "long"] as const);
      const load = rng.pick([0, 0x1000, 0x7c00, 0x100000, 0x1fff000, 0x2000000, 0xfffff000, rng.below(64 << 20)]);
      const entry = rng.below(2) === 0 ? undefined : load + rng.below(input.length + 2) - 1;
      const plan = planGuest(classify("fuzz.bin", input), { mode, load, entry });
      if (plan.kind === "plain") PlainBoot.place(plan.guest, memory());
    }),
    cliArgs: (file, rng) => ["-m", "32M", "--mode", rng.pick(["real", "protected", "long"]), file],
  },
  {
    name: "devices",
    // The input is a program of port accesses: 8 bytes each (device, offset, size, write?, value).
    seeds: () => [new Uint8Array(64).map((_, i) => i * 37), new Uint8Array(256).fill(0xff), new Uint8Array(128)],
    run: (input, rng) => runDevices(input, rng),
  },
  {
    name: "ide",
    // The input is a program for the IDE channel alone: 3 bytes an access (register and kind,
    // then a value), with ATA commands drawn from the ones it knows most of the time, so that
    // transfers start and the data port moves them.
    seeds: () => [Uint8Array.of(2, 4, 0, 3, 200, 0, 7, 0x20, 0, 0x88, 0, 0), Uint8Array.of(2, 0, 0, 7, 0x30, 0, 0x80, 1, 2)],
    run: (input, rng) => runIde(input, rng),
  },
  {
    name: "gdb",
    // The input is what a debugger sends: bytes in random pieces through the packet decoder, each
    // packet through the protocol's commands, on fake registers and guest memory. Every reply must
    // encode to a packet that decodes back to itself.
    seeds: () => [new TextEncoder().encode(GDB_SESSION)],
    run: (input, rng) => runGdb(input, rng),
  },
  {
    name: "virtio",
    // The input is a driver: its first 4 KiB are guest RAM at 0x10000 (rings, descriptors,
    // buffers), then 8 bytes a register access (device, register, value) to virtio-rng, -blk and
    // -net on their transports, with addresses into that RAM most of the time.
    seeds: () => [virtioSeed()],
    run: (input, rng) => runVirtio(input, rng),
  },
  {
    name: "exits",
    // The input is a kvm_run page as KVM might (or a hostile kernel could never) leave it.
    seeds: () => [ioExit(), mmioExit(), mmioExit(WATCHED_PAGE + 0xffc, 8)],
    run: (input) => runExit(input),
  },
];

const gdbPacket = (d: string) => encodePacket(d);
const GDB_SESSION = ["qSupported:swbreak+", "?", "qXfer:features:read:target.xml:0,ffb", "g", "p10", "m100000,40", "M100000,4:90909090",
  "X100010,2:ab", "Z0,100000,1", "Z2,200000,8", "z0,100000,1", "P0=0100000000000000", "vCont;s:1", "qRcmd,6d6f6465", "Qqemu.PhyMemMode:1",
  "m0,10", "G" + "00".repeat(100), "D"].map(gdbPacket).join("+") + "\x03";

/** Fake guest state for the protocol: registers from zeroed structs, 4 MiB of RAM, breakpoints in a DebugRegisterFile. */
class FuzzDebugTarget implements DebugTarget {
  readonly vcpus = 1;
  readonly regs = new DebugRegisterFile();
  private state = { regs: B.kvm_regs.decode(B.kvm_regs.encode()), sregs: B.kvm_sregs.decode(B.kvm_sregs.encode()), fpu: B.kvm_fpu.decode(B.kvm_fpu.encode()) };
  constructor(private readonly memory: GuestMemory) {}
  readState() { return structuredClone(this.state); }
  writeState(s: typeof this.state) { this.state = s; }
  readMemory(addr: bigint, length: number): Uint8Array {
    const n = addr >= BigInt(this.memory.end) ? 0 : Math.min(length, this.memory.end - Number(addr));
    return n > 0 && this.memory.contains(Number(addr), n) ? this.memory.slice(Number(addr), n).slice() : new Uint8Array(0);
  }
  writeMemory(addr: bigint, bytes: Uint8Array): boolean {
    if (addr + BigInt(bytes.length) > BigInt(this.memory.end) || !this.memory.contains(Number(addr), bytes.length)) return false;
    this.memory.write(Number(addr), bytes);
    return true;
  }
  insertBreakpoint(kind: BreakKind, addr: bigint, length: number) { return this.regs.insert(kind, addr, length); }
  removeBreakpoint(kind: BreakKind, addr: bigint, length: number) { return this.regs.remove(kind, addr, length); }
  monitor(command: string) { return `${command.length}\n`; }
}

function runGdb(input: Uint8Array, rng: Rng): void {
  const decoder = new PacketDecoder();
  const layout = new RegisterLayout(rng.pick(["x86-64", "i386", "i8086"] as const));
  const stub = new GdbStub(new FuzzDebugTarget(GuestMemory.fromBuffers([{ gpa: 0, size: 4 << 20 }])), layout);
  for (let at = 0; at < input.length;) {
    const n = 1 + rng.below(64);
    for (const item of decoder.feed(input.subarray(at, at + n))) {
      if (item.kind !== "packet") continue;
      const action = stub.handle(item.data);
      if (action.kind !== "reply") continue;
      if (action.data.length > 2 * PACKET_SIZE) throw new Error(`reply of ${action.data.length} bytes to ${JSON.stringify(item.data.slice(0, 40))}`);
      const back = new PacketDecoder().feed(latin1Bytes(encodePacket(action.data)));
      if (back.length !== 1 || back[0]!.kind !== "packet" || (back[0] as { data: string }).data !== action.data) {
        if (!(back[0]?.kind === "too-long" && action.data.length > PACKET_SIZE)) throw new Error(`reply does not survive encoding: ${JSON.stringify(action.data.slice(0, 60))}`);
      }
    }
    at += n;
  }
}

/** A drive in memory for the paravirtual disk. */
function memoryDrive(sectors: number, readOnly: boolean): BlockBackend {
  const bytes = new Uint8Array(sectors * 512);
  return {
    sectors, readOnly,
    read: (offset, dst) => { if (offset + dst.length > bytes.length) throw new Error("read past the end"); dst.set(bytes.subarray(offset, offset + dst.length)); },
    write: (offset, src) => { if (readOnly || offset + src.length > bytes.length) throw new Error("bad write"); bytes.set(src, offset); },
    flush: () => {},
    discard: (offset, length) => { if (readOnly || offset + length > bytes.length) throw new Error("bad discard"); bytes.fill(0, offset, offset + length); },
    writeZeroes: (offset, length) => { if (readOnly || offset + length > bytes.length) throw new Error("bad write-zeroes"); bytes.fill(0, offset, offset + length); },
  };
}

function devices(rng: Rng): Array<{ device: PortDevice; ports: number }> {
  const m = memory();
  const warn = () => {};
  const ide = new IdeChannel(rng.below(3) === 0 ? [undefined, checkedDrive(16, true)] : [checkedDrive(64, false), checkedDrive(8, true)], () => {}, warn);
  const i8042 = new I8042(() => {}, () => {});
  const map = buildMemoryMap(m.regions, [{ start: 0x10000, end: 0x20000 }]);
  return [
    { device: new PvBlock(m, [memoryDrive(64, false), memoryDrive(8, true)], warn), ports: 1 },
    { device: new MemMapDevice(m, map, warn), ports: 2 },
    {
      device: new Hypercalls(m, 0x10000, {
        write: () => {}, warn, exitCount: () => 1, ioCounts: () => ({ in: 1, out: 1 }),
        translate: (gva) => (rng.below(4) === 0 ? undefined : gva),
      }, rng.below(2) === 0), ports: 7,
    },
    { device: new Serial(() => {}, () => {}, () => {}), ports: 8 },
    { device: new I8042(() => {}), ports: 5 },
    { device: new Cmos(() => new Date(0)), ports: 2 },
    { device: new Keyboard(), ports: 2 },
    { device: new Timer(() => rng.below(1e6)), ports: 2 },
    { device: new Console(() => {}), ports: 1 },
    { device: new AcpiPm1Event(), ports: 4 },
    { device: new AcpiPm1Control(() => {}), ports: 2 },
    // The PC board's devices.
    { device: ide, ports: 8 },
    { device: ide.controlPort, ports: 1 },
    { device: new Vga(), ports: 32 },
    { device: i8042, ports: 5 },
    // Host keys into the PS/2 keyboard (terminal bytes, escape sequences and all).
    { device: { read: () => 0, write: (_o: number, _s: number, v: number) => { i8042.keyboard!.push(v & 0xff); } }, ports: 1 },
    { device: new PciHostNoDevices(() => {}), ports: 8 },
    { device: new SystemControlA(() => {}), ports: 1 },
  ];
}

/**
 * What the IDE channel or virtio-blk asked of its drives that it should have refused itself: a
 * backend error would only become an error status for the guest, so the case fails on these instead.
 */
const driveViolations: string[] = [];

function checkedDrive(sectors: number, readOnly: boolean): BlockBackend {
  const d = memoryDrive(sectors, readOnly);
  const check = (offset: number, length: number, write: boolean) => {
    if (offset + length > sectors * 512) driveViolations.push(`IDE reached past the disk: ${offset}+${length}`);
    if (write && readOnly) driveViolations.push("IDE wrote a read-only disk");
  };
  return {
    ...d, read: (o, dst) => { check(o, dst.length, false); d.read(o, dst); }, write: (o, src) => { check(o, src.length, true); d.write(o, src); },
    discard: (o, n) => { check(o, n, true); d.discard!(o, n); }, writeZeroes: (o, n, unmap) => { check(o, n, true); d.writeZeroes!(o, n, unmap); },
  };
}

/** The devices on a port bus, as a board puts them: what the guest reaches through exits. */
function runDevices(input: Uint8Array, rng: Rng): void {
  driveViolations.length = 0;
  const bus = new PortBus();
  const ds = devices(rng).map((d, i) => { bus.insert(i * 64, d.ports, `device ${i}`, d.device); return { base: i * 64, ports: d.ports }; });
  const m = memory();
  // The guest's RAM holds the input too, so disk requests and buffers point at fuzzed bytes.
  m.write(0x1000, input.subarray(0, Math.min(input.length, 0x10000)));
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  for (let at = 0; at + 8 <= input.length; at += 8) {
    const d = ds[input[at]! % ds.length]!;
    const offset = input[at + 1]! % d.ports;
    const size = [1, 2, 4][input[at + 2]! % 3]!;
    let value = dv.getUint32(at + 4, true);
    // Addresses of guest structures: into RAM most of the time, anywhere otherwise.
    if ((input[at + 3]! & 0x80) === 0) value %= m.size;
    if (size < 4) value &= (1 << (8 * size)) - 1;
    if ((input[at + 3]! & 1) === 1) bus.write(d.base + offset, size, value);
    else {
      const v = bus.read(d.base + offset, size);
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * size)) throw new Error(`read of ${size} bytes gave ${v}`);
    }
  }
  if (driveViolations.length > 0) throw new Error(driveViolations[0]);
}

/** The commands IdeChannel knows (and a few it does not), for the ide target to draw from. */
const ATA_COMMANDS = [0x10, 0x20, 0x21, 0x24, 0x29, 0x30, 0x31, 0x34, 0x39, 0x40, 0x41, 0x42, 0x70, 0x90, 0x91, 0xc4, 0xc5, 0xc6,
  0xe0, 0xe1, 0xe2, 0xe3, 0xe5, 0xe7, 0xea, 0xec, 0xef, 0x08, 0xa1, 0xff];

function runIde(input: Uint8Array, rng: Rng): void {
  driveViolations.length = 0;
  const ide = new IdeChannel(rng.below(3) === 0 ? [undefined, checkedDrive(16, true)] : [checkedDrive(64, false), checkedDrive(8, true)], () => {}, () => {});
  for (let at = 0; at + 3 <= input.length; at += 3) {
    const op = input[at]!;
    const reg = op & 7;
    const size = [1, 2, 4, 1][(op >> 5) & 3]!;
    let value = input[at + 1]! | (input[at + 2]! << 8);
    if (reg === 7 && (input[at + 2]! & 3) !== 0) value = ATA_COMMANDS[input[at + 1]! % ATA_COMMANDS.length]!;
    const port = (op & 0x10) !== 0 ? ide.controlPort : ide;
    // Bit 3 clear: a write; on the data port, a run of reads or writes as rep insw/outsw makes.
    const times = reg === 0 && (op & 0x80) !== 0 ? 256 : 1;
    for (let i = 0; i < times; i++) {
      if ((op & 0x08) === 0) port.write(reg, size, value & (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1));
      else {
        const v = port.read(reg, size);
        if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * size)) throw new Error(`IDE read of ${size} bytes gave ${v}`);
      }
    }
  }
  if (driveViolations.length > 0) throw new Error(driveViolations[0]);
}

const VIRTIO_RAM = 0x10000;
const VIRTIO_RAM_SIZE = 0x1000;
const VIRTIO_REGS = [M.REG_DEVICE_FEATURES_SEL, M.REG_DRIVER_FEATURES, M.REG_DRIVER_FEATURES_SEL, M.REG_QUEUE_SEL, M.REG_QUEUE_NUM,
  M.REG_QUEUE_READY, M.REG_QUEUE_NOTIFY, M.REG_INTERRUPT_ACK, M.REG_STATUS, M.REG_QUEUE_DESC_LOW, M.REG_QUEUE_DESC_HIGH,
  M.REG_QUEUE_DRIVER_LOW, M.REG_QUEUE_DRIVER_HIGH, M.REG_QUEUE_DEVICE_LOW, M.REG_QUEUE_DEVICE_HIGH, M.REG_INTERRUPT_STATUS, M.CONFIG_SPACE];

/** A driver that sets up queue 0 of each device (descriptors, available and used rings at +0, +0x200, +0x400) and notifies it, with a chain of two descriptors. */
function virtioSeed(): Uint8Array {
  const ram = new Uint8Array(VIRTIO_RAM_SIZE);
  const dv = new DataView(ram.buffer);
  dv.setBigUint64(0, BigInt(VIRTIO_RAM + 0x800), true); dv.setUint32(8, 16, true); dv.setUint16(12, 1, true); dv.setUint16(14, 1, true);
  dv.setBigUint64(16, BigInt(VIRTIO_RAM + 0xa00), true); dv.setUint32(24, 513, true); dv.setUint16(28, 2, true);
  dv.setUint16(0x202, 1, true); // the available ring: one entry, head 0
  const ops: Array<[number, number]> = [[M.REG_STATUS, 3], [M.REG_DRIVER_FEATURES_SEL, 1], [M.REG_DRIVER_FEATURES, 1], [M.REG_STATUS, 11],
    [M.REG_QUEUE_NUM, 8], [M.REG_QUEUE_DESC_LOW, VIRTIO_RAM], [M.REG_QUEUE_DRIVER_LOW, VIRTIO_RAM + 0x200], [M.REG_QUEUE_DEVICE_LOW, VIRTIO_RAM + 0x400],
    [M.REG_QUEUE_READY, 1], [M.REG_STATUS, 15], [M.REG_QUEUE_NOTIFY, 0], [M.REG_INTERRUPT_ACK, 1]];
  const prog = new Uint8Array(8 * ops.length * 3);
  const pv = new DataView(prog.buffer);
  for (let d = 0; d < 3; d++) ops.forEach(([reg, value], i) => { const at = 8 * (d * ops.length + i); pv.setUint8(at, d); pv.setUint8(at + 1, VIRTIO_REGS.indexOf(reg)); pv.setUint32(at + 4, value, true); });
  const out = new Uint8Array(ram.length + prog.length);
  out.set(ram);
  out.set(prog, ram.length);
  return out;
}

function runVirtio(input: Uint8Array, rng: Rng): void {
  driveViolations.length = 0;
  const m = memory();
  m.write(VIRTIO_RAM, input.subarray(0, Math.min(input.length, VIRTIO_RAM_SIZE)));
  const frames = [new Uint8Array(60).fill(1), new Uint8Array(1500).fill(2)];
  const link = { receive: (into: Uint8Array) => { const f = frames.shift(); if (f === undefined) return 0; const n = Math.min(f.length, into.length); into.set(f.subarray(0, n)); return n; }, send: () => rng.below(4) !== 0 };
  // As on the Linux board: the entropy device served on the exit; the disk and the card by their
  // device thread's copies (ThreadedDevice, here in-process), told of the set-up at once.
  const drive = checkedDrive(64, rng.below(2) === 0);
  const threads: ThreadedDevice[] = [];
  const threaded = (make: () => VirtioBlk | VirtioNet) => {
    const shared = SharedDevice.create(make().queueSizes.length);
    const td = new ThreadedDevice(m, make(), shared, () => {}, () => {});
    threads.push(td);
    return new M.VirtioMmio(m, make(), () => {}, () => {}, { shared, sync: () => { td.configure(); }, pulse: () => {}, forward: (i) => td.notified(i, 1), acknowledge: () => td.acknowledged() });
  };
  const transports = [new M.VirtioMmio(m, new VirtioRng(m, (b) => b.fill(0x5a)), () => {}, () => {}),
    threaded(() => new VirtioBlk(m, drive, "fuzz", () => {})), threaded(() => new VirtioNet(m, link, Uint8Array.of(2, 0, 0, 0, 0, 1)))];
  const word = new Uint8Array(4);
  for (let at = VIRTIO_RAM_SIZE; at + 8 <= input.length; at += 8) {
    const t = transports[input[at]! % transports.length]!;
    const reg = (input[at + 1]! & 0x80) === 0 ? VIRTIO_REGS[input[at + 1]! % VIRTIO_REGS.length]! : (input[at + 1]! << 2) & 0x1ff;
    let value = (input[at + 4]! | (input[at + 5]! << 8) | (input[at + 6]! << 16) | (input[at + 7]! << 24)) >>> 0;
    // Ring addresses into the fuzzed RAM most of the time, anywhere otherwise.
    if ((input[at + 2]! & 0x80) === 0 && reg >= M.REG_QUEUE_DESC_LOW && reg <= M.REG_QUEUE_DEVICE_HIGH && (reg & 4) === 0) value = VIRTIO_RAM + (value % VIRTIO_RAM_SIZE);
    const size = [4, 4, 1, 2, 8][input[at + 2]! % 5]!;
    const data = size === 4 ? word : new Uint8Array(size);
    if ((input[at + 3]! & 1) === 0) {
      data.fill(0);
      for (let i = 0; i < Math.min(4, size); i++) data[i] = (value >>> (8 * i)) & 0xff;
      t.write(reg, data);
    } else {
      t.read(reg, data);
    }
    // The thread's own wake-ups: a frame on the TAP, a notification through the ioeventfd.
    if (rng.below(8) === 0) threads[1]!.wake(0);
    if (rng.below(8) === 0) threads[rng.below(2)]!.notified(rng.below(3), 1);
  }
  if (driveViolations.length > 0) throw new Error(driveViolations[0]);
}

function ioExit(): Uint8Array {
  const run = new Uint8Array(3 * 4096);
  const dv = new DataView(run.buffer);
  dv.setUint32(B.kvm_run.offsetOf("exit_reason"), B.KVM_EXIT_IO, true);
  dv.setUint8(B.runOffset(B.kvm_run_io, "direction"), B.KVM_EXIT_IO_OUT);
  dv.setUint8(B.runOffset(B.kvm_run_io, "size"), 1);
  dv.setUint16(B.runOffset(B.kvm_run_io, "port"), 0x42, true);
  dv.setUint32(B.runOffset(B.kvm_run_io, "count"), 1, true);
  dv.setBigUint64(B.runOffset(B.kvm_run_io, "data_offset"), 0x1000n, true);
  return run;
}

function mmioExit(addr = 0xfee00000, len = 4): Uint8Array {
  const run = new Uint8Array(3 * 4096);
  const dv = new DataView(run.buffer);
  dv.setUint32(B.kvm_run.offsetOf("exit_reason"), B.KVM_EXIT_MMIO, true);
  dv.setBigUint64(B.runOffset(B.kvm_run_mmio, "phys_addr"), BigInt(addr), true);
  dv.setUint32(B.runOffset(B.kvm_run_mmio, "len"), len, true);
  return run;
}

/** The last page of the fuzz RAM, as a debugger's watched page (accesses there may run past RAM's end). */
const WATCHED_PAGE = (32 << 20) - 0x1000;

/** The exit handler on a kvm_run page of the real size: whatever is in it, it returns (a stop, or go on). */
function runExit(input: Uint8Array): void {
  const run = new Uint8Array(3 * 4096);
  run.set(input.subarray(0, run.length));
  const ports = new PortBus();
  const m = memory();
  ports.insert(0x42, 1, "console", new Console(() => {}));
  ports.insert(0xf0, 1, "disk", new PvBlock(m, [memoryDrive(8, false)], () => {}));
  ports.insert(0x3f8, 8, "serial", new Serial(() => {}, () => {}));
  const mmio = new MmioBus();
  mmio.insert(0xfee00000, 0x1000, "sink", { read: (_o, d) => d.fill(1), write: () => {} });
  mmio.insert(WATCHED_PAGE, 0x1000, "debugger watch", new WatchedPage(m, WATCHED_PAGE, () => {}));
  handleExit(makeExitContext(run, ports, mmio, new ExitStats(), new StopRequest()));
}
