// Builds the guests in guest/ with the system gcc/binutils, then dist/microvmm with
// `bun build --compile` (the demo guests are embedded). `bun run build.ts --guests` stops after the guests.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { makeImage } from "./src/tools/mkimage";

const OUT = "guest/build";

// -mno-red-zone: no interrupts here, but guests that add them must not lose the stack below RSP.
// -mgeneral-regs-only: no SSE from the compiler. microvmm enables SSE for guests, but a software
// KVM (instruction emulation instead of VMX/SVM) may not emulate every SSE instruction, and these
// guests should run everywhere.
const CFLAGS64 = [
  "-m64", "-O2", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector", "-mgeneral-regs-only",
  "-fcf-protection=none", "-fno-asynchronous-unwind-tables", "-mno-red-zone", "-nostdlib", "-static",
  "-no-pie", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-Wa,--noexecstack",
  "-Wall", "-Wextra", "-Werror",
];

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    console.error(`build: failed: ${cmd.join(" ")}`);
    process.exit(1);
  }
}

/** A 64-bit C guest: ELF, plus the same program as a raw binary for the raw loader. */
function cGuest64(name: string, sources: string[], defines: string[] = [], script = "guest/link64.ld"): void {
  const elf = `${OUT}/${name}.elf`;
  sh(["gcc", ...CFLAGS64, ...defines, "-T", script, "-o", elf, "guest/start64.S", ...sources]);
  sh(["objcopy", "-O", "binary", elf, `${OUT}/${name}.bin`]);
}

/** The flags of the 32-bit C guests: those of the 64-bit ones that apply. */
const CFLAGS32 = ["-m32", ...CFLAGS64.filter((f) => f !== "-m64" && f !== "-mno-red-zone")];

/** A 32-bit C guest (ELFCLASS32: microvmm starts it in flat protected mode), linked for the debugger tests. */
function cGuest32(name: string, sources: string[], flags: string[] = []): void {
  sh(["gcc", ...CFLAGS32, ...flags, "-T", "guest/link-debug.ld", "-o", `${OUT}/${name}.elf`, "guest/start32.S", ...sources]);
}

/** Guests for the debugger tests: no optimisation, full debug information. */
const DEBUG_FLAGS = ["-O0", "-g"];

/** An assembly guest as a flat binary linked at 0. */
function rawGuest(name: string, source: string, bits: 16 | 32 | 64): void {
  const obj = `${OUT}/${name}.o`;
  sh(["gcc", bits === 64 ? "-m64" : "-m32", "-Wa,--noexecstack", "-c", "-o", obj, source]);
  sh(["ld", "-m", bits === 64 ? "elf_x86_64" : "elf_i386", "-T", "guest/link-raw.ld", "-o", `${OUT}/${name}.bin`, obj]);
}

/** An assembly guest as an ELF executable linked at `base`. */
/** `kernel`: one segment from `base` (-N), no ELF headers loaded below it, as a kernel's linker script gives. */
function elfGuest(name: string, source: string, bits: 32 | 64, base: number, kernel = false, defines: string[] = []): void {
  const obj = `${OUT}/${name}.o`;
  sh(["gcc", bits === 64 ? "-m64" : "-m32", ...defines, "-Wa,--noexecstack", "-c", "-o", obj, source]);
  sh(["ld", "-m", bits === 64 ? "elf_x86_64" : "elf_i386", "-e", "_start", `-Ttext=0x${base.toString(16)}`,
    ...(kernel ? ["-N", "--no-warn-rwx-segments"] : []), "--build-id=none", "-o", `${OUT}/${name}.elf`, obj]);
}

/** guest/debug-modes.S: an ELF with its symbols for gdb, and the same bytes raw, both at 0x8000. */
function debugModesGuest(): void {
  const obj = `${OUT}/debug-modes.o`;
  sh(["gcc", "-m64", "-g", "-Wa,--noexecstack", "-c", "-o", obj, "guest/debug-modes.S"]);
  sh(["ld", "-m", "elf_x86_64", "-e", "_start", "-Ttext=0x8000", "--build-id=none", "-o", `${OUT}/debug-modes.elf`, obj]);
  sh(["objcopy", "-O", "binary", "-j", ".text", `${OUT}/debug-modes.elf`, `${OUT}/debug-modes.bin`]);
}

export function buildGuests(): void {
  mkdirSync(OUT, { recursive: true });
  cGuest64("demo", ["guest/demo.c"]);
  cGuest64("demo-50ms", ["guest/demo.c"], ["-DTICK_MS=50"]);
  cGuest64("hypercalls", ["guest/hypercalls.c"]);
  cGuest64("test-order", ["guest/test-order.c"]);
  cGuest64("test-hostile", ["guest/test-hostile.c"]);
  for (const g of ["disk", "sysinfo", "test-disk-errors", "test-disk-kill"]) cGuest64(g, [`guest/${g}.c`]);
  cGuest64("matrix-inc", ["guest/matrix.c"], ["-DPORT=0x10", "-DSTEP=1"]);
  cGuest64("matrix-dec", ["guest/matrix.c"], ["-DPORT=0x11", "-DSTEP=-1"]);
  cGuest64("matrix-short", ["guest/matrix.c"], ["-DPORT=0x10", "-DSTEP=1", "-DLIMIT=20000"]);
  rawGuest("compute", "guest/compute.S", 64);
  cGuest64("bench-disk-read", ["guest/bench-disk.c"], ["-DWRITE=0"]);
  cGuest64("bench-disk-write", ["guest/bench-disk.c"], ["-DWRITE=1"]);
  cGuest64("debug-me", ["guest/debug-me.c"], DEBUG_FLAGS, "guest/link-debug.ld");
  cGuest32("debug-me-32", ["guest/debug-me.c"], DEBUG_FLAGS);
  cGuest32("test-virtio", ["guest/test-virtio.c"]);
  debugModesGuest();
  rawGuest("hello-real", "guest/hello-real.S", 16);
  rawGuest("hello-32", "guest/hello-32.S", 32);
  rawGuest("hello-long", "guest/hello-long.S", 64);
  elfGuest("hello-32", "guest/hello-32.S", 32, 0x100000);
  elfGuest("test-multiboot1", "guest/test-multiboot1.S", 32, 0x100000, true);
  elfGuest("test-multiboot2", "guest/test-multiboot2.S", 32, 0x100000, true);
  elfGuest("test-pc-irq", "guest/test-pc-irq.S", 32, 0x100000, true);
  elfGuest("test-pc-poll", "guest/test-pc-poll.S", 32, 0x100000, true);
  elfGuest("test-smp", "guest/test-smp.S", 32, 0x100000, true);
  const smpVariants: Array<[string, string[]]> = [["spin", ["SPIN"]], ["forever", ["FOREVER"]], ["fault", ["FAULT"]],
    ["bench", ["ROUNDS=20000"]], ["bench-boot", ["ROUNDS=20000", "BOOT_ROUNDS"]], ["plain", ["PLAIN"]], ["plain-spin", ["PLAIN", "SPIN"]]];
  for (const [variant, defines] of smpVariants) {
    elfGuest(`test-smp-${variant}`, "guest/test-smp.S", 32, 0x100000, true, defines.map((d) => `-D${d}`));
  }
  elfGuest("test-debug-exit", "guest/test-debug-exit.S", 32, 0x100000, true);
  elfGuest("mb-hello", "guest/mb-hello.S", 32, 0x100000, true);
  rawGuest("bench-out", "guest/bench-out.S", 16);
  rawGuest("bench-print", "guest/bench-print.S", 16);
  rawGuest("bench-print-rep", "guest/bench-print-rep.S", 16);
  for (const t of ["kbd-noack", "timer-noack", "triple-fault", "io-sizes", "spin", "mmio", "flood"]) {
    rawGuest(`test-${t}`, `guest/test-${t}.S`, 64);
  }
}

/** The disk demo's image: two files to read and a log to append to (docs/disk.md). */
function buildDemoImage(): void {
  const text = (s: string) => new TextEncoder().encode(s);
  writeFileSync(`${OUT}/disk.img`, makeImage([
    { name: "hello.txt", data: text("Hello from the disk!\nThis file came through microvmm's paravirtual disk.\n") },
    { name: "motd", data: text("Nothing to see here.\n") },
    { name: "log", data: text("log created by build.ts\n"), capacity: 8 },
  ]));
}

function buildExecutable(): void {
  mkdirSync("dist", { recursive: true });
  // The input watcher, each application processor and the virtio device thread run in a Worker: their modules are entry points of the executable too.
  // A compiled program would read bunfig.toml and .env from the directory it starts in: a user's
  // files there must not change (or break, or run code in) microvmm, and reading them costs startup.
  sh([process.execPath, "build", "--compile", "--bytecode", "--format=esm", "--minify", "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv",
    "src/main.ts", "src/host/input-worker.ts", "src/vcpu/ap-worker.ts", "src/virtio/io-worker.ts", "--outfile", "dist/microvmm"]);
  console.log(`build: dist/microvmm (${(statSync("dist/microvmm").size / 2 ** 20).toFixed(0)} MiB)`);
}

buildGuests();
buildDemoImage();
if (!process.argv.includes("--guests")) buildExecutable();
