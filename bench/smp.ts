// Several vCPUs, run where KVM is hardware-style (bench/run.ts starts it, nested if need be):
//   exit round trip on an AP   guest/test-smp.S with 20 000 port reads made by an AP (whose exits
//                              the main thread serves, bench's point) against the same reads made by
//                              the boot vCPU; each less the same kernel making none; with the
//                              threads free to move, and with --pin all on one CPU too
//   Linux boot to init         --cpus 1, 2 and 4 against qemu-system-x86_64 -M microvm -smp N,
//                              same kernel, initrd, command line and memory
//   CPU-bound job speedup     a shell loop in one process, then one per vCPU at once, timed by the
//                              guest (test/linux/fixtures.ts cpuJobInitramfs), with 2 and 4 vCPUs;
//                              QEMU microvm with as many beside it. Here the vCPU threads are never
//                              pinned: pinned to one CPU they could not run at once
//   bun bench/smp.ts [--pin] BZIMAGE BOOT_INITRD JOB_INITRD
import { DEFAULT_CMDLINE } from "../src/machines/linux";
import { jobSpeedup } from "../test/linux/fixtures";
import { ended, median, startUntil } from "./spawn";

//   --pin: every thread on CPU 1 (taskset), where a vCPU thread that moves between CPUs is unreliable.
const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [bzImage, bootInitrd, jobInitrd] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string, string];
const ROUNDS = 20_000;
const RUNS = 3;
setTimeout(() => { console.log("gave up after 28 minutes"); process.exit(1); }, 1_680_000).unref();

function timeOnce(cmd: string[], taskset: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync([...taskset, ...cmd], { stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

// The boot vCPU waits halted (sti; hlt) while the AP works, so its thread sleeps in KVM_RUN.
const kernel = (variant: string, cpus: number) => ["./dist/microvmm", "--console", "serial", "--cpus", String(cpus), `guest/build/test-smp${variant}.elf`];
/** Per-exit cost of ROUNDS port reads made by the boot vCPU and by an AP, each less the same kernel making none. */
function roundTrip(taskset: string[], what: string): void {
  const runs = { none: [] as number[], boot: [] as number[], ap: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    runs.none.push(timeOnce(kernel("", 1), taskset));
    runs.boot.push(timeOnce(kernel("-bench-boot", 1), taskset));
    runs.ap.push(timeOnce(kernel("-bench", 2), taskset));
  }
  const none = median(runs.none);
  const perExit = (ms: number) => ((ms - none) * 1000) / ROUNDS;
  const boot = perExit(median(runs.boot));
  const ap = perExit(median(runs.ap));
  console.log(`exit round trip, ${ROUNDS} port reads, ${what} (median of ${RUNS}, whole process less the same kernel making none, ${none.toFixed(0)} ms):`);
  console.log(`  boot vCPU  ${boot.toFixed(1)} µs/exit`);
  console.log(`  AP         ${ap.toFixed(1)} µs/exit: ${(ap / boot).toFixed(2)}× the boot vCPU's`);
}
roundTrip([], "threads free to move");
if (pin.length > 0) roundTrip(pin, "every thread on one host CPU");

const microvmm = (cpus: number, initrd = bootInitrd, taskset = pin) =>
  [...taskset, "./dist/microvmm", "-m", "256M", "--cpus", String(cpus), "--kernel", bzImage, "--initrd", initrd];
const qemu = (cpus: number, initrd = bootInitrd, taskset = pin) => [...taskset, "qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host",
  "-smp", String(cpus), "-m", "256M", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
  "-kernel", bzImage, "-initrd", initrd, "-append", DEFAULT_CMDLINE];

async function timeToInit(cmd: string[]): Promise<number | undefined> {
  const { p, reached, ms } = await startUntil(cmd, "MICROVMM-INIT-OK");
  p.kill("SIGKILL");
  await ended(p);
  return reached ? ms : undefined;
}

console.log(`Linux boot to init by vCPUs (bzImage, median of ${RUNS}, alternating; 256 MiB${pin.length > 0 ? "; every vCPU on one host CPU" : ""}):`);
for (const cpus of [1, 2, 4]) {
  const times = { microvmm: [] as number[], qemu: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    for (const [who, cmd] of [["microvmm", microvmm], ["qemu", qemu]] as const) {
      const ms = await timeToInit(cmd(cpus));
      if (ms !== undefined) times[who].push(ms);
    }
  }
  const missed = 2 * RUNS - times.microvmm.length - times.qemu.length;
  const note = missed > 0 ? ` (${RUNS - times.microvmm.length} microvmm and ${RUNS - times.qemu.length} QEMU boots never reached init)` : "";
  if (times.microvmm.length === 0 || times.qemu.length === 0) { console.log(`  ${cpus} vCPU  no comparison${note}`); continue; }
  const o = median(times.microvmm);
  const q = median(times.qemu);
  console.log(`  ${cpus} vCPU${cpus > 1 ? "s" : " "} microvmm ${o.toFixed(0)} ms, QEMU microvm ${q.toFixed(0)} ms: ${(o / q).toFixed(2)}× QEMU${note}`);
}

/** The guest's "job:" line of one boot (killed after 90 s), or undefined. */
function jobLine(cmd: string[]): string | undefined {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", timeout: 90_000 });
  return r.stdout.toString().split(/\r?\n/).find((l) => l.startsWith("job: "));
}

console.log(`CPU-bound job, one process against one per vCPU at once (guest-timed, median of ${RUNS}; vCPU threads free to move${pin.length > 0 ? ", which on this host loses a boot now and then" : ""}):`);
for (const cpus of [2, 4]) {
  const speedups = { microvmm: [] as number[], qemu: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    for (const [who, cmd] of [["microvmm", microvmm], ["qemu", qemu]] as const) {
      const m = jobSpeedup(jobLine(cmd(cpus, jobInitrd, [])) ?? "");
      if (m !== undefined) speedups[who].push(m.speedup);
    }
  }
  const fig = (xs: number[]) => xs.length === 0 ? "no run finished" : `${median(xs).toFixed(2)}× one process${xs.length < RUNS ? ` (${RUNS - xs.length} of ${RUNS} runs lost)` : ""}`;
  console.log(`  ${cpus} vCPUs  microvmm ${fig(speedups.microvmm)}; QEMU microvm ${fig(speedups.qemu)}`);
}
process.exit(0);
