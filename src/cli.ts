// Command-line parsing: argv → options, or a BadInputError whose message is the one line to print.
import { CPU_MODES, type CpuMode } from "./arch/cpu-modes";
import { DEFAULT_MEMORY_SIZE, MAX_MEMORY_SIZE, MIN_MEMORY_SIZE } from "./arch/layout";
import { PRINTED_PER_KIND } from "./core/reports";
import { STRING_MAX } from "./devices/hypercall";
import { MAX_TRANSFER } from "./devices/pv-block";
import { BadInputError, ExitStatus } from "./errors";
import { parseDiskSpec, type DiskSpec } from "./host/disk-image";
import { DEFAULT_MAC, parseNetSpec, type NetSpec } from "./host/tap";
import { DEFAULT_KVM_PATH } from "./kvm/kvm";
import { parseGdbAddress, type GdbAddress } from "./gdb/address";
import type { LayoutName } from "./gdb/registers";

export const VERSION = "0.1.0";

/** What one VM runs with. */
export interface VmOptions {
  /** The guest file, or the name of a built-in guest. */
  guest?: string;
  /** Shown before its output when several VMs run ("[neo] …"). */
  name?: string;
  /** Its part of the CPU, as a weight (percentages are weights that add up to 100). */
  share: number;
  memorySize: number;
  mode?: CpuMode;
  load?: number;
  entry?: number;
  regs: boolean;
  peeks: Peek[];
  disks: DiskSpec[];
  /** Linux: a virtio-net card on this TAP device (--net). */
  net?: NetSpec;
  memmap: boolean;
  /** Hypercall 0xEF gives the guest-physical address instead of the host address (--no-host-addresses). */
  noHostAddresses: boolean;
  /** QEMU's isa-debug-exit at port 0xF4 (--debug-exit). */
  debugExit: boolean;
}

export interface CliOptions extends VmOptions {
  help: boolean;
  version: boolean;
  stats: false | "text" | "json";
  trace: boolean;
  /** Console and debugcon writes may wait in KVM's coalesced ring (default), or each exits. */
  coalesce: boolean;
  kvmPath: string;
  /** With --vm: the VMs, each with the options given before any --vm plus its own. */
  vms: VmOptions[];
  quantumMs: number;
  /** Linux: a bzImage, its initrd, the command line (replacing the default) and additions. */
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  append: string[];
  /** Multiboot kernels: what the terminal shows (default: vga on a terminal, else serial). */
  console?: "vga" | "serial";
  /** Multiboot kernels: where the VGA text screen is written when the VM ends. */
  screenDump?: string;
  /** Multiboot kernels: modules, in order, with their command lines. */
  modules: Array<{ path: string; args: string }>;
  /** Linux and multiboot kernels: vCPUs, each on a thread of its own (default 1). */
  cpus: number;
  /** Where a debugger connects (the first VM's boot vCPU), or undefined. */
  gdb?: GdbAddress;
  /** The register layout the debugger gets, instead of the one the guest file implies. */
  gdbArch?: LayoutName;
}

export const DEFAULT_QUANTUM_MS = 100;
/** xAPIC IDs are 8 bits and 0xFF is the broadcast: 255 processors at most (KVM may allow fewer). */
export const MAX_CPUS = 255;
/** Shares are weights in this range: the smallest VM still gets a thousandth of the largest's time. */
export const SHARE_MIN = 1;
export const SHARE_MAX = 1000;

/** --peek ADDR[:LEN]: guest-physical memory to dump at exit. */
export interface Peek { addr: number; length: number }
export const PEEK_DEFAULT = 16;
export const PEEK_MAX = 64 << 10;

export const BUILTIN_GUESTS = ["demo", "demo-raw"] as const;

export const USAGE = `microvmm ${VERSION} — a small KVM hypervisor

Usage: microvmm [options] <guest>
       microvmm [options] demo | demo-raw
       microvmm [options] --vm GUEST[:SHARE] [vm options] --vm GUEST[:SHARE] [vm options] ...

<guest> is an ELF file (ELFCLASS32 starts in 32-bit protected mode, ELFCLASS64 in 64-bit long
mode, each segment at its physical address) or a raw binary, run as one when --mode, --load or
--entry is given. A multiboot kernel (Multiboot 1 or 2 header, ELF or raw) boots as under
qemu -kernel: EAX = the magic, EBX = the boot information (command line, modules, memory map,
EGA text framebuffer, ACPI RSDP), on a PC (see "PC devices" below).
"demo" runs the built-in echo demo (ELF), "demo-raw" its raw-binary build: type a line and Enter,
and the guest prints it on every timer tick.

Several VMs (--vm) run in this one process and thread, one vCPU each, sharing the CPU: every
round of --quantum gives each running VM its SHARE of the round (weights; 70 and 30 mean 70%
and 30%; default: equal). A VM that halts or fails leaves the round; the others go on. Options
before the first --vm apply to every VM; -m, --mode, --load, --entry, --disk, --name, --regs,
--peek and --memmap after a --vm apply to that VM. Output lines are prefixed with "[name] ".
Keys go to the first VM. The exit status is the worst of the VMs'.

Options:
  -m, --memory SIZE   guest RAM: 64M, 2G, 512K (plain number: MiB; default ${DEFAULT_MEMORY_SIZE >> 20}M)
      --mode MODE     CPU mode at entry: ${CPU_MODES.join(", ")} (raw binaries: default real;
                      an ELFCLASS32 guest may ask for paged, 32-bit paging on)
      --load ADDR     raw binary: guest-physical load address (default 0)
      --entry ADDR    raw binary: first instruction (default: the load address)
      --stats[=json]  at exit, print counters to stderr: exits by reason, port I/O by port,
                      hypercalls, timer events fired and lost, keys delivered, where guest RAM
                      is mapped; with several VMs, guest time and share per VM and the cost of a
                      switch; =json prints them as one JSON object
      --trace         print one line per VM exit to stderr: reason, port or address, size,
                      direction, data
      --no-coalesce   every console and debugcon byte exits to microvmm (by default they wait
                      in KVM's coalesced ring, many per exit; counts and output are the same)
      --regs          at exit, print the vCPU registers to stderr, one per line
      --peek ADDR[:LEN]  at exit, hex-dump LEN bytes (default ${PEEK_DEFAULT}) of guest-physical
                      memory at ADDR to stderr; repeatable
      --disk FILE[,ro][,index=N]  attach a disk image (,ro: read-only); repeatable. Plain
                      guests: paravirtual drive 0, then 1, …; multiboot kernels: IDE, index 0
                      master, 1 slave (default: the next free one); Linux: virtio-blk,
                      /dev/vda, /dev/vdb, … in order
      --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]  Linux: a virtio-net card on TAP device NAME
                      (created if absent, which needs CAP_NET_ADMIN; default MAC ${DEFAULT_MAC})
      --memmap        at start, print the guest's memory map (as the guest is told it) to stderr
      --no-host-addresses  hypercall 0xEF gives the guest-physical address, not the host's
      --debug-exit    QEMU's isa-debug-exit at port 0xF4: a guest write of v ends microvmm with
                      status (v << 1) | 1 (its low 8 bits), as qemu -device isa-debug-exit does
      --kernel FILE   boot Linux: FILE is a bzImage (64-bit boot protocol, 2.12 or later); a
                      bzImage given as <guest> boots the same way
      --initrd FILE   Linux: the initial ramdisk
      --cmdline TEXT  Linux or multiboot: the kernel command line, replacing the default (Linux:
                      see below; multiboot: the kernel's file name)
      --append TEXT   Linux or multiboot: added to the command line; repeatable
      --module FILE[,ARGS]  multiboot: load FILE after the kernel as a module, its command line
                      "FILE ARGS"; repeatable, in order
      --console vga|serial  multiboot: what the terminal is. vga (the default when stdout is a
                      terminal): the VGA text screen drawn live, keys to the PS/2 keyboard, COM1
                      and debugcon output held and printed after the last screen when the VM
                      ends. serial (otherwise): COM1 and debugcon on stdout, keys to COM1
      --screen-dump FILE  multiboot: when the VM ends (however it ends), write the VGA text
                      screen to FILE: 25 lines, trailing blanks trimmed
      --cpus N        N vCPUs (default 1, at most ${MAX_CPUS} or what the host's KVM allows), each
                      on a host thread of its own. The MP table (and for Linux and multiboot
                      kernels the ACPI MADT) lists N processors; the others wait for the
                      kernel's INIT and SIPI. A plain guest with N > 1 gets local APICs and
                      an IOAPIC, and HLT then waits for an interrupt: the VM ends when the
                      boot vCPU halts with interrupts off. Not with --vm or --gdb
      --vm GUEST[:SHARE]  add a VM (see above)
      --name NAME     the VM's name in output and stats (default vm0, vm1, …)
      --quantum TIME  the scheduling round with several VMs: 10ms, 100ms, 1s (default ${DEFAULT_QUANTUM_MS}ms)
      --gdb [HOST:]PORT | unix:PATH  wait for gdb on a TCP port (host default 127.0.0.1;
                      port 0: any free one) or a unix socket; the guest runs its first
                      instruction when gdb says continue (see "Debugging" in the README).
                      With --vm: the first VM
      --gdb-arch x86-64|i386|i8086  the registers gdb gets (default: i386 for an ELFCLASS32
                      guest or kernel, which is what gdb expects with that file; else x86-64);
                      i8086: the i386 registers, and gdb disassembles 16-bit code
      --kvm PATH      the KVM device (default ${DEFAULT_KVM_PATH})
  -h, --help          this text
  -V, --version       the version

Guest devices: console (port 0x42), keyboard (0x44 data, 0x45 status), timer (0x46 period in ms,
0x47 bit 0 enable, bit 1 fired), hypercalls (0xE9-0xEF; see guest/include/hypercall.h), disk
doorbell (0xF0) and memory map (0xF1-0xF2; see guest/include/paravirt.h and docs/disk.md). On a terminal, keys go to the guest raw; Ctrl-A x quits,
Ctrl-A Ctrl-A sends Ctrl-A.

PC devices (multiboot kernels): 8259 PICs, IOAPIC, local APIC and PIT (KVM's, in the kernel);
COM1 16550A (0x3F8, IRQ 4); i8042 with a PS/2 keyboard, scan code set 1 (0x60/0x64, IRQ 1);
VGA text 80x25 at 0xB8000 with its registers (0x3C0-0x3DF); CMOS clock and memory size (0x70);
IDE disks (0x1F0-0x1F7, 0x3F6, IRQ 14); PCI configuration ports with no devices (0xCF8); reset
by 0xCF9, 0x92 or the i8042; ACPI power-off; debugcon and hypercalls (0xE9-0xEF); with
--debug-exit, 0xF4. The BIOS data area, an MP table (1.4) and ACPI tables (RSDP, MADT) describe
them. The VM ends when the kernel halts with interrupts off (cli; hlt), resets or powers off.

Limits:
  guest RAM         ${MIN_MEMORY_SIZE >> 10}K to ${MAX_MEMORY_SIZE / 2 ** 30}G; above 3G, RAM goes on at 4G (the 3-4G MMIO hole has none)
  files             guest and kernel: regular files up to 4 GiB; an initrd no larger than guest RAM;
                    a disk image: a regular file of at least one 512-byte sector, or a block device
  Linux cmdline     what the kernel's setup header allows (bzImage), 2047 bytes (PVH)
  several VMs       shares from ${SHARE_MIN} to ${SHARE_MAX}; --quantum from 1ms to 60s
  --peek            up to ${PEEK_MAX} bytes each, inside guest RAM
  what a guest can  its output (stdout); on stderr at most ${PRINTED_PER_KIND} lines per kind of problem it causes
  make us print     (unclaimed ports, unclaimed MMIO with --stats/--trace, bad hypercall, disk or
                    memory-map requests), then one line saying the rest are only counted (--stats);
                    a 0xEC string up to ${STRING_MAX >> 10} KiB; a disk request moves at most ${MAX_TRANSFER >> 20} MiB

Exit status:
  ${ExitStatus.Ok}    the guest halted (a multiboot kernel: with interrupts off), reset or powered
         off, or Ctrl-A x, or the debugger killed it
  ${ExitStatus.GuestFailed}    the guest failed (triple fault, entry failure, KVM internal error)
  ${ExitStatus.BadInput}    bad command line or guest image; no VM was started
  ${ExitStatus.HostError}    the host cannot run the VM (no KVM, no permission, out of memory)
  ${ExitStatus.Internal}   internal error in microvmm (a bug: please report it)
  (v<<1)|1  with --debug-exit: the guest wrote v to port 0xF4
  128+N  stopped by signal N (SIGHUP 129, SIGINT 130, SIGQUIT 131, SIGTERM 143); 141 when
         stdout was closed
`;

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "64M", "2G", "512K", "8GiB", "1048576B" (bytes), "128" (MiB). */
export function parseSize(text: string): number {
  const m = /^(\d+)(?:([KMGT])(?:i?B)?|(B))?$/i.exec(text.trim());
  if (m === null) throw new BadInputError(`bad memory size "${text}": use a number with K, M or G (64M, 2G)`);
  const unit = m[3] !== undefined ? 1 : m[2] !== undefined ? UNITS[m[2].toUpperCase()]! : 2 ** 20;
  const size = Number(m[1]) * unit;
  if (!Number.isSafeInteger(size) || size % 4096 !== 0) throw new BadInputError(`bad memory size "${text}": must be a multiple of 4K`);
  if (size < MIN_MEMORY_SIZE || size > MAX_MEMORY_SIZE) {
    throw new BadInputError(`memory size ${text} is out of range (${MIN_MEMORY_SIZE >> 10}K to ${MAX_MEMORY_SIZE / 2 ** 30}G)`);
  }
  return size;
}

/** "0x100000" or "1048576". */
export function parseAddress(text: string, what: string): number {
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(v)) throw new BadInputError(`bad ${what} address "${text}": use hex (0x1000) or decimal`);
  return v;
}

/** "0x400", "0x400:64". */
export function parsePeek(text: string): Peek {
  const [a, l, ...rest] = text.split(":");
  if (rest.length > 0 || a === undefined) throw new BadInputError(`bad --peek "${text}": ADDR or ADDR:LEN`);
  const length = l === undefined ? PEEK_DEFAULT : parseAddress(l, "--peek length");
  if (length < 1 || length > PEEK_MAX) throw new BadInputError(`bad --peek "${text}": LEN from 1 to ${PEEK_MAX}`);
  return { addr: parseAddress(a, "--peek"), length };
}

/** "100ms", "1s", "250" (ms). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === "s" ? 1000 : 1);
  if (!(ms >= 1 && ms <= 60_000)) throw new BadInputError(`bad --quantum "${text}": 1ms to 60s, like 100ms or 1s`);
  return ms;
}

/** "guest.elf", "guest.elf:70". */
function parseVm(text: string, defaults: VmOptions): VmOptions {
  const m = /^(.*?)(?::(\d+(?:\.\d+)?))?$/.exec(text)!;
  const share = m[2] === undefined ? 1 : Number(m[2]);
  if (m[1] === "" || !(share >= SHARE_MIN && share <= SHARE_MAX)) {
    throw new BadInputError(`bad --vm "${text}": GUEST or GUEST:SHARE (a share from ${SHARE_MIN} to ${SHARE_MAX})`);
  }
  return { ...defaults, peeks: [...defaults.peeks], disks: [...defaults.disks], guest: m[1], share };
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    help: false, version: false, memorySize: DEFAULT_MEMORY_SIZE, stats: false, trace: false, coalesce: true, regs: false, peeks: [],
    disks: [], memmap: false, noHostAddresses: false, debugExit: false, kvmPath: DEFAULT_KVM_PATH, share: 1, vms: [], quantumMs: DEFAULT_QUANTUM_MS, append: [],
    modules: [], cpus: 1,
  };
  // VM options go to the VM being described: the last --vm, or, before any, the defaults.
  let vm: VmOptions = o;
  let quantumGiven = false;
  const args = [...argv];
  while (args.length > 0) {
    let arg = args.shift()!;
    let inline: string | undefined;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (eq > 0) { inline = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    const value = (): string => {
      const v = inline ?? args.shift();
      if (v === undefined) throw new BadInputError(`${arg} needs a value (see --help)`);
      return v;
    };
    switch (arg) {
      case "-h": case "--help": o.help = true; break;
      case "-V": case "--version": o.version = true; break;
      case "-m": case "--memory": vm.memorySize = parseSize(value()); break;
      case "--mode": {
        const m = value();
        if (!(CPU_MODES as readonly string[]).includes(m)) throw new BadInputError(`bad --mode "${m}": one of ${CPU_MODES.join(", ")}`);
        vm.mode = m as CpuMode;
        break;
      }
      case "--load": vm.load = parseAddress(value(), "--load"); break;
      case "--entry": vm.entry = parseAddress(value(), "--entry"); break;
      case "--stats":
        if (inline === undefined || inline === "text") o.stats = "text";
        else if (inline === "json") o.stats = "json";
        else throw new BadInputError(`bad --stats=${inline}: --stats or --stats=json`);
        break;
      case "--trace": o.trace = true; break;
      case "--no-coalesce": o.coalesce = false; break;
      case "--regs": vm.regs = true; break;
      case "--peek": vm.peeks.push(parsePeek(value())); break;
      case "--disk": vm.disks.push(parseDiskSpec(value())); break;
      case "--net": {
        if (vm.net !== undefined) throw new BadInputError("one --net per VM");
        vm.net = parseNetSpec(value());
        break;
      }
      case "--memmap": vm.memmap = true; break;
      case "--no-host-addresses": vm.noHostAddresses = true; break;
      case "--debug-exit": vm.debugExit = true; break;
      case "--name": vm.name = value(); break;
      case "--kvm": o.kvmPath = value(); break;
      case "--gdb": o.gdb = parseGdbAddress(value()); break;
      case "--gdb-arch": {
        const a = value();
        if (a !== "x86-64" && a !== "i386" && a !== "i8086") throw new BadInputError(`bad --gdb-arch "${a}": x86-64, i386 or i8086`);
        o.gdbArch = a;
        break;
      }
      case "--vm":
        if (o.guest !== undefined) throw new BadInputError(`give every guest with --vm once --vm is used (got ${o.guest})`);
        vm = parseVm(value(), o);
        o.vms.push(vm);
        break;
      case "--cpus": {
        const t = value();
        const n = /^\d+$/.test(t) ? Number(t) : NaN;
        if (!(n >= 1 && n <= MAX_CPUS)) throw new BadInputError(`bad --cpus "${t}": a number of vCPUs from 1 to ${MAX_CPUS}`);
        o.cpus = n;
        break;
      }
      case "--quantum": o.quantumMs = parseDuration(value()); quantumGiven = true; break;
      case "--kernel": o.kernel = value(); break;
      case "--initrd": o.initrd = value(); break;
      case "--cmdline": o.cmdline = value(); break;
      case "--append": o.append.push(value()); break;
      case "--console": {
        const c = value();
        if (c !== "vga" && c !== "serial") throw new BadInputError(`bad --console "${c}": vga or serial`);
        o.console = c;
        break;
      }
      case "--screen-dump": o.screenDump = value(); break;
      case "--module": {
        const spec = value();
        const comma = spec.indexOf(",");
        const path = comma < 0 ? spec : spec.slice(0, comma);
        if (path === "") throw new BadInputError(`bad --module "${spec}": --module FILE[,ARGS]`);
        o.modules.push({ path, args: comma < 0 ? "" : spec.slice(comma + 1) });
        break;
      }
      case "--": if (args.length > 0) setGuest(o, args.shift()!); break;
      default:
        if (arg.startsWith("-") && arg !== "-") throw new BadInputError(`unknown option ${arg} (see --help)`);
        setGuest(o, arg);
    }
  }
  if (o.help || o.version) return o;
  if (o.gdbArch !== undefined && o.gdb === undefined) throw new BadInputError("--gdb-arch goes with --gdb");
  if (o.vms.length === 0 && (quantumGiven || o.name !== undefined)) throw new BadInputError("--quantum and --name go with several VMs: give each guest with --vm");
  if (o.kernel !== undefined) {
    if (o.guest !== undefined || o.vms.length > 0) throw new BadInputError("--kernel boots Linux alone: no other guest or --vm");
    o.vms.push(o);
    return o;
  }
  if (o.initrd !== undefined || o.cmdline !== undefined || o.append.length > 0) {
    if (o.vms.length > 0) throw new BadInputError("--initrd, --cmdline and --append go with a Linux kernel, not --vm");
  }
  if ((o.console !== undefined || o.screenDump !== undefined || o.modules.length > 0) && o.vms.length > 0) {
    throw new BadInputError("--console, --screen-dump and --module go with one multiboot kernel, not --vm");
  }
  if (o.vms.length === 0) {
    if (o.guest === undefined) throw new BadInputError("no guest given: microvmm [options] <guest> (see --help)");
    o.vms.push(o);
  }
  const names = o.vms.map((v, i) => v.name ?? `vm${i}`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new BadInputError(`two VMs are named ${dup}: give each its own --name`);
  return o;
}

function setGuest(o: CliOptions, g: string): void {
  if (o.vms.length > 0) throw new BadInputError(`with --vm, give every guest with --vm (got ${g})`);
  if (o.guest !== undefined) throw new BadInputError(`one guest at a time: got ${o.guest} and ${g} (several VMs: --vm GUEST[:SHARE] each)`);
  o.guest = g;
}
