// microvmm: parse the command line, read and classify each input file once, build the VM(s), run,
// report, and always give the terminal back. Every machine kind goes the same way from here on.
import { BUILTIN_GUESTS, parseArgs, USAGE, VERSION, type CliOptions, type VmOptions } from "./cli";
import { QUIT, type VmStop } from "./core/stop";
import { BadInputError, ExitStatus, UserError } from "./errors";
import { classify, readGuestFile, readUserFile } from "./guest-file";
import { ramLayout } from "./arch/layout";
import { formatMemoryMap } from "./arch/memmap";
import { hex } from "./binary/hex";
import { DiskImage, type DiskSpec } from "./host/disk-image";
import { Tap } from "./host/tap";
import { HostInput, type KeySource } from "./host/input";
import { InputWatcher } from "./host/input-watcher";
import { freshLine, outputTo } from "./host/output";
import { enterRawMode, restoreAll } from "./host/terminal";
import { screenText } from "./host/screen";
import { VgaConsole } from "./host/vga-console";
import { PcBoard } from "./boards/pc";
import { writeFileSync } from "node:fs";
import { EPIPE } from "./libc/errno";
import * as libc from "./libc/libc";
import type { Machine } from "./machine";
import { createMachine, planGuest, type GuestPlan } from "./machines";
import { formatPeek, formatSchedule, scheduleSummary } from "./report";
import { runScheduled, type Schedule } from "./sched/scheduler";
import type { Debugging } from "./gdb";

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const encoder = new TextEncoder();
const print = (fd: number, text: string) => libc.writeAll(fd, encoder.encode(text));
/**
 * Our one-line messages, on a line of their own even if the guest's output stopped mid-line. If
 * stderr cannot take them (a full disk, a file-size limit) there is no one to tell: the exit
 * status still says what happened.
 */
const say = (text: string) => {
  try { print(STDERR, `${freshLine(STDOUT)}microvmm: ${text}\n`); } catch { /* stderr is gone */ }
};

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as const;
type SignalName = keyof typeof SIGNALS;
const SIGPIPE = 13;

/** One VM, built: its machine, its name, its options, and the disks it holds. */
interface Built { name: string; opts: VmOptions; machine: Machine; drives: DiskImage[]; tap: Tap | undefined }

/** --console vga: the VGA screen on the terminal, or undefined (COM1 to stdout). */
let vgaConsole: VgaConsole | undefined;

async function run(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (o.help) { print(STDOUT, USAGE); return ExitStatus.Ok; }
  if (o.version) { print(STDOUT, `microvmm ${VERSION}\n`); return ExitStatus.Ok; }
  // Every file is read, classified and checked before any VM is made.
  const plans = await Promise.all(o.vms.map((v) => planFor(o, v)));
  checkOptions(o, plans);

  const hostStop = watchHost();
  const input = new HostInput(STDIN, libc.isatty(STDIN));
  // A lone VM's keys go through a watcher, whose thread starts if the board idles in KVM_RUN.
  const watcher = o.vms.length === 1
    ? new InputWatcher(() => new Worker(new URL("./host/input-worker.ts", import.meta.url)), STDIN, input) : undefined;
  const keys: KeySource = watcher ?? input;
  const several = o.vms.length > 1;
  // A multiboot kernel's screen is drawn when stdout is a terminal, unless --console serial.
  if (!several && plans[0]!.kind === "multiboot" && (o.console ?? (libc.isatty(STDOUT) ? "vga" : "serial")) === "vga") vgaConsole = new VgaConsole(STDOUT);
  const built: Built[] = [];
  let debugging: Debugging | undefined;
  try {
    for (const [i, v] of o.vms.entries()) {
      const name = v.name ?? `vm${i}`;
      const tag = several ? `[${name}] ` : "";
      checkPeeks(v, tag);
      const drives: DiskImage[] = [];
      let tap: Tap | undefined;
      try {
        for (const d of v.disks) drives.push(DiskImage.open(d));
        if (v.net !== undefined) tap = Tap.open(v.net.tap);
        const machine = buildMachine(o, v, plans[i]!, drives, tap, tag, i === 0 ? keys : undefined);
        built.push({ name, opts: v, machine, drives, tap });
      } catch (e) {
        for (const d of drives) d.close();
        tap?.close();
        throw e instanceof UserError && tag !== "" ? new UserError(`${tag}${e.message}`, e.status) : e;
      }
      if (v.memmap) print(STDERR, [`${tag}memory map:`, ...formatMemoryMap(built[i]!.machine.memoryMap).map((l) => `  ${l}`)].join("\n") + "\n");
    }
    // Ctrl-A x stops the VM that has the keys as soon as it is typed; the others at the next look.
    const first = built[0]!.machine;
    input.onQuit(() => first.core.stop.request(QUIT));
    // --gdb: the first VM waits for the debugger (a one-line hint says where), before the terminal goes raw.
    if (o.gdb !== undefined) {
      const { layoutFor, startDebugging } = await import("./gdb");
      debugging = startDebugging(first, plans[0]!, o.gdb, o.gdbArch ?? layoutFor(plans[0]!), o.kvmPath, () => new Worker(new URL("./host/input-worker.ts", import.meta.url)), say);
    }
    enterRawMode(STDIN);
    const stopRequested = () => hostStop(input);
    if (first.board.pacing.kicked) watcher?.start(first.core.vcpu);
    const session = debugging?.session;
    if (!several) {
      const b = built[0]!;
      vgaConsole?.start();
      const hooks = { poll: () => keys.pull(first.board.keys), stopRequested };
      const stop = session !== undefined ? await session.run(hooks) : await b.machine.run(hooks);
      vgaConsole?.end();
      restoreAll();
      dumpScreen(o, b);
      report(o, b, stop, "");
      return stop.status;
    }
    const status = statusLine(built);
    const schedule = await runScheduled(built.map((b, i) => ({
      name: b.name, share: b.opts.share,
      slice: i === 0 && session !== undefined ? (d, t) => session.slice(d, t) : (d, t) => b.machine.slice(d, t),
    })), o.quantumMs,
      { poll: () => input.pull(first.board.keys), stopRequested, tick: status.show });
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
    watcher?.stop();
    debugging?.close();
    restoreAll();
    for (const b of built) dumpScreen(o, b);
    for (const b of built) {
      b.machine.close();
      for (const d of b.drives) d.close(); // flushes: every write is on disk when microvmm ends
      b.tap?.close();
    }
  }
}

/** Reads and classifies the VM's file: a Linux kernel (given with --kernel, or a bzImage/PVH vmlinux as the guest), or a plain guest. */
async function planFor(o: CliOptions, v: VmOptions): Promise<GuestPlan> {
  if (o.kernel !== undefined) return planGuest(readGuestFile(o.kernel, "kernel"), v, true);
  const name = v.guest!;
  if ((BUILTIN_GUESTS as readonly string[]).includes(name)) {
    const { builtinGuest } = await import("./builtin-guests");
    const b = await builtinGuest(name);
    return { kind: "plain", guest: { file: classify(name, b.bytes), raw: b.raw } };
  }
  return planGuest(readGuestFile(name, "guest"), v);
}

/** Options that do not apply to the machine kind are refused, one line naming them, never ignored. */
function checkOptions(o: CliOptions, plans: readonly GuestPlan[]): void {
  if (o.cpus > 1) {
    // Several VMs share one thread; an AP needs a thread of its own, and the in-kernel LAPIC for its INIT and SIPI.
    if (plans.length > 1) throw new BadInputError("--cpus goes with one VM: several VMs (--vm) run one vCPU each on one thread");
    if (o.gdb !== undefined) throw new BadInputError("--gdb debugs one vCPU: leave out --cpus (or give --cpus 1)");
  }
  const linux = plans.some((p) => p.kind === "linux");
  if (!linux && o.vms.some((v) => v.net !== undefined)) throw new BadInputError("--net is for a Linux kernel (virtio-net)");
  if (linux) {
    if (plans.length > 1) throw new BadInputError("a Linux kernel runs alone: not with --vm");
    const v = o.vms[0]!;
    if (v.noHostAddresses) throw new BadInputError("--no-host-addresses is for plain guests (hypercall 0xEF); a Linux kernel makes no hypercalls");
    if (v.debugExit) throw new BadInputError("--debug-exit is for plain and multiboot guests; a Linux kernel powers off or reboots");
    if (v.mode !== undefined || v.load !== undefined || v.entry !== undefined) {
      throw new BadInputError("--mode, --load and --entry are for plain guests; a Linux kernel starts as its boot protocol says");
    }
  } else if (plans.some((p) => p.kind === "multiboot")) {
    if (o.initrd !== undefined) throw new BadInputError("--initrd is for a Linux kernel; a multiboot kernel takes --cmdline and --append");
    for (const v of o.vms) idePositions(v.disks);
    return;
  } else if (o.initrd !== undefined || o.cmdline !== undefined || o.append.length > 0) {
    throw new BadInputError("--initrd, --cmdline and --append go with a Linux or multiboot kernel (--kernel, or the kernel as the guest)");
  }
  if (o.console !== undefined || o.screenDump !== undefined || o.modules.length > 0) {
    throw new BadInputError("--console, --screen-dump and --module are for multiboot kernels (the PC board)");
  }
  if (o.vms.some((v) => v.disks.some((d) => d.index !== undefined))) {
    throw new BadInputError("--disk FILE,index=N places a multiboot kernel's IDE disk; a plain guest's drives are numbered in order");
  }
}

/** A multiboot kernel's --disk options as IDE positions: QEMU's index (0 master, 1 slave), else the next free one. */
function idePositions(disks: readonly DiskSpec[]): number[] {
  const taken = new Set<number>();
  for (const d of disks) {
    if (d.index === undefined) continue;
    if (d.index > 1) throw new BadInputError(`--disk ${d.path},index=${d.index}: the IDE channel has index 0 (master) and 1 (slave)`);
    if (taken.has(d.index)) throw new BadInputError(`two disks at IDE index ${d.index}`);
    taken.add(d.index);
  }
  return disks.map((d) => {
    if (d.index !== undefined) return d.index;
    const free = [0, 1].find((i) => !taken.has(i));
    if (free === undefined) throw new BadInputError("at most two disks on the IDE channel (index 0 and 1)");
    taken.add(free);
    return free;
  });
}

/** --screen-dump: the PC's text screen, written once when the VM has ended, however it ended. */
function dumpScreen(o: CliOptions, b: Built): void {
  const board = b.machine.board;
  if (o.screenDump === undefined || !(board instanceof PcBoard) || dumped.has(b)) return;
  dumped.add(b);
  try {
    writeFileSync(o.screenDump, screenText(board.screen()));
  } catch (e) {
    say(`cannot write the screen dump ${o.screenDump}: ${(e as Error).message}`);
  }
}
const dumped = new WeakSet<Built>();

function buildMachine(o: CliOptions, v: VmOptions, plan: GuestPlan, drives: DiskImage[], tap: Tap | undefined, tag: string, input: KeySource | undefined): Machine {
  const warn = (m: string) => say(`${tag}${m}`);
  const pc = plan.kind === "multiboot";
  const ide: Array<DiskImage | undefined> = [undefined, undefined];
  if (pc) idePositions(v.disks).forEach((at, i) => { ide[at] = drives[i]; });
  return createMachine(plan, {
    memorySize: v.memorySize,
    cpus: o.cpus,
    // Each AP's KVM_RUN loop is a second entry point of the executable (build.ts), like the input watcher.
    apWorker: () => new Worker(new URL("./vcpu/ap-worker.ts", import.meta.url)),
    kvmPath: o.kvmPath,
    output: vgaConsole?.output ?? outputTo(STDOUT, tag === "" ? undefined : tag),
    input,
    console: vgaConsole === undefined ? "serial" : "vga",
    display: vgaConsole?.display,
    ide,
    warn,
    reportMmioMisses: o.trace || o.stats !== false,
    coalesce: o.coalesce,
    trace: o.trace ? (line: string) => print(STDERR, `${tag}${line}\n`) : undefined,
    drives: pc ? [] : drives,
    net: tap === undefined ? undefined : { tap, mac: v.net!.mac },
    // The device thread of virtio disks and cards is an entry point of the executable too (build.ts).
    ioWorker: () => new Worker(new URL("./virtio/io-worker.ts", import.meta.url)),
    noHostAddresses: v.noHostAddresses,
    debugExit: v.debugExit,
    initrd: o.initrd === undefined ? undefined : { name: o.initrd, bytes: readUserFile(o.initrd, "initrd", v.memorySize) },
    cmdline: o.cmdline,
    append: o.append,
    // GRUB's and QEMU's way: a module's command line is its file name, then its arguments.
    modules: o.modules.map((m) => ({ name: m.path, bytes: readUserFile(m.path, "module", v.memorySize), cmdline: [m.path, m.args].filter((x) => x !== "").join(" ") })),
  });
}

/**
 * Signals that stop the VM(s) (SIGHUP, SIGINT, SIGTERM) are remembered; the returned function
 * says, between slices, whether the host wants the VM stopped: Ctrl-A x, or one of those signals.
 */
function watchHost(): (input: HostInput) => VmStop | undefined {
  let signalled: SignalName | undefined;
  for (const s of Object.keys(SIGNALS) as SignalName[]) process.on(s, () => { signalled = s; });
  return (input) => {
    if (input.quitRequested) return QUIT;
    if (signalled !== undefined) return { status: ExitStatus.SignalBase + SIGNALS[signalled], message: `stopped by ${signalled}`, dumpState: false };
    return undefined;
  };
}

/** A --peek outside guest RAM is refused before any VM exists, not found out at its end. */
function checkPeeks(v: VmOptions, tag: string): void {
  const regions = ramLayout(v.memorySize);
  for (const p of v.peeks) {
    if (!regions.some((r) => p.addr >= r.gpa && p.addr + p.length <= r.gpa + r.size)) {
      const ram = regions.map((r) => `${hex(r.gpa)}-${hex(r.gpa + r.size - 1)}`).join(" and ");
      throw new BadInputError(`${tag}--peek ${hex(p.addr)}:${p.length} is not in guest RAM (${ram})`);
    }
  }
}

/** What one VM's end looks like on stderr: why (if not a plain halt), registers, peeks, stats. */
function report(o: CliOptions, b: Built, stop: VmStop, tag: string): void {
  const m = b.machine;
  if (stop.status !== ExitStatus.Ok || stop.dumpState || tag !== "") say(`${tag}${stop.message}`);
  if (stop.dumpState) print(STDERR, m.registerDump().map((l) => `${tag}  ${l}\n`).join(""));
  else if (b.opts.regs) print(STDERR, m.registerDump().map((l) => `${tag}${l}\n`).join(""));
  for (const p of b.opts.peeks) print(STDERR, formatPeek(m.memory, p).replace(/^/gm, tag));
  if (o.stats === "text") print(STDERR, m.statsText().replace(/^(?=.)/gm, tag));
  if (o.stats === "json" && tag === "") print(STDERR, JSON.stringify(m.stats()) + "\n");
}

function printSchedule(o: CliOptions, s: Schedule, built: Built[]): void {
  const summary = scheduleSummary(s);
  // With several VMs the summary always ends the run (guest time and shares per VM).
  if (o.stats !== "json") print(STDERR, formatSchedule(summary));
  if (o.stats === "json") {
    const vms = summary.vms.map((v, i) => ({ ...v, stats: built[i]!.machine.stats() }));
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
  // Past a file-size limit a write fails with EFBIG instead of the signal ending the process.
  process.on("SIGXFSZ", () => {});
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
  try { if (libc.isatty(STDOUT)) print(STDOUT, freshLine(STDOUT)); } catch { /* stdout is gone */ }
  libc.exitNow(status);
}

await main();
