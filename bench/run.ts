// `npm run bench`: figures and ratios, each measured in this run against its reference.
//   exit round trip   200 000 port-I/O exits: microvmm vs the minimal C loop (target ≤ 1.05×)
//   console output    a guest printing 100 000 bytes: microvmm (coalesced writes) vs the C loop
//                     printing them one exit per byte (target ≥ 4× faster), and vs the C loop
//                     with the same coalesced ring (the floor for batched output)
//   hello process     whole-process time of microvmm running a hello guest (target ≤ 10 ms),
//                     beside a compiled Bun program that only prints (the runtime's own floor);
//                     peak RSS of both (goal ≤ 30 MiB); -m 8G against -m 64M (target: within
//                     1 ms), beside the C loop given the same memory (KVM's own share)
//   multiboot hello   whole-process time of a multiboot kernel that prints its boot information
//                     on the PC board (in-kernel irqchip, BIOS tables, cli; hlt detection)
//   linux             boot to init vs QEMU microvm, idle CPU (bench/linux.ts, on hardware-style KVM)
//   several vCPUs     an AP's exit round trip vs the boot vCPU's; Linux boot to init with 1, 2
//                     and 4 vCPUs vs QEMU microvm with as many; a CPU-bound job in one process
//                     vs one per vCPU (bench/smp.ts, hardware-style KVM)
//   virtio-blk        512 MiB read by dd in the guest (first and last of three in one boot) vs
//                     dd on the host (goal ≥ 0.8×) and vs QEMU microvm's virtio-blk (goal ≥ 1.0×)
//                     (bench/virtio.ts, hardware-style KVM)
//   virtio-net        TCP each way and ping RTT (before and after the transfers) vs QEMU
//                     microvm's virtio-net on the same TAP (goal ≥ 1.0×); boot to init with a
//                     virtio disk and card vs without (goal ≤ 1.05×)
//                     (bench/virtio-net.ts, hardware-style KVM, root)
//   xv6               boot to the shell's prompt vs qemu-system-i386 -kernel (bench/xv6.ts, on
//                     hardware-style KVM; target ≤ 0.5×), and a multiboot kernel to its first
//                     line under both: what each VMM costs before a kernel runs (QEMU: its BIOS)
//   scheduling        two VMs at 70/30: switch cost and share error at quantum 10 ms, 100 ms, 1 s
//   disk              256 MiB through the paravirtual disk in 1 MiB requests vs the same file
//                     read (and written, fsync every 16 MiB) by this process (target ≥ 0.5×)
//   debugger          guests under --gdb with no breakpoints vs without (target ≥ 0.95×), and
//                     single steps per second (bench/gdb.ts)
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "dist/microvmm");
const OUT = join(ROOT, "bench/build");
const guest = (n: string) => join(ROOT, "guest/build", n);

function timeOnce(cmd: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

mkdirSync(OUT, { recursive: true });
for (const tool of ["kvm-loop", "peak-rss"]) {
  const cc = Bun.spawnSync(["cc", "-O2", "-o", join(OUT, tool), join(ROOT, `bench/${tool}.c`)], { stderr: "inherit" });
  if (cc.exitCode !== 0) throw new Error(`cannot build bench/${tool}.c`);
}

// 1. Exit round trip, alternating the two programs so both see the same machine conditions.
const exits = 200_000;
const c: number[] = [];
const ours: number[] = [];
for (let i = 0; i < 5; i++) {
  c.push(timeOnce([join(OUT, "kvm-loop"), guest("bench-out.bin")]));
  ours.push(timeOnce([BIN, "--mode", "real", guest("bench-out.bin")]));
}
const cMs = median(c);
const oursMs = median(ours);
console.log(`exit round trip (${exits} port-I/O exits, median of 5, whole process):`);
console.log(`  C loop    ${cMs.toFixed(0)} ms  (${((cMs * 1000) / exits).toFixed(2)} µs/exit)`);
console.log(`  microvmm  ${oursMs.toFixed(0)} ms  (${((oursMs * 1000) / exits).toFixed(2)} µs/exit)`);
console.log(`  ratio     ${(oursMs / cMs).toFixed(3)}× the C loop (target ≤ 1.05×)`);

// 1b. Printing: 100 000 console bytes, coalesced by microvmm, one exit each in the C loop; by a
// guest that does one `outb` per byte, and by one that does a `rep outsb` per line.
console.log("console output, 100 000 bytes on port 0x42 (median of 5, whole process):");
for (const [style, image] of [["outb per byte", "bench-print.bin"], ["rep outsb per line", "bench-print-rep.bin"]] as const) {
  const runs = { c: [] as number[], cRing: [] as number[], ours: [] as number[] };
  for (let i = 0; i < 5; i++) {
    runs.c.push(timeOnce([join(OUT, "kvm-loop"), guest(image), "--print"]));
    runs.cRing.push(timeOnce([join(OUT, "kvm-loop"), guest(image), "--print-coalesced"]));
    runs.ours.push(timeOnce([BIN, "--mode", "real", guest(image)]));
  }
  const [cMs, ringMs, oursMs] = [runs.c, runs.cRing, runs.ours].map(median) as [number, number, number];
  console.log(`  ${style.padEnd(19)} C loop (an exit per byte) ${cMs.toFixed(0)} ms, microvmm (coalesced) ${oursMs.toFixed(0)} ms: ` +
    `${(cMs / oursMs).toFixed(2)}× faster (target ≥ 4×)`);
  console.log(`  ${"".padEnd(19)} the C loop with the same ring from its first byte ${ringMs.toFixed(0)} ms (${(cMs / ringMs).toFixed(2)}× faster): ` +
    `microvmm takes ${(oursMs / ringMs).toFixed(2)}× its time`);
}

// 2. Whole-process time of a hello guest, alternating with the bare runtime; peak RSS of both.
const bareBin = join(OUT, "bare");
const bun = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", "--minify", "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv", join(ROOT, "bench/bare.ts"), "--outfile", bareBin], { stdout: "pipe", stderr: "inherit" });
if (bun.exitCode !== 0) throw new Error("cannot build bench/bare.ts");
const HELLO = [BIN, "--mode", "long", guest("hello-long.bin")];
const hello: number[] = [];
const bare: number[] = [];
timeOnce(HELLO); // warm the page cache
timeOnce([bareBin]);
for (let i = 0; i < 30; i++) {
  hello.push(timeOnce(HELLO));
  bare.push(timeOnce([bareBin]));
}
const helloMs = median(hello);
const bareMs = median(bare);
// Through bench/peak-rss.c: a child of this (large) process would report this process's RSS.
const peakRss = (cmd: string[]) => median([0, 1, 2].map(() => {
  const r = Bun.spawnSync([join(OUT, "peak-rss"), ...cmd], { stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`peak-rss ${cmd.join(" ")} failed`);
  return Number(r.stdout.toString().trim()) / 1024;
}));
console.log("hello guest, whole process (median of 30):");
console.log(`  microvmm        ${helloMs.toFixed(1)} ms — ${(helloMs / 10).toFixed(2)}× the 10 ms target`);
console.log(`  bare Bun hello  ${bareMs.toFixed(1)} ms (the runtime alone; microvmm adds ${(helloMs - bareMs).toFixed(1)} ms)`);
console.log(`  peak RSS        microvmm ${peakRss(HELLO).toFixed(1)} MiB (goal ≤ 30 MiB), bare Bun hello ${peakRss([bareBin]).toFixed(1)} MiB`);

// 2b. Guest RAM should cost nothing until touched: the hello guest with -m 8G against -m 64M, beside
// what KVM itself charges for the same memory slots (the C loop given the same RAM layout).
const big = { ours64: [] as number[], ours8g: [] as number[], c64: [] as number[], c8g: [] as number[] };
for (let i = 0; i < 20; i++) {
  big.ours64.push(timeOnce([BIN, "-m", "64M", "--mode", "long", guest("hello-long.bin")]));
  big.ours8g.push(timeOnce([BIN, "-m", "8G", "--mode", "long", guest("hello-long.bin")]));
  big.c64.push(timeOnce([join(OUT, "kvm-loop"), guest("hello-real.bin"), "--ram", "64"]));
  big.c8g.push(timeOnce([join(OUT, "kvm-loop"), guest("hello-real.bin"), "--ram", "8192"]));
}
const [o64, o8g, c64, c8g] = [big.ours64, big.ours8g, big.c64, big.c8g].map(median) as [number, number, number, number];
console.log("hello guest with -m 8G against -m 64M (median of 20):");
console.log(`  microvmm   ${o64.toFixed(1)} ms → ${o8g.toFixed(1)} ms: +${(o8g - o64).toFixed(1)} ms (target ≤ 1 ms)`);
console.log(`  C loop     ${c64.toFixed(1)} ms → ${c8g.toFixed(1)} ms: +${(c8g - c64).toFixed(1)} ms (KVM's own cost of the larger memory slots)`);
console.log(`  microvmm's own share: ${(o8g - o64 - (c8g - c64)).toFixed(1)} ms`);

// 3. Disk: 256 MiB read in 1 MiB requests, and written with a flush every 16 MiB.
const DISK = 256 << 20;
const MiB = 1 << 20;
const image = join(OUT, "disk256.img");
const pattern = new Uint8Array(DISK).map((_, i) => (i * 7) & 0xff); // real data, not a sparse file
writeFileSync(image, pattern);

function hostPass(write: boolean): number {
  const buf = new Uint8Array(MiB).fill(1);
  const fd = openSync(image, write ? "r+" : "r");
  const t0 = performance.now();
  for (let off = 0; off < DISK; off += MiB) {
    if (write) {
      writeSync(fd, buf, 0, MiB, off);
      if ((off + MiB) % (16 * MiB) === 0) fsyncSync(fd);
    } else {
      readSync(fd, buf, 0, MiB, off);
    }
  }
  const ms = performance.now() - t0;
  closeSync(fd);
  return ms;
}

// The same guests on a one-sector image: process start, VM setup and teardown, no transfer to
// speak of. Taking it away leaves the transfer itself, which is what the host side measures.
const empty = join(OUT, "one-sector.img");
writeFileSync(empty, new Uint8Array(512));
const diskRuns = { hostRead: [] as number[], vmRead: [] as number[], hostWrite: [] as number[], vmWrite: [] as number[], vmNone: [] as number[] };
hostPass(false); // the page cache holds the image for both sides
for (let i = 0; i < 5; i++) {
  diskRuns.hostRead.push(hostPass(false));
  diskRuns.vmRead.push(timeOnce([BIN, "-m", "64M", "--disk", `${image},ro`, guest("bench-disk-read.elf")]));
  diskRuns.vmNone.push(timeOnce([BIN, "-m", "64M", "--disk", `${empty},ro`, guest("bench-disk-read.elf")]));
  diskRuns.hostWrite.push(hostPass(true));
  diskRuns.vmWrite.push(timeOnce([BIN, "-m", "64M", "--disk", image, guest("bench-disk-write.elf")]));
}
const rate = (ms: number) => `${((DISK / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;
const [hr, vr, hw, vw, v0] = [diskRuns.hostRead, diskRuns.vmRead, diskRuns.hostWrite, diskRuns.vmWrite, diskRuns.vmNone].map(median) as [number, number, number, number, number];
console.log(`disk, 256 MiB in 1 MiB requests (median of 5; microvmm's transfer = its run − ${v0.toFixed(0)} ms for the same guest on a one-sector disk):`);
for (const [what, host, vm] of [["read ", hr, vr], ["write", hw, vw]] as const) {
  const transfer = vm - v0;
  console.log(`  ${what}  host ${host.toFixed(0)} ms (${rate(host)}); microvmm ${transfer.toFixed(0)} ms (${rate(transfer)}), ` +
    `${vm.toFixed(0)} ms whole process: ${(host / transfer).toFixed(2)}× host speed (${(host / vm).toFixed(2)}× counting startup)` +
    `${what === "read " ? "; target ≥ 0.5×" : "; fsync every 16 MiB"}`);
}

// 4. Scheduling: the seed's pair at 70/30 for 4 s at each quantum.
console.log("scheduling, two hypercall guests at 70/30 for 4 s:");
console.log("  quantum   switches   µs/switch   achieved      error");
for (const q of ["10ms", "100ms", "1s"]) {
  const p = Bun.spawn([BIN, "--stats=json", "--quantum", q, "--vm", `${guest("matrix-inc.elf")}:70`, "--vm", `${guest("matrix-dec.elf")}:30`],
    { stdout: "ignore", stderr: "pipe" });
  setTimeout(() => p.kill("SIGINT"), 4000);
  const err = await new Response(p.stderr).text();
  await p.exited;
  const s = JSON.parse(err.trim().split("\n").at(-1)!) as { switches: number; switchCostUs: number; vms: Array<{ achievedPercent: number }> };
  const a = s.vms[0]!.achievedPercent;
  console.log(`  ${q.padEnd(9)} ${String(s.switches).padStart(8)}   ${s.switchCostUs.toFixed(1).padStart(9)}   ${a.toFixed(2).padStart(6)}/${(100 - a).toFixed(2).padEnd(6)}  ${(a - 70).toFixed(2).padStart(5)} points`);
}

// 4b. A multiboot kernel's whole process on the PC board, beside the plain hello above.
const mbHello: number[] = [];
timeOnce([BIN, guest("test-multiboot1.elf")]);
for (let i = 0; i < 30; i++) mbHello.push(timeOnce([BIN, guest("test-multiboot1.elf")]));
console.log("multiboot kernel printing its boot information on the PC board, whole process (median of 30):");
console.log(`  microvmm        ${median(mbHello).toFixed(1)} ms (the plain hello guest: ${helloMs.toFixed(1)} ms)`);

// 5. Linux: boot time against QEMU microvm and idle CPU, where KVM is hardware-style.
const { hardwareKvm, NESTED_RUN } = await import("../test/helpers");
const { busyboxInitramfs, cloudKernel, cloudVmlinux, cpuJobInitramfs, INTERACTIVE_SHELL } = await import("../test/linux/fixtures");
if (hardwareKvm.how === "skip") {
  console.log(`linux: skipped — ${hardwareKvm.why}`);
} else {
  const args = [cloudKernel(), cloudVmlinux(), busyboxInitramfs("boot", "reboot -f"), busyboxInitramfs("shell", INTERACTIVE_SHELL)];
  // Nested, the vCPU threads stay on one CPU (see test/integration/hardware.test.ts).
  const cmd = [process.execPath, join(ROOT, "bench/linux.ts"), ...(hardwareKvm.how === "nested" ? ["--pin"] : []), ...args];
  const r = Bun.spawnSync(hardwareKvm.how === "nested" ? [NESTED_RUN, "--timeout", "900", "--", ...cmd] : cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString().split("\n").filter((l) => !l.startsWith("nested-kvm:")).join("\n"));
}

// 5b. Several vCPUs: an AP's exit round trip against the boot vCPU's; Linux boot by vCPU count vs QEMU; a CPU-bound job's speedup.
if (hardwareKvm.how !== "skip") {
  const cmd = [process.execPath, join(ROOT, "bench/smp.ts"), ...(hardwareKvm.how === "nested" ? ["--pin"] : []), cloudKernel(), busyboxInitramfs("boot", "reboot -f"), cpuJobInitramfs(20_000)];
  const r = Bun.spawnSync(hardwareKvm.how === "nested" ? [NESTED_RUN, "--timeout", "1800", "--", ...cmd] : cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString().split("\n").filter((l) => !l.startsWith("nested-kvm:")).join("\n"));
}

// 5c. virtio-blk: a 512 MiB sequential read in the guest against the host's dd and QEMU microvm's virtio-blk.
// Nested, each VMM's vCPU thread stays on one CPU (a moving one hung QEMU's boot there) and its
// I/O threads (microvmm's device thread, QEMU's main loop) are free: on one CPU the two only take turns.
if (hardwareKvm.how !== "skip") {
  const { virtioInitramfs } = await import("../test/linux/fixtures");
  // Busybox's dd does not say how long it took: the guest's clock around each read does. Three
  // reads in one boot: bench/virtio.ts gives the first and the last.
  const read = "t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=1M iflag=direct; t1=$(cut -d' ' -f1 /proc/uptime); echo \"read: $t0 $t1\"";
  const reader = virtioInitramfs("bench-virtio-read", [read, read, read, "poweroff -f"].join("\n"));
  const cmd = [process.execPath, join(ROOT, "bench/virtio.ts"), ...(hardwareKvm.how === "nested" ? ["--pin"] : []), cloudKernel(), reader];
  const r = Bun.spawnSync(hardwareKvm.how === "nested" ? [NESTED_RUN, "--timeout", "900", "--", ...cmd] : cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString().split("\n").filter((l) => !l.startsWith("nested-kvm:")).join("\n"));
}

// 5d. virtio-net: TCP and ping against QEMU microvm on the same TAP; boot to init with devices
// against without. Nested, each VMM's vCPU thread stays on one CPU (--pin), its other threads
// (microvmm's device thread, QEMU's main loop) may use the other.
if (hardwareKvm.how !== "skip") {
  const { busyboxBinary, netInitramfs, virtioInitramfs } = await import("../test/linux/fixtures");
  const size = 16 << 20;
  const cmd = [process.execPath, join(ROOT, "bench/virtio-net.ts"), ...(hardwareKvm.how === "nested" ? ["--pin"] : []), cloudKernel(),
    netInitramfs(size, 10, 20), virtioInitramfs("bench-boot-virtio", "reboot -f"), busyboxBinary(), String(size)];
  const r = Bun.spawnSync(hardwareKvm.how === "nested" ? [NESTED_RUN, "--timeout", "1600", "--", ...cmd] : cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString().split("\n").filter((l) => !l.startsWith("nested-kvm:")).join("\n"));
}

// 6. xv6: boot to its prompt against QEMU, where KVM is hardware-style, built from its sources.
const { buildXv6, xv6 } = await import("../test/pc/xv6");
if (hardwareKvm.how === "skip" || !xv6.available) {
  console.log(`xv6: skipped — ${hardwareKvm.how === "skip" ? hardwareKvm.why : xv6.why}`);
} else {
  const { kernel, fsImg } = buildXv6();
  const cmd = [process.execPath, join(ROOT, "bench/xv6.ts"), ...(hardwareKvm.how === "nested" ? ["--pin"] : []), kernel, fsImg];
  const r = Bun.spawnSync(hardwareKvm.how === "nested" ? [NESTED_RUN, "--timeout", "600", "--", ...cmd] : cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  process.stdout.write(r.stdout.toString().split("\n").filter((l) => !l.startsWith("nested-kvm:")).join("\n"));
}

// The debugger: its cost with no breakpoints, and single steps per second.
const { benchGdb } = await import("./gdb");
await benchGdb();
