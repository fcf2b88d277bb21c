// Linux boot benchmark, run where KVM is hardware-style (bench/run.ts starts it, nested if need
// be): time from process start to the init marker, microvmm beside `qemu-system-x86_64 -M microvm`
// with the same kernel, initrd, command line and memory; bzImage and PVH. Then the host CPU an
// idle booted guest uses over 5 s.
//   bun bench/linux.ts BZIMAGE VMLINUX BOOT_INITRD SHELL_INITRD
import { readFileSync } from "node:fs";
import { DEFAULT_CMDLINE } from "../src/linux-machine";

const [bzImage, vmlinux, bootInitrd, shellInitrd] = process.argv.slice(2) as [string, string, string, string];
const MARKER = "MICROVMM-INIT-OK";

async function timeToMarker(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  const reader = p.stdout.getReader();
  let out = "";
  const deadline = setTimeout(() => p.kill("SIGKILL"), 120_000);
  while (!out.includes(MARKER)) {
    const r = await reader.read();
    if (r.done) break;
    out += new TextDecoder().decode(r.value);
  }
  const ms = performance.now() - t0;
  clearTimeout(deadline);
  p.kill("SIGKILL");
  await p.exited;
  if (!out.includes(MARKER)) throw new Error(`${cmd[0]} never reached init:\n${out.slice(-400)}`);
  return ms;
}

const microvmm = (kernel: string) => ["./dist/microvmm", "-m", "256M", "--kernel", kernel, "--initrd", bootInitrd];
const qemu = (kernel: string) => ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host", "-m", "256M", "-nodefaults",
  "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", kernel, "-initrd", bootInitrd, "-append", DEFAULT_CMDLINE];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log("Linux boot to init (median of 3, same kernel, initrd, command line, 256 MiB):");
for (const [what, kernel] of [["bzImage", bzImage], ["PVH", vmlinux]] as const) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < 3; i++) {
    ours.push(await timeToMarker(microvmm(kernel)));
    try { theirs.push(await timeToMarker(qemu(kernel))); } catch (e) { console.log(`  qemu ${what}: ${(e as Error).message.split("\n")[0]}`); break; }
  }
  const o = median(ours);
  if (theirs.length === 0) { console.log(`  ${what.padEnd(8)} microvmm ${o.toFixed(0)} ms; QEMU microvm did not boot it`); continue; }
  const q = median(theirs);
  console.log(`  ${what.padEnd(8)} microvmm ${o.toFixed(0)} ms, QEMU microvm ${q.toFixed(0)} ms: ${(o / q).toFixed(2)}× QEMU (target ≤ 0.8×)`);
}

// Idle: boot to the shell, then count the CPU time the process uses while the guest waits.
const p = Bun.spawn(microvmm(bzImage).map((a) => (a === bootInitrd ? shellInitrd : a)), { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
const reader = p.stdout.getReader();
let out = "";
while (!out.includes("# ")) {
  const r = await reader.read();
  if (r.done) break;
  out += new TextDecoder().decode(r.value);
}
const cpu = () => {
  const f = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in ms at 100 ticks/s
};
await Bun.sleep(1000);
const c0 = cpu();
const t0 = performance.now();
await Bun.sleep(5000);
const used = cpu() - c0;
const wall = performance.now() - t0;
p.kill("SIGKILL");
console.log(`idle guest at its shell: microvmm used ${used} ms of CPU in ${(wall / 1000).toFixed(1)} s (${((100 * used) / wall).toFixed(2)}%)`);
process.exit(0);
