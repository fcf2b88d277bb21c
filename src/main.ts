// microvmm: parse the command line, build the VM, run it, report, and always give the terminal back.
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { BUILTIN_GUESTS, parseArgs, USAGE, VERSION, type CliOptions, type VmOptions } from "./cli";
import { ExitStatus, BadInputError, HostError, UserError } from "./errors";
import type { GuestSpec } from "./guest-image";
import { DiskImage } from "./host/disk-image";
import { HostInput } from "./host/input";
import { InputWatcher } from "./host/input-watcher";
import { freshLine, outputTo } from "./host/output";
import { runScheduled, type Schedule } from "./sched/scheduler";
import { formatMemoryMap } from "./arch/memmap";
import { isElf, parseElf } from "./loaders/elf";
import { isBzImage } from "./loaders/bzimage";
import { DEFAULT_CMDLINE, LinuxMachine } from "./linux-machine";
import { enterRawMode, restoreAll } from "./host/terminal";
import { EPIPE } from "./libc/errno";
import * as libc from "./libc/libc";
import { Machine } from "./machine";
import { collectStats, formatExitStats, formatPeek, formatSchedule, formatStats, scheduleSummary } from "./report";
import type { MissReporter } from "./vcpu/bus";
import type { VmStop } from "./vcpu/exits";

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const encoder = new TextEncoder();
const print = (fd: number, text: string) => libc.writeAll(fd, encoder.encode(text));
/** Our one-line messages, on a line of their own even if the guest's output stopped mid-line. */
const say = (text: string) => print(STDERR, `${freshLine(STDOUT)}microvmm: ${text}\n`);

/** Largest guest file read into memory: 4 GiB of image is far past any RAM we would load it in. */
const MAX_GUEST_FILE = 2 ** 32;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
const SIGPIPE = 13;

async function resolveGuest(o: VmOptions): Promise<GuestSpec> {
  const name = o.guest!;
  if ((BUILTIN_GUESTS as readonly string[]).includes(name)) {
    const { builtinGuest } = await import("./builtin-guests");
    const spec = await builtinGuest(name);
    if (spec !== undefined) return spec;
  }
  const bytes = readFile(name, "guest");
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

type SignalName = keyof typeof SIGNALS;

/** One VM, built: its machine, its name, its options, and the disks it holds. */
interface Built { name: string; opts: VmOptions; machine: Machine; drives: DiskImage[] }

async function run(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (o.help) { print(STDOUT, USAGE); return ExitStatus.Ok; }
  if (o.version) { print(STDOUT, `microvmm ${VERSION}\n`); return ExitStatus.Ok; }
  if (o.kernel === undefined && o.vms.length === 1 && o.vms[0]!.guest !== undefined && !(BUILTIN_GUESTS as readonly string[]).includes(o.vms[0]!.guest)) {
    // A bzImage given as the guest boots as Linux.
    const head = readHead(o.vms[0]!.guest);
    if (head !== undefined && (isBzImage(head) || (isElf(head) && isPvhVmlinux(o.vms[0]!.guest)))) o.kernel = o.vms[0]!.guest;
  }
  if (o.kernel !== undefined) return runLinux(o);
  // Every guest is read and checked before any VM is made.
  const guests = await Promise.all(o.vms.map((v) => resolveGuest(v)));

  const hostStop = watchHost();

  const several = o.vms.length > 1;
  const built: Built[] = [];
  let input: HostInput | undefined;
  try {
    for (const [i, v] of o.vms.entries()) {
      const name = v.name ?? `vm${i}`;
      const drives: DiskImage[] = [];
      try {
        for (const d of v.disks) drives.push(DiskImage.open(d));
        const machine = createMachine(o, v, guests[i]!, drives, several ? name : undefined, i === 0 ? () => input?.pump() : () => {});
        built.push({ name, opts: v, machine, drives });
      } catch (e) {
        for (const d of drives) d.close();
        throw e;
      }
      if (v.memmap) print(STDERR, [`${several ? `[${name}] ` : ""}memory map:`, ...formatMemoryMap(built[i]!.machine.memoryMap).map((l) => `  ${l}`)].join("\n") + "\n");
    }
    input = new HostInput(STDIN, enterRawMode(STDIN), built[0]!.machine.devices.keyboard);
    const hooks = { poll: () => input!.pump(), stopRequested: () => hostStop(input!) };
    if (!several) {
      const b = built[0]!;
      const stop = await b.machine.run(hooks);
      restoreAll();
      report(o, b, stop, "");
      return stop.status;
    }
    const status = statusLine(built);
    const schedule = await runScheduled(built.map((b) => ({ name: b.name, share: b.opts.share, slice: (d, t) => b.machine.slice(d, t) })), o.quantumMs,
      { ...hooks, tick: status.show });
    status.clear();
    restoreAll();
    let worst: number = ExitStatus.Ok;
    schedule.accounts.forEach((a, i) => {
      const b = built[i]!;
      b.machine.finish();
      report(o, b, a.stop!, `[${b.name}] `);
      worst = Math.max(worst, a.stop!.status);
    });
    printSchedule(o, schedule, built);
    return worst;
  } finally {
    restoreAll();
    for (const b of built) {
      b.machine.close();
      for (const d of b.drives) d.close(); // flushes: every write is on disk when microvmm ends
    }
  }
}

function readHead(path: string): Uint8Array | undefined {
  try {
    const fd = openSync(path, "r");
    try {
      const b = new Uint8Array(0x210);
      return b.subarray(0, readSync(fd, b, 0, b.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // reported when the guest is read for real
  }
}

/** An ELF with a PVH entry note is a Linux kernel (vmlinux), not a plain guest. */
function isPvhVmlinux(path: string): boolean {
  try {
    return parseElf(readFileSync(path)).pvhEntry !== undefined;
  } catch {
    return false; // not a usable ELF: the plain loader will say why
  }
}

const FILE_KINDS = { guest: "a guest image", kernel: "a kernel image", initrd: "an initrd image" } as const;

/** Reads a file the user named; what goes wrong is one line (BadInputError) saying which file. */
function readFile(path: string, what: keyof typeof FILE_KINDS): Uint8Array {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new BadInputError(`${path}: is a directory, not ${FILE_KINDS[what]}`);
    if (st.size > MAX_GUEST_FILE) throw new BadInputError(`${path}: ${st.size} bytes is too large for ${FILE_KINDS[what]}`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new BadInputError(`cannot read ${what} ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

/**
 * Signals that stop the VM(s) (SIGHUP, SIGINT, SIGTERM) are remembered; the returned function
 * says, between slices, whether the host wants the VM stopped: Ctrl-A x, or one of those signals.
 */
function watchHost(): (input: HostInput) => VmStop | undefined {
  let signalled: SignalName | undefined;
  for (const s of Object.keys(SIGNALS) as SignalName[]) process.on(s, () => { signalled = s; });
  return (input) => {
    if (input.quitRequested) return { status: ExitStatus.Ok, message: "quit (Ctrl-A x)", dumpState: false };
    if (signalled !== undefined) return { status: ExitStatus.SignalBase + SIGNALS[signalled], message: `stopped by ${signalled}`, dumpState: false };
    return undefined;
  };
}

/** Unclaimed accesses: each port and address once; MMIO only when asked (--trace, --stats). */
function missReporter(o: CliOptions, warn: (m: string) => void): MissReporter {
  return (bus, addr, size, write) => {
    if (bus === "mmio" && !o.trace && !o.stats) return;
    warn(`unclaimed ${bus === "port" ? "port" : "MMIO address"} 0x${addr.toString(16)} (${write ? "write" : "read"}, size ${size}): ` +
      "reads return all-ones, writes are ignored (reported once)");
  };
}

/** Boots Linux: the serial console is stdin/stdout. */
async function runLinux(o: CliOptions): Promise<number> {
  const kernel = { name: o.kernel!, bytes: readFile(o.kernel!, "kernel") };
  const initrd = o.initrd === undefined ? undefined : { name: o.initrd, bytes: readFile(o.initrd, "initrd") };
  const cmdline = [o.cmdline ?? DEFAULT_CMDLINE, ...o.append].join(" ");
  const hostStop = watchHost();
  let takeInput = () => {};
  const machine = LinuxMachine.create({
    memorySize: o.memorySize, kvmPath: o.kvmPath, kernel, initrd, cmdline,
    output: outputTo(STDOUT),
    consoleDrained: () => takeInput(),
    reportMiss: missReporter(o, say),
    trace: o.trace ? (line: string) => print(STDERR, line + "\n") : undefined,
  });
  try {
    const serial = machine.serial;
    const input = new HostInput(STDIN, enterRawMode(STDIN), { get space() { return serial.rxSpace; }, push: (b) => serial.receive(b) });
    // A watcher thread kicks the vCPU out of KVM_RUN as soon as input arrives, so the vCPU
    // thread can sleep in KVM_RUN while the guest idles.
    const watcher = new InputWatcher(new Worker(new URL("./host/input-worker.ts", import.meta.url)), STDIN, machine.vcpu);
    takeInput = () => watcher.take(input, () => serial.rxSpace);
    const stop = await machine.run({ poll: takeInput, stopRequested: () => hostStop(input) }).finally(() => watcher.stop());
    restoreAll();
    if (stop.status !== ExitStatus.Ok || stop.dumpState) say(stop.message);
    if (stop.dumpState) print(STDERR, machine.registerDump().map((l) => `  ${l}\n`).join(""));
    if (o.stats === "text") print(STDERR, `linux boot: ${machine.boot}\n${formatExitStats(machine.stats)}`);
    return stop.status;
  } finally {
    restoreAll();
    machine.close();
  }
}

function createMachine(o: CliOptions, v: VmOptions, guest: GuestSpec, drives: DiskImage[], prefix: string | undefined,
  refillKeyboard: () => void): Machine {
  const tag = prefix === undefined ? "" : `[${prefix}] `;
  const warn = (m: string) => say(`${tag}${m}`);
  try {
    return Machine.create({
      memorySize: v.memorySize,
      kvmPath: o.kvmPath,
      guest,
      output: outputTo(STDOUT, prefix === undefined ? undefined : tag),
      clock: () => performance.now(),
      refillKeyboard,
      reportMiss: missReporter(o, warn),
      warn,
      drives,
      trace: o.trace ? (line: string) => print(STDERR, `${tag}${line}\n`) : undefined,
    });
  } catch (e) {
    if (e instanceof libc.SyscallError && e.call === "mmap(guest RAM)") {
      throw new HostError(`${tag}cannot reserve ${v.memorySize >> 20} MiB of guest RAM: ${e.message} — lower --memory`);
    }
    throw e;
  }
}

/** What one VM's end looks like on stderr: why (if not a plain halt), registers, peeks, stats. */
function report(o: CliOptions, b: Built, stop: VmStop, tag: string): void {
  const m = b.machine;
  if (stop.status !== ExitStatus.Ok || stop.dumpState || tag !== "") say(`${tag}${stop.message}`);
  if (stop.dumpState) print(STDERR, m.registerDump().map((l) => `${tag}  ${l}\n`).join(""));
  else if (b.opts.regs) print(STDERR, m.registerDump().map((l) => `${tag}${l}\n`).join(""));
  for (const p of b.opts.peeks) print(STDERR, formatPeek(m.memory, p).replace(/^/gm, tag));
  if (o.stats === "text") print(STDERR, formatStats(collectStats(m)).replace(/^(?=.)/gm, tag));
  if (o.stats === "json" && tag === "") print(STDERR, JSON.stringify(collectStats(m)) + "\n");
}

function printSchedule(o: CliOptions, s: Schedule, built: Built[]): void {
  const summary = scheduleSummary(s);
  // With several VMs the summary always ends the run (guest time and shares per VM).
  if (o.stats !== "json") print(STDERR, formatSchedule(summary));
  if (o.stats === "json") {
    const vms = summary.vms.map((v, i) => ({ ...v, stats: collectStats(built[i]!.machine) }));
    print(STDERR, JSON.stringify({ ...summary, vms }) + "\n");
  }
}

/** On a terminal, a line on stderr with the shares so far, redrawn once a second. */
function statusLine(built: Built[]): { show: (s: Schedule) => void; clear: () => void } {
  if (!libc.isatty(STDERR)) return { show: () => {}, clear: () => {} };
  let shown = false;
  return {
    show: (s) => {
      const total = s.accounts.reduce((n, a) => n + a.guestMs, 0) || 1;
      const parts = s.accounts.map((a, i) => `${built[i]!.name} ${((100 * a.guestMs) / total).toFixed(1)}%`);
      print(STDERR, `\r\x1b[K${parts.join("  ")}  (${(s.elapsedMs / 1000).toFixed(0)} s)`);
      shown = true;
    },
    clear: () => { if (shown) print(STDERR, "\r\x1b[K"); },
  };
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
  // On a terminal, the shell's prompt after us should not continue the guest's last line.
  if (libc.isatty(STDOUT)) print(STDOUT, freshLine(STDOUT));
  libc.exitNow(status);
}

await main();
