// microvmm: parse the command line, build the VM, run it, report, and always give the terminal back.
import { readFileSync, statSync } from "node:fs";
import { BUILTIN_GUESTS, parseArgs, USAGE, VERSION, type CliOptions } from "./cli";
import { ExitStatus, BadInputError, HostError, UserError } from "./errors";
import type { GuestSpec } from "./guest-image";
import { DiskImage } from "./host/disk-image";
import { HostInput } from "./host/input";
import { formatMemoryMap } from "./arch/memmap";
import { isElf } from "./loaders/elf";
import { enterRawMode, restoreAll } from "./host/terminal";
import { EPIPE } from "./libc/errno";
import * as libc from "./libc/libc";
import { Machine } from "./machine";
import { collectStats, formatPeek, formatStats } from "./report";
import type { VmStop } from "./vcpu/exits";

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const encoder = new TextEncoder();
const print = (fd: number, text: string) => libc.writeAll(fd, encoder.encode(text));
const say = (text: string) => print(STDERR, `microvmm: ${text}\n`);

/** Largest guest file read into memory: 4 GiB of image is far past any RAM we would load it in. */
const MAX_GUEST_FILE = 2 ** 32;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
const SIGPIPE = 13;

async function resolveGuest(o: CliOptions): Promise<GuestSpec> {
  const name = o.guest!;
  if ((BUILTIN_GUESTS as readonly string[]).includes(name)) {
    const { builtinGuest } = await import("./builtin-guests");
    const spec = await builtinGuest(name);
    if (spec !== undefined) return spec;
  }
  let bytes: Uint8Array;
  try {
    const st = statSync(name);
    if (st.isDirectory()) throw new BadInputError(`${name}: is a directory, not a guest image`);
    if (st.size > MAX_GUEST_FILE) throw new BadInputError(`${name}: ${st.size} bytes is too large for a guest image`);
    bytes = readFileSync(name);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new BadInputError(`cannot read guest ${name}: ${why}`);
  }
  if (isElf(bytes)) {
    if (o.load !== undefined || o.entry !== undefined) throw new BadInputError(`${name}: --load and --entry are for raw binaries; an ELF says where it goes`);
    return { name, bytes, mode: o.mode };
  }
  if (o.mode !== undefined || o.load !== undefined || o.entry !== undefined) {
    const load = o.load ?? 0;
    return { name, bytes, raw: { mode: o.mode ?? "real", load, entry: o.entry ?? load } };
  }
  return { name, bytes }; // refused by the loader: not ELF, and no raw options
}

async function run(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (o.help) { print(STDOUT, USAGE); return ExitStatus.Ok; }
  if (o.version) { print(STDOUT, `microvmm ${VERSION}\n`); return ExitStatus.Ok; }
  const guest = await resolveGuest(o);

  let signalled: keyof typeof SIGNALS | undefined;
  for (const s of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.on(s, () => { signalled = s; });

  const drives = o.disks.map((d) => DiskImage.open(d));
  try {
    return await runMachine(o, guest, drives, () => signalled);
  } finally {
    for (const d of drives) d.close(); // flushes: every write is on disk when microvmm ends
  }
}

async function runMachine(o: CliOptions, guest: GuestSpec, drives: DiskImage[], signal: () => keyof typeof SIGNALS | undefined): Promise<number> {
  let input: HostInput | undefined;
  const trace = o.trace ? (line: string) => print(STDERR, line + "\n") : undefined;
  let machine: Machine;
  try {
    machine = Machine.create({
      memorySize: o.memorySize,
      kvmPath: o.kvmPath,
      guest,
      output: (bytes) => libc.writeAll(STDOUT, bytes),
      clock: () => performance.now(),
      refillKeyboard: () => input?.pump(),
      reportMiss: (bus, addr, size, write) => {
        if (bus === "mmio" && !o.trace && !o.stats) return;
        say(`unclaimed ${bus === "port" ? "port" : "MMIO address"} 0x${addr.toString(16)} (${write ? "write" : "read"}, size ${size}): ` +
          "reads return all-ones, writes are ignored (reported once)");
      },
      warn: say,
      drives,
      trace,
    });
  } catch (e) {
    if (e instanceof libc.SyscallError && e.call === "mmap(guest RAM)") {
      throw new HostError(`cannot reserve ${o.memorySize >> 20} MiB of guest RAM: ${e.message} — lower --memory`);
    }
    throw e;
  }

  if (o.memmap) print(STDERR, ["memory map:", ...formatMemoryMap(machine.memoryMap).map((l) => `  ${l}`)].join("\n") + "\n");
  let stop: VmStop;
  try {
    input = new HostInput(STDIN, enterRawMode(STDIN), machine.devices.keyboard);
    stop = await machine.run({
      poll: () => input!.pump(),
      stopRequested: () => {
        if (input!.quitRequested) return { status: ExitStatus.Ok, message: "quit (Ctrl-A x)", dumpState: false };
        const signalled = signal();
        if (signalled !== undefined) {
          return { status: ExitStatus.SignalBase + SIGNALS[signalled], message: `stopped by ${signalled}`, dumpState: false };
        }
        return undefined;
      },
    });
    restoreAll();
    if (stop.status !== ExitStatus.Ok || stop.dumpState) say(stop.message);
    if (stop.dumpState) print(STDERR, machine.registerDump().map((l) => `  ${l}\n`).join(""));
    else if (o.regs) print(STDERR, machine.registerDump().map((l) => `${l}\n`).join(""));
    for (const p of o.peeks) print(STDERR, formatPeek(machine.memory, p));
    if (o.stats === "text") print(STDERR, formatStats(collectStats(machine)));
    if (o.stats === "json") print(STDERR, JSON.stringify(collectStats(machine)) + "\n");
  } finally {
    restoreAll();
    machine.close();
  }
  return stop.status;
}

async function main(): Promise<never> {
  let status: number;
  try {
    status = await run(process.argv.slice(2));
  } catch (e) {
    restoreAll();
    if (e instanceof UserError) {
      say(e.message);
      status = e.status;
    } else if (e instanceof libc.SyscallError && e.call === "write" && e.errno === EPIPE) {
      // Whoever read our output has gone (`microvmm … | head`): end quietly, as SIGPIPE would.
      status = ExitStatus.SignalBase + SIGPIPE;
    } else if (e instanceof libc.SyscallError) {
      say(`host error: ${e.message}`);
      status = ExitStatus.HostError;
    } else {
      say(`internal error (please report): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      status = ExitStatus.Internal;
    }
  }
  restoreAll();
  libc.exitNow(status);
}

await main();
