// xv6 boot benchmark, run where KVM is hardware-style (bench/run.ts starts it, nested if need be):
// time from process start to xv6's first `$ ` prompt on the serial console, microvmm beside
// `qemu-system-i386 -enable-kvm -kernel` with the same kernel, 512 MiB and fs.img as the IDE slave.
// QEMU runs its BIOS (SeaBIOS) first; microvmm has none to run. To show that share apart from
// xv6's own work, both also start guest/mb-hello.elf, a multiboot kernel that only prints "hello"
// on COM1: its time is what each VMM costs before a kernel's first instruction.
//   bun bench/xv6.ts [--pin] KERNEL FS_IMG
import { copyFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ended, median, startUntil } from "./spawn";

const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [kernel, fsImg] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string];
const RUNS = 5;
const image = "/tmp/microvmm-bench-xv6-fs.img";
const hello = join(resolve(import.meta.dir, ".."), "guest/build/mb-hello.elf");

/** Milliseconds from spawn to `text` on the VMM's output (each run from a fresh copy of the image), or undefined. */
async function timeTo(cmd: string[], text: string): Promise<number | undefined> {
  copyFileSync(fsImg, image);
  const { p, reached, ms } = await startUntil(cmd, text);
  p.kill("SIGKILL");
  await ended(p);
  return reached ? ms : undefined;
}

const microvmm = (k: string, disk: string[]) => [...pin, "./dist/microvmm", "-m", "512M", "--console", "serial", ...disk, k];
// QEMU's default PC (xv6 needs its VGA: it reads the cursor from the CRT), without a network card
// (whose boot ROM would only add time); -nographic puts COM1 on stdio.
const qemu = (k: string, disk: string[]) => [...pin, "qemu-system-i386", "-enable-kvm", "-m", "512", "-nic", "none", "-no-user-config",
  "-nographic", "-no-reboot", "-kernel", k, ...disk];
const cases = [
  { what: "xv6", text: "$ ", microvmm: microvmm(kernel, ["--disk", `${image},index=1`]),
    qemu: qemu(kernel, ["-drive", `file=${image},index=1,media=disk,format=raw`]) },
  { what: "hello", text: "hello", microvmm: microvmm(hello, []), qemu: qemu(hello, []) },
] as const;
const times = { xv6: { microvmm: [] as number[], qemu: [] as number[] }, hello: { microvmm: [] as number[], qemu: [] as number[] } };
for (let i = 0; i < RUNS; i++) {
  for (const c of cases) {
    for (const vmm of ["microvmm", "qemu"] as const) {
      const ms = await timeTo(c[vmm], c.text);
      if (ms === undefined) { console.log(`xv6 bench: ${vmm} never printed ${JSON.stringify(c.text)} (${c.what})`); process.exit(1); }
      times[c.what][vmm].push(ms);
    }
  }
}
const [m, q] = [median(times.xv6.microvmm), median(times.xv6.qemu)];
const [mh, qh] = [median(times.hello.microvmm), median(times.hello.qemu)];
console.log(`xv6 boot to the shell's prompt (median of ${RUNS}, alternating; same kernel, 512 MiB, fs.img on IDE index 1):`);
console.log(`  microvmm  ${m.toFixed(0)} ms`);
console.log(`  QEMU      ${q.toFixed(0)} ms (qemu-system-i386 -enable-kvm -kernel, SeaBIOS first)`);
console.log(`  ratio     ${(m / q).toFixed(2)}× QEMU (target ≤ 0.5×)`);
console.log(`  before the kernel: a multiboot kernel to its "hello" on COM1: microvmm ${mh.toFixed(0)} ms, QEMU ${qh.toFixed(0)} ms ` +
  `(${(mh / qh).toFixed(2)}×)`);
console.log(`  xv6's own part (to the prompt less that): microvmm ${(m - mh).toFixed(0)} ms, QEMU ${(q - qh).toFixed(0)} ms ` +
  `(${((m - mh) / (q - qh)).toFixed(2)}×)`);
process.exit(0);
