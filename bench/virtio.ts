// virtio-blk, run where KVM is hardware-style (bench/run.ts starts it, nested if need be):
//   sequential read of a 512 MiB image in the guest (dd bs=1M iflag=direct from /dev/vda), under
//   microvmm and under QEMU microvm with virtio-blk on its virtio-mmio transport (same kernel,
//   initramfs, image, memory), against dd of the same file on this host. The guest may read the
//   disk more than once in one boot (bench/run.ts's initramfs: three times) and times each read
//   with its own clock ("read: T0 T1"); the host's time is its dd's; median of RUNS; ratios
//   against the host and against QEMU, for the first read and for the last. The two differ for
//   microvmm where the host CPU is emulated (the nested machine): its device thread is
//   JavaScript, which runs the slow way for the first seconds, until the JIT has compiled it;
//   where the CPU is not emulated, that is over far sooner.
// --pin: each VMM's vCPU thread on CPU 1, its other threads (microvmm's device thread, QEMU's main
// loop and I/O workers) free to go anywhere: in the nested machine a vCPU thread must not move
// (unpinned, QEMU's boot was seen to hang there, and so did this benchmark).
//   bun bench/virtio.ts [--pin] BZIMAGE INITRD
// INITRD: test/linux/fixtures.ts virtioInitramfs running the guest's reads and powering off.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CMDLINE } from "../src/machines/linux";
import { median, placeVmmThreads } from "./spawn";

const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [bzImage, initrd] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string];
const RUNS = 3;
const SIZE_MIB = 512;
/** A run that has not finished by then is stuck: it is killed, said so, and gives no figure. */
const RUN_LIMIT_MS = 180_000;

const dir = mkdtempSync(join(tmpdir(), "microvmm-bench-virtio-"));
const image = join(dir, "disk.img");
Bun.spawnSync(["dd", "if=/dev/zero", `of=${image}`, "bs=1M", `count=${SIZE_MIB}`], { stdout: "ignore", stderr: "ignore" });

/** The seconds each read took: the guest's "read: T0 T1" lines, or coreutils dd's "…copied, S s…". */
function ddSeconds(text: string): number[] {
  const guest = [...text.matchAll(/^read: ([0-9.]+) ([0-9.]+)\r?$/gm)].map((m) => Number(m[2]) - Number(m[1]));
  if (guest.length > 0) return guest;
  const m = /copied, ([0-9.]+) s/.exec(text);
  return m === null ? [] : [Number(m[1])];
}

/** Runs `cmd` to its end (or the limit): the seconds its first and last reads took, or undefined (said why). */
async function run(who: string, cmd: string[]): Promise<{ first: number; last: number } | undefined> {
  const p = Bun.spawn([...pin, ...cmd], { stdout: "pipe", stderr: "pipe" });
  if (pin.length > 0 && who !== "host") placeVmmThreads(p, cmd);
  let killed = false;
  const limit = setTimeout(() => { killed = true; p.kill("SIGKILL"); }, RUN_LIMIT_MS);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(limit);
  const s = ddSeconds(out + err);
  if (s.length === 0) {
    console.log(`  ${who}: ${killed ? `no result in ${RUN_LIMIT_MS / 1000} s (killed)` : `no result (status ${await p.exited})`}; ` +
      `its output ended ${JSON.stringify((out + err).slice(-300))}`);
    return undefined;
  }
  return { first: s[0]!, last: s.at(-1)! };
}

const host = () => run("host", ["dd", `if=${image}`, "of=/dev/null", "bs=1M"]);
const microvmm = () => run("microvmm", ["./dist/microvmm", "-m", "256M", "--kernel", bzImage, "--initrd", initrd, "--disk", `${image},ro`]);
const qemu = () => run("QEMU", ["qemu-system-x86_64", "-name", "microvm,debug-threads=on", "-M", "microvm", "-enable-kvm", "-cpu", "host", "-m", "256M", "-nodefaults", "-no-user-config",
  "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", bzImage, "-initrd", initrd, "-append", DEFAULT_CMDLINE,
  "-drive", `id=d0,file=${image},format=raw,if=none,readonly=on`, "-device", "virtio-blk-device,drive=d0"]);

const times = { host: [] as number[], microvmm: { first: [] as number[], last: [] as number[] }, qemu: { first: [] as number[], last: [] as number[] } };
for (let i = 0; i < RUNS; i++) {
  const line: string[] = [];
  for (const [who, f] of [["host", host], ["microvmm", microvmm], ["qemu", qemu]] as const) {
    const s = await f();
    if (s !== undefined && who === "host") times.host.push(s.first);
    else if (s !== undefined && who !== "host") { times[who].first.push(s.first); times[who].last.push(s.last); }
    line.push(`${who} ${s === undefined ? "-" : who === "host" ? `${s.first.toFixed(2)} s` : `${s.first.toFixed(2)} s first, ${s.last.toFixed(2)} s last`}`);
  }
  console.log(`  run ${i + 1}: ${line.join(", ")}`);
}
rmSync(dir, { recursive: true, force: true });
const mbps = (s: number[]) => (s.length === 0 ? undefined : (SIZE_MIB * 1.048576) / median(s));
const fig = (v: number | undefined) => (v === undefined ? "no figure" : `${v.toFixed(0)} MB/s`);
const h = mbps(times.host);
console.log(`virtio-blk sequential read, ${SIZE_MIB} MiB, dd bs=1M (guest: iflag=direct; its first and last read in one boot), median of ${RUNS}` +
  `${pin.length > 0 ? ", vCPU threads on one host CPU" : ""}: host dd ${fig(h)}`);
for (const pass of ["first", "last"] as const) {
  const [o, q] = [mbps(times.microvmm[pass]), mbps(times.qemu[pass])];
  console.log(`  ${pass} read: microvmm ${fig(o)}${o !== undefined && h !== undefined ? ` (${(o / h).toFixed(2)}× host, goal ≥ 0.8×)` : ""}; ` +
    `QEMU microvm ${fig(q)}${o !== undefined && q !== undefined ? ` (microvmm ${(o / q).toFixed(2)}× QEMU, goal ≥ 1.0×)` : ""}`);
}
