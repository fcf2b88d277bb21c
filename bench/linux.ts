// Linux boot benchmark, run where KVM is hardware-style (bench/run.ts starts it, nested if need
// be): time from process start to the init marker, microvmm beside `qemu-system-x86_64 -M microvm`
// with the same kernel, initrd, command line and memory; bzImage and PVH. Then the host CPU an
// idle booted guest uses over 5 s.
//   bun bench/linux.ts [--pin] BZIMAGE VMLINUX BOOT_INITRD SHELL_INITRD
import { readFileSync } from "node:fs";
import { DEFAULT_CMDLINE } from "../src/machines/linux";
import { ended, median, startUntil } from "./spawn";

//   --pin: both VMMs on CPU 1 (taskset), where a vCPU thread that moves between CPUs is unreliable.
const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [bzImage, vmlinux, bootInitrd, shellInitrd] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string, string, string];
const MARKER = "MICROVMM-INIT-OK";

/** Milliseconds from spawn to the init marker, or undefined if it never came. */
async function timeToMarker(cmd: string[]): Promise<number | undefined> {
  const { p, reached, ms } = await startUntil(cmd, MARKER);
  p.kill("SIGKILL");
  await ended(p);
  return reached ? ms : undefined;
}

const microvmm = (kernel: string, initrd: string) => [...pin, "./dist/microvmm", "-m", "256M", "--kernel", kernel, "--initrd", initrd];
const qemu = (kernel: string, initrd: string) => [...pin, "qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host", "-m", "256M", "-nodefaults",
  "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", kernel, "-initrd", initrd, "-append", DEFAULT_CMDLINE];
// Whatever happens, what was measured gets printed.
setTimeout(() => { console.log("gave up after 10 minutes"); process.exit(1); }, 600_000).unref();
const RUNS = 3;

console.log(`Linux boot to init (median of ${RUNS}, alternating; same kernel, initrd, command line, 256 MiB):`);
for (const [what, kernel] of [["bzImage", bzImage], ["PVH", vmlinux]] as const) {
  const times = { microvmm: [] as number[], qemu: [] as number[] };
  const failed = { microvmm: 0, qemu: 0 };
  for (let i = 0; i < RUNS; i++) {
    for (const [who, cmd] of [["microvmm", microvmm], ["qemu", qemu]] as const) {
      const ms = await timeToMarker(cmd(kernel, bootInitrd));
      if (ms === undefined) failed[who]++;
      else times[who].push(ms);
    }
  }
  const fails = failed.microvmm + failed.qemu > 0 ? ` (never reached init: microvmm ${failed.microvmm}, QEMU ${failed.qemu} of ${RUNS})` : "";
  if (times.microvmm.length === 0 || times.qemu.length === 0) { console.log(`  ${what.padEnd(8)} no comparison${fails}`); continue; }
  const o = median(times.microvmm);
  const q = median(times.qemu);
  console.log(`  ${what.padEnd(8)} microvmm ${o.toFixed(0)} ms, QEMU microvm ${q.toFixed(0)} ms: ${(o / q).toFixed(2)}× QEMU (target ≤ 0.8×)${fails}`);
}

/**
 * Boots to the shell, waits a second, then the CPU time the process uses in 5 s of wall time,
 * as percentages: all of it, and the part spent running guest code (the guest's own timer ticks).
 */
async function idleCpu(cmd: string[]): Promise<{ total: number; guest: number } | undefined> {
  const { p, reached } = await startUntil(cmd, "# ");
  if (!reached) { p.kill("SIGKILL"); await ended(p); return undefined; }
  // /proc/PID/stat: utime + stime of every thread, and guest_time (inside utime), at 100 ticks/s.
  const cpu = () => {
    const f = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return { total: (Number(f[11]) + Number(f[12])) * 10, guest: Number(f[40]) * 10 };
  };
  await Bun.sleep(1000);
  const c0 = cpu();
  const t0 = performance.now();
  await Bun.sleep(5000);
  const c1 = cpu();
  const wall = performance.now() - t0;
  p.kill("SIGKILL");
  await ended(p);
  return { total: (100 * (c1.total - c0.total)) / wall, guest: (100 * (c1.guest - c0.guest)) / wall };
}

const ours = await idleCpu(microvmm(bzImage, shellInitrd));
const theirs = await idleCpu(qemu(bzImage, shellInitrd));
const pct = (x: { total: number; guest: number } | undefined) =>
  (x === undefined ? "no prompt" : `${x.total.toFixed(2)}% (guest code ${x.guest.toFixed(2)}%, the rest ${(x.total - x.guest).toFixed(2)}%)`);
console.log("idle guest at its shell, host CPU over 5 s (target ≈ 0):");
console.log(`  microvmm     ${pct(ours)}`);
console.log(`  QEMU microvm ${pct(theirs)}`);
process.exit(0);
