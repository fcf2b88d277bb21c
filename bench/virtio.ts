// virtio-blk, run where KVM is hardware-style (bench/run.ts starts it, nested if need be):
//   sequential read of a 512 MiB image in the guest (dd bs=1M iflag=direct from /dev/vda), under
//   microvmm and under QEMU microvm with virtio-blk on its virtio-mmio transport (same kernel,
//   initramfs, image, memory), against dd of the same file on this host. The guest's time is its
//   own clock around its dd ("read: T0 T1"), the host's the dd's; median of RUNS; ratios against
//   the host and against QEMU.
//   bun bench/virtio.ts [--pin] BZIMAGE INITRD
// INITRD: test/linux/fixtures.ts virtioInitramfs running the guest's dd and powering off.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CMDLINE } from "../src/machines/linux";
import { median } from "./spawn";

const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [bzImage, initrd] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string];
const RUNS = 3;
const SIZE_MIB = 512;
setTimeout(() => { console.log("gave up after 14 minutes"); process.exit(1); }, 840_000).unref();

const dir = mkdtempSync(join(tmpdir(), "microvmm-bench-virtio-"));
const image = join(dir, "disk.img");
Bun.spawnSync(["dd", "if=/dev/zero", `of=${image}`, "bs=1M", `count=${SIZE_MIB}`], { stdout: "ignore", stderr: "ignore" });

/** The seconds a read took: the guest's "read: T0 T1" line, or coreutils dd's "…copied, S s…". */
function ddSeconds(text: string): number | undefined {
  const guest = /^read: ([0-9.]+) ([0-9.]+)\r?$/m.exec(text);
  if (guest !== null) return Number(guest[2]) - Number(guest[1]);
  const m = /copied, ([0-9.]+) s/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

function run(cmd: string[]): number | undefined {
  const r = Bun.spawnSync([...pin, ...cmd], { stdout: "pipe", stderr: "pipe" });
  return ddSeconds(r.stdout.toString() + r.stderr.toString());
}

const host = () => run(["dd", `if=${image}`, "of=/dev/null", "bs=1M"]);
const microvmm = () => run(["./dist/microvmm", "-m", "256M", "--kernel", bzImage, "--initrd", initrd, "--disk", `${image},ro`]);
const qemu = () => run(["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host", "-m", "256M", "-nodefaults", "-no-user-config",
  "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", bzImage, "-initrd", initrd, "-append", DEFAULT_CMDLINE,
  "-drive", `id=d0,file=${image},format=raw,if=none,readonly=on`, "-device", "virtio-blk-device,drive=d0"]);

const times = { host: [] as number[], microvmm: [] as number[], qemu: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  for (const [who, f] of [["host", host], ["microvmm", microvmm], ["qemu", qemu]] as const) {
    const s = f();
    if (s !== undefined) times[who].push(s);
  }
}
rmSync(dir, { recursive: true, force: true });
const mbps = (s: number[]) => (s.length === 0 ? undefined : (SIZE_MIB * 1.048576) / median(s));
const [h, o, q] = [mbps(times.host), mbps(times.microvmm), mbps(times.qemu)];
const fig = (v: number | undefined) => (v === undefined ? "no figure" : `${v.toFixed(0)} MB/s`);
console.log(`virtio-blk sequential read, ${SIZE_MIB} MiB, dd bs=1M (guest: iflag=direct), median of ${RUNS}${pin.length > 0 ? ", every thread on one host CPU" : ""}:`);
console.log(`  host dd ${fig(h)}; microvmm ${fig(o)}${o !== undefined && h !== undefined ? ` (${(o / h).toFixed(2)}× host)` : ""}; ` +
  `QEMU microvm ${fig(q)}${o !== undefined && q !== undefined ? ` (microvmm ${(o / q).toFixed(2)}× QEMU)` : ""}`);
