// virtio-net and boot with devices, run as root where KVM is hardware-style (bench/run.ts starts
// it, nested if need be), inside a network namespace made here with one TAP device at 10.0.2.1:
//   - the guest (test/linux/fixtures.ts netInitramfs) pings the host 10 times, sends SIZE bytes
//     to the host over TCP (busybox nc), then fetches SIZE; its own clock times each transfer.
//     Then 20 pings more: the round trip once the device code has run for a while. microvmm's
//     device thread runs JavaScript, which the JIT compiles as it gets hot; where the host CPU is
//     emulated (the nested machine) that takes seconds, and the first pings wait for it.
//     Under microvmm (--net tap=) and QEMU microvm (virtio-net-device on a tap netdev, no vhost),
//     the same kernel, initramfs, memory and TAP; ratios against QEMU.
//   - boot to init (the init marker comes after the virtio modules are loaded and have probed
//     their devices) with a virtio disk and the network card, against the same boot without them.
// --pin: each VMM's vCPU thread on CPU 1 (taskset; in the nested machine a vCPU thread must not
// move), its other threads (microvmm's device thread, QEMU's main loop) let onto every CPU.
//   bun bench/virtio-net.ts [--pin] BZIMAGE NET_INITRD BOOT_INITRD BUSYBOX SIZE
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CMDLINE } from "../src/machines/linux";
import { ended, median, placeVmmThreads, startUntil } from "./spawn";

const pin = process.argv.includes("--pin") ? ["taskset", "-c", "1"] : [];
const [bzImage, netInitrd, bootInitrd, busybox, sizeText] = process.argv.slice(2).filter((a) => a !== "--pin") as [string, string, string, string, string];
const SIZE = Number(sizeText);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NS = `microvmm-bench-${process.pid}`;
const MAC = "52:54:00:00:00:02";
setTimeout(() => { console.log("gave up after 25 minutes"); cleanUp(); process.exit(1); }, 1_500_000).unref();

const sh = (cmd: string[]) => Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
const inNs = (cmd: string[]) => ["ip", "netns", "exec", NS, ...pin, ...cmd];
const dir = mkdtempSync(join(tmpdir(), "microvmm-bench-net-"));
function cleanUp(): void {
  sh(["ip", "netns", "del", NS]);
  rmSync(dir, { recursive: true, force: true });
}

if (sh(["ip", "netns", "add", NS]).exitCode !== 0) {
  console.log("virtio-net: no figures — making a network namespace needs root");
  process.exit(0);
}
for (const c of [["ip", "link", "set", "lo", "up"], ["ip", "tuntap", "add", "tap0", "mode", "tap"], ["ip", "addr", "add", "10.0.2.1/24", "dev", "tap0"], ["ip", "link", "set", "tap0", "up"]]) {
  sh(["ip", "netns", "exec", NS, ...c]);
}
const toGuest = join(dir, "to-guest");
sh(["sh", "-c", `head -c ${SIZE} /dev/urandom > ${toGuest}`]);
const image = join(dir, "disk.img");
sh(["dd", "if=/dev/zero", `of=${image}`, "bs=1M", "count=64"]);

const microvmm = (initrd: string, devices: boolean) => inNs(["./dist/microvmm", "-m", "512M", "--kernel", bzImage, "--initrd", initrd,
  ...(devices ? ["--net", `tap=tap0,mac=${MAC}`, "--disk", image] : [])]);
const qemu = (initrd: string) => inNs(["qemu-system-x86_64", "-name", "microvm,debug-threads=on", "-M", "microvm", "-enable-kvm", "-cpu", "host", "-m", "512M", "-nodefaults",
  "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot", "-kernel", bzImage, "-initrd", initrd, "-append", DEFAULT_CMDLINE,
  "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off", "-device", `virtio-net-device,netdev=n0,mac=${MAC}`]);

/** rttAfter: the pings after the transfers, where the initramfs makes them (netInitramfs's pingsAfter). */
interface NetRun { up: number; down: number; rtt: number[]; rttAfter?: number[] }

/** With --pin: the VMM's threads but its vCPU's onto every CPU (bench/spawn.ts). */
function place(p: { pid: number }, cmd: string[]): void {
  if (pin.length > 0) placeVmmThreads(p, cmd);
}

/** One guest session: the host's two listeners, the VMM, and what the guest printed. */
async function session(cmd: string[]): Promise<NetRun | undefined> {
  // The receiving end's stdin never ends (tail -f): nc would close the connection at its EOF.
  const sink = Bun.spawn(inNs(["sh", "-c", `tail -f /dev/null | ${busybox} nc -l -p 5001 > /dev/null`]), { stdout: "ignore", stderr: "ignore" });
  const source = Bun.spawn(inNs(["sh", "-c", `${busybox} nc -l -p 5002 < ${toGuest}`]), { stdout: "ignore", stderr: "ignore" });
  Bun.sleepSync(300); // the listeners are up long before the guest's kernel is
  const vmm = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  place(vmm, cmd);
  const kill = setTimeout(() => vmm.kill("SIGKILL"), 600_000);
  const out = await new Response(vmm.stdout).text();
  await vmm.exited;
  clearTimeout(kill);
  for (const p of [sink, source]) p.kill("SIGKILL");
  sh(["ip", "netns", "exec", NS, "pkill", "-f", "nc -l -p 500"]);
  const t = /^guest: times ([0-9.]+) ([0-9.]+) ([0-9.]+)\r?$/m.exec(out);
  const rtt = /^ping: round-trip min\/avg\/max = ([0-9.]+)\/([0-9.]+)\/([0-9.]+) ms/m.exec(out);
  const after = /^ping after: round-trip min\/avg\/max = ([0-9.]+)\/([0-9.]+)\/([0-9.]+) ms/m.exec(out);
  const got = /^guest: got \S+ \((\d+) bytes\)/m.exec(out);
  if (t === null || rtt === null || got === null || Number(got[1]) !== SIZE) return undefined;
  const times = (m: RegExpExecArray) => [m[1], m[2], m[3]].map(Number);
  return { up: Number(t[2]) - Number(t[1]), down: Number(t[3]) - Number(t[2]), rtt: times(rtt), rttAfter: after === null ? undefined : times(after) };
}

const runs = { microvmm: [] as NetRun[], qemu: [] as NetRun[] };
for (let i = 0; i < RUNS; i++) {
  for (const [who, cmd] of [["microvmm", microvmm(netInitrd, true)], ["qemu", qemu(netInitrd)]] as const) {
    const r = await session(cmd);
    console.log(`  run ${i + 1} ${who}: ${r === undefined ? "no figure" : `guest→host ${r.up.toFixed(2)} s, host→guest ${r.down.toFixed(2)} s, ping avg ${r.rtt[1]} ms${r.rttAfter ? `, after ${r.rttAfter[1]} ms` : ""}`}`);
    if (r !== undefined) runs[who].push(r);
  }
}
const mbps = (rs: NetRun[], way: "up" | "down") => (rs.length === 0 ? undefined : SIZE / 1e6 / median(rs.map((r) => r[way])));
const fig = (v: number | undefined) => (v === undefined ? "no figure" : `${v.toFixed(2)} MB/s`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? "" : ` (microvmm ${(a / b).toFixed(2)}× QEMU)`);
const rtt = (rs: NetRun[], which: "rtt" | "rttAfter") => {
  const series = rs.flatMap((r) => (r[which] === undefined ? [] : [r[which]]));
  return series.length === 0 ? "no figure" : [0, 1, 2].map((k) => median(series.map((s) => s[k]!)).toFixed(2)).join(" / ") + " ms";
};
console.log(`virtio-net over one TAP, ${SIZE >> 20} MiB each way by busybox nc, guest clock, median of ${RUNS}${pin.length > 0 ? ", vCPU threads on one host CPU" : ""}:`);
for (const way of ["up", "down"] as const) {
  const [o, q] = [mbps(runs.microvmm, way), mbps(runs.qemu, way)];
  console.log(`  ${way === "up" ? "guest→host" : "host→guest"}: microvmm ${fig(o)}, QEMU microvm ${fig(q)}${ratio(o, q)} (goal ≥ 1.0×)`);
}
console.log(`  ping RTT min/avg/max of 10 before: microvmm ${rtt(runs.microvmm, "rtt")}, QEMU microvm ${rtt(runs.qemu, "rtt")}`);
console.log(`  ping RTT min/avg/max of 20 after the transfers: microvmm ${rtt(runs.microvmm, "rttAfter")}, QEMU microvm ${rtt(runs.qemu, "rttAfter")}`);

// Boot to init with a disk and the network card against the same boot without them.
const boot = { with: [] as number[], without: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  for (const devices of [false, true]) {
    const cmd = microvmm(bootInitrd, devices);
    const { p, reached, ms } = await startUntil(cmd, "MICROVMM-INIT-OK", (child) => place(child, cmd));
    p.kill("SIGKILL");
    await ended(p);
    if (reached) boot[devices ? "with" : "without"].push(ms);
  }
}
if (boot.with.length === 0 || boot.without.length === 0) console.log("boot with devices: no figure");
else {
  const [w, wo] = [median(boot.with), median(boot.without)];
  console.log(`boot to init (virtio modules loaded), median of ${RUNS}: with a virtio disk and network card ${w.toFixed(0)} ms, ` +
    `without ${wo.toFixed(0)} ms: ${(w / wo).toFixed(3)}× (goal ≤ 1.05×)`);
}
cleanUp();
process.exit(0);
