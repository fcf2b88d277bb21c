// xv6 boot benchmark, run where KVM is hardware-style (bench/run.ts starts it, nested if need be):
// time from process start to xv6's first `$ ` prompt on the serial console, microvmm beside
// `qemu-system-i386 -enable-kvm -kernel` with the same kernel, 512 MiB and fs.img as the IDE slave.
// QEMU runs its BIOS (SeaBIOS) first; microvmm has none to run.
//   bun bench/xv6.ts [--pin] KERNEL FS_IMG
import { copyFileSync } from "node:fs";
import { ended, median, startUntil } from "./spawn";

const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [kernel, fsImg] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string];
const RUNS = 3;
const image = "/tmp/microvmm-bench-xv6-fs.img";

/** Milliseconds from spawn to the first "$ " (each boot from a fresh copy of the image), or undefined. */
async function timeToPrompt(cmd: string[]): Promise<number | undefined> {
  copyFileSync(fsImg, image);
  const { p, reached, ms } = await startUntil(cmd, "$ ");
  p.kill("SIGKILL");
  await ended(p);
  return reached ? ms : undefined;
}

const microvmm = [...pin, "./dist/microvmm", "-m", "512M", "--console", "serial", "--disk", `${image},index=1`, kernel];
// QEMU's default PC (xv6 needs its VGA: it reads the cursor from the CRT), without a network card
// (whose boot ROM would only add time); -nographic puts COM1 on stdio.
const qemu = [...pin, "qemu-system-i386", "-enable-kvm", "-m", "512", "-nic", "none", "-no-user-config", "-nographic",
  "-no-reboot", "-kernel", kernel, "-drive", `file=${image},index=1,media=disk,format=raw`];
const times = { microvmm: [] as number[], qemu: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  for (const [name, cmd] of [["microvmm", microvmm], ["qemu", qemu]] as const) {
    const ms = await timeToPrompt(cmd);
    if (ms === undefined) { console.log(`xv6: ${name} never reached the prompt`); process.exit(1); }
    times[name].push(ms);
  }
}
const m = median(times.microvmm);
const q = median(times.qemu);
console.log(`xv6 boot to the shell's prompt (median of ${RUNS}, alternating; same kernel, 512 MiB, fs.img on IDE index 1):`);
console.log(`  microvmm  ${m.toFixed(0)} ms`);
console.log(`  QEMU      ${q.toFixed(0)} ms (qemu-system-i386 -enable-kvm -kernel, SeaBIOS first)`);
console.log(`  ratio     ${(m / q).toFixed(2)}× QEMU (target ≤ 0.5×)`);
process.exit(0);
