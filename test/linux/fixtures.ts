// What the Linux tests boot: Debian's stock cloud kernel and a busybox initramfs built here.
// Packages come from Debian's archive with apt-get download and are cached between runs.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { S_IFDIR, S_IFREG, writeCpio } from "../../src/tools/cpio";

/** A login-less shell with the console as its controlling terminal (so Ctrl-C works). */
export const INTERACTIVE_SHELL = "exec setsid cttyhack sh";

export const CACHE = process.env.MICROVMM_TEST_CACHE ?? join(homedir(), ".cache", "microvmm-test");

function sh(cmd: string[], cwd: string): string {
  mkdirSync(cwd, { recursive: true });
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Downloads a Debian package into CACHE/<pkg>/ once; returns the .deb's path. */
function downloaded(pkg: string): string {
  const dir = join(CACHE, pkg);
  const find = () => readdirSync(dir).find((f) => f.endsWith(".deb"));
  mkdirSync(dir, { recursive: true });
  if (find() === undefined) {
    try { sh(["apt-get", "download", pkg], dir); } catch {
      sh(["apt-get", "update", "-qq"], dir);
      sh(["apt-get", "download", pkg], dir);
    }
  }
  return join(dir, find()!);
}

/** Unpacks a Debian package into CACHE/<pkg>/root once (only `only`, a path in it, if given); returns that root. */
function unpacked(pkg: string, only?: string): string {
  const root = join(CACHE, pkg, "root");
  const done = join(CACHE, pkg, ".done");
  if (existsSync(done)) return root;
  const deb = downloaded(pkg);
  mkdirSync(root, { recursive: true });
  if (only === undefined) sh(["dpkg-deb", "-x", deb, root], root);
  else sh(["sh", "-c", `dpkg-deb --fsys-tarfile '${deb}' | tar -x --wildcards '${only}'`], root);
  writeFileSync(done, "");
  return root;
}

/**
 * A Debian kernel's bzImage: `flavour` "cloud" (linux-image-<abi>-cloud-amd64-unsigned, the
 * small one for VMs) or "generic" (linux-image-<abi>-amd64-unsigned, what a desktop boots).
 */
function debianKernel(flavour: "cloud" | "generic"): string {
  const cached = join(CACHE, `vmlinuz-${flavour}`);
  if (existsSync(cached)) return cached;
  const boot = join(unpacked(kernelPackage(flavour), "./boot/vmlinuz-*"), "boot");
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith("vmlinuz-"))!;
  writeFileSync(cached, readFileSync(join(boot, vmlinuz)));
  return cached;
}

/** The kernel package (linux-image-<abi>-…-unsigned) the flavour's meta-package depends on now. */
function kernelPackage(flavour: "cloud" | "generic"): string {
  const meta = flavour === "cloud" ? "linux-image-cloud-amd64" : "linux-image-amd64";
  const depends = sh(["apt-cache", "depends", meta], CACHE);
  const abi = /Depends: (linux-image-[0-9][^\s]*-amd64)\s*$/m.exec(depends)?.[1];
  if (abi === undefined) throw new Error(`cannot resolve Debian's ${meta} package`);
  return `${abi}-unsigned`;
}

/**
 * The virtio modules of the cloud kernel (it builds them as modules). They are loaded in the order
 * their own `depends=` asks (which changed between Debian's 6.1 kernels: from 6.1.0-57 virtio.ko
 * needs virtio_ring.ko, before it was the other way round).
 */
export const VIRTIO_MODULES = ["virtio", "virtio_ring", "virtio_mmio", "virtio-rng", "virtio_blk", "failover", "net_failover", "virtio_net"];
const MODULE_PATHS = ["drivers/virtio/*", "drivers/block/virtio_blk.ko", "drivers/char/hw_random/virtio-rng.ko",
  "net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko"];

/** A bzImage's release ("6.1.0-50-cloud-amd64"): the string its setup header's kernel_version points at. */
function kernelRelease(bzImage: string): string {
  const bz = readFileSync(bzImage);
  const at = bz.readUInt16LE(0x20e) + 0x200;
  return bz.subarray(at, bz.indexOf(0x20, at)).toString("latin1");
}

/** Those modules' files from the package of the cloud kernel the tests boot (extracted once): name and bytes. */
function cloudVirtioModules(): Array<{ name: string; data: Uint8Array }> {
  const pkg = `linux-image-${kernelRelease(cloudKernel())}-unsigned`;
  const root = join(CACHE, pkg, "modules");
  const done = join(root, `.done-${VIRTIO_MODULES.length}`);
  if (!existsSync(done)) {
    mkdirSync(root, { recursive: true });
    sh(["sh", "-c", `dpkg-deb --fsys-tarfile '${downloaded(pkg)}' | tar -x --wildcards ${MODULE_PATHS.map((p) => `'./lib/modules/*/kernel/${p}'`).join(" ")}`], root);
    writeFileSync(done, "");
  }
  const found = sh(["find", ".", "-name", "*.ko"], root).split("\n").filter((l) => l !== "");
  return inLoadOrder(VIRTIO_MODULES.map((m) => {
    const file = found.find((f) => f.endsWith(`/${m}.ko`));
    if (file === undefined) throw new Error(`no ${m}.ko in ${pkg}`);
    return { name: m, data: readFileSync(join(root, file)) };
  }));
}

/** A module's `depends=` in its .modinfo: the module names it needs loaded first ("-" written "_"). */
export function moduleDepends(ko: Uint8Array): string[] {
  const text = Buffer.from(ko.buffer, ko.byteOffset, ko.byteLength).toString("latin1");
  const at = text.indexOf("\0depends=");
  if (at < 0) return [];
  const value = text.slice(at + "\0depends=".length, text.indexOf("\0", at + 1));
  return value === "" ? [] : value.split(",");
}

/** Modules ordered so that each comes after those it depends on (all of which must be among them). */
export function inLoadOrder<M extends { name: string; data: Uint8Array }>(modules: readonly M[]): M[] {
  const byName = new Map(modules.map((m) => [m.name.replaceAll("-", "_"), m]));
  const ordered: M[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, neededBy: string) => {
    const m = byName.get(name);
    if (m === undefined) throw new Error(`${neededBy}.ko needs the module ${name}, which is not among those loaded`);
    if (ordered.includes(m)) return;
    if (visiting.has(name)) throw new Error(`modules that depend on each other: ${[...visiting, name].join(" → ")}`);
    visiting.add(name);
    for (const d of moduleDepends(m.data)) visit(d, m.name);
    visiting.delete(name);
    ordered.push(m);
  };
  for (const name of byName.keys()) visit(name, name);
  return ordered;
}

/** Debian's cloud kernel, the one most tests boot. */
export const cloudKernel = () => debianKernel("cloud");
/** Debian's generic kernel (drivers mostly modules; what `/boot/vmlinuz-$(uname -r)` is on Debian). */
export const genericKernel = () => debianKernel("generic");

/**
 * The same kernel as an ELF vmlinux: the bzImage's payload (setup header payload_offset and
 * payload_length) decompressed with the host's tool for its format. It has the PVH note.
 */
export function cloudVmlinux(): string {
  const cached = join(CACHE, "vmlinux-cloud");
  if (existsSync(cached)) return cached;
  const bz = readFileSync(cloudKernel());
  const setup = ((bz[0x1f1] || 4) + 1) * 512;
  const start = setup + bz.readUInt32LE(0x248);
  const payload = bz.subarray(start, start + bz.readUInt32LE(0x24c));
  const formats: Array<[number[], string[]]> = [
    [[0x02, 0x21, 0x4c, 0x18], ["lz4", "-d", "-c"]], [[0xfd, 0x37, 0x7a, 0x58], ["xz", "-d", "-c"]],
    [[0x28, 0xb5, 0x2f, 0xfd], ["zstd", "-d", "-c"]], [[0x1f, 0x8b], ["gzip", "-d", "-c"]],
  ];
  const tool = formats.find(([magic]) => magic.every((b, i) => payload[i] === b))?.[1];
  if (tool === undefined) throw new Error(`unknown kernel payload format ${payload.subarray(0, 4).toString("hex")}`);
  // The kernel appends the decompressed size after the stream; the tools say so and go on.
  const r = Bun.spawnSync(tool, { stdin: payload, stdout: "pipe", stderr: "pipe" });
  const elf = r.stdout;
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${tool[0]} did not give an ELF: ${r.stderr.toString()}`);
  writeFileSync(cached, elf);
  return cached;
}

/**
 * The same vmlinux with its PVH note made unrecognisable (type XEN_ELFNOTE_PHYS32_ENTRY, 18,
 * changed to 0): what a kernel built without PVH support looks like, booted the 64-bit way.
 */
export function vmlinuxWithoutPvhNote(): string {
  const cached = join(CACHE, "vmlinux-cloud-nopvh");
  if (existsSync(cached)) return cached;
  const elf = Buffer.from(readFileSync(cloudVmlinux()));
  // Note header: namesz 4, descsz 4 or 8, type 18, then the name "Xen\0".
  let found = 0;
  for (let at = elf.indexOf("Xen\0", 0, "latin1"); at >= 12; at = elf.indexOf("Xen\0", at + 1, "latin1")) {
    if (elf.readUInt32LE(at - 12) === 4 && elf.readUInt32LE(at - 4) === 18) { elf.writeUInt32LE(0, at - 4); found++; }
  }
  if (found === 0) throw new Error("no PVH note found in the vmlinux");
  writeFileSync(cached, elf);
  return cached;
}

/**
 * An initramfs with busybox whose /init prints a marker and /proc/cmdline, then runs `then`
 * (a shell command: "reboot -f", or INTERACTIVE_SHELL for a shell on the console).
 */
export function busyboxInitramfs(name: string, then: string, modules: ReadonlyArray<{ name: string; data: Uint8Array }> = []): string {
  const path = join(CACHE, `${name}.cpio`);
  const busybox = readFileSync(join(unpacked("busybox-static"), "bin", "busybox"));
  const init = [
    "#!/bin/busybox sh",
    "/bin/busybox --install -s /bin",
    "mount -t proc proc /proc",
    "mount -t sysfs sys /sys",
    "mount -t devtmpfs dev /dev",
    ...modules.map((m) => `insmod /lib/${m.name}.ko`),
    "echo MICROVMM-INIT-OK",
    "echo \"cmdline: $(cat /proc/cmdline)\"",
    "grep MemTotal /proc/meminfo",
    then,
  ].join("\n") + "\n";
  writeFileSync(path, writeCpio([
    { name: "bin", mode: S_IFDIR | 0o755 },
    { name: "bin/busybox", mode: S_IFREG | 0o755, data: busybox },
    { name: "proc", mode: S_IFDIR | 0o755 },
    { name: "sys", mode: S_IFDIR | 0o755 },
    { name: "dev", mode: S_IFDIR | 0o755 },
    { name: "init", mode: S_IFREG | 0o755, data: new TextEncoder().encode(init) },
    ...(modules.length > 0 ? [{ name: "lib", mode: S_IFDIR | 0o755 }] : []),
    ...modules.map((m) => ({ name: `lib/${m.name}.ko`, mode: S_IFREG | 0o644, data: m.data })),
  ]));
  return path;
}

/** The static busybox the initramfs images hold, for the host's end of a test (its nc). */
export const busyboxBinary = (): string => join(unpacked("busybox-static"), "bin", "busybox");

/**
 * The guest's end of test/linux/virtio-net.sh and bench/virtio-net.ts: eth0 up at 10.0.2.15,
 * `pings` pings to the host's 10.0.2.1 (their round-trip times too), then `size` random bytes
 * sent to port 5001 and as many fetched from 5002, each side's SHA-256 and the guest's clock
 * (/proc/uptime) around each transfer printed; then `pingsAfter` more pings ("ping after:"),
 * the round trip once both ends have moved that much; then power-off.
 */
export function netInitramfs(size: number, pings = 3, pingsAfter = 0): string {
  return virtioInitramfs(`virtio-net-${size}-${pings}${pingsAfter > 0 ? `-${pingsAfter}` : ""}`, [
    "ip link set lo up; ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up",
    'echo "mac: $(cat /sys/class/net/eth0/address)"',
    `ping -c ${pings} -W 5 10.0.2.1 | grep -E 'packets transmitted|round-trip' | sed 's/^/ping: /'`,
    `head -c ${size} /dev/urandom > /data; echo "guest: sent $(sha256sum < /data | cut -d' ' -f1)"`,
    "t0=$(cut -d' ' -f1 /proc/uptime); nc 10.0.2.1 5001 < /data; t1=$(cut -d' ' -f1 /proc/uptime)",
    "nc 10.0.2.1 5002 > /got; t2=$(cut -d' ' -f1 /proc/uptime)",
    "echo \"guest: got $(sha256sum < /got | cut -d' ' -f1) ($(wc -c < /got) bytes)\"",
    'echo "guest: times $t0 $t1 $t2"',
    ...(pingsAfter > 0 ? [`ping -c ${pingsAfter} -i 0.3 -W 5 10.0.2.1 | grep round-trip | sed 's/^/ping after: /'`] : []),
    "poweroff -f"].join("\n"));
}

/**
 * busyboxInitramfs with the cloud kernel's virtio modules loaded first (virtio_mmio then finds
 * the devices in the DSDT). `then` runs after, as there.
 */
export const virtioInitramfs = (name: string, then: string): string => busyboxInitramfs(name, then, cloudVirtioModules());

/**
 * An ext4 image (`mke2fs -d`) holding busybox, zeroout (zeroout.c) and an /init that runs `then`
 * (after mounting proc, sys and dev): a root file system for the cloud kernel on virtio-blk.
 */
export function rootImage(name: string, then: string, sizeMiB = 32): string {
  const path = join(CACHE, `${name}.ext4`);
  const dir = join(CACHE, "rootfs-tree");
  sh(["rm", "-rf", dir], CACHE);
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "mnt"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "bin", "busybox"), readFileSync(join(unpacked("busybox-static"), "bin", "busybox")), { mode: 0o755 });
  sh(["gcc", "-static", "-O2", "-o", join(dir, "bin", "zeroout"), join(import.meta.dir, "zeroout.c")], CACHE);
  writeFileSync(join(dir, "init"), ["#!/bin/busybox sh", "/bin/busybox --install -s /bin", "mount -t proc proc /proc",
    "mount -t sysfs sys /sys", "mount -t devtmpfs dev /dev", "echo MICROVMM-ROOT-OK", then].join("\n") + "\n", { mode: 0o755 });
  sh(["mke2fs", "-q", "-F", "-t", "ext4", "-d", dir, path, `${sizeMiB}M`], CACHE);
  return path;
}

/**
 * An initramfs that says how many CPUs the guest has (nproc, /proc/cpuinfo), then times a
 * CPU-bound shell loop of `rounds` in one process and in one process per CPU at once (in 10 ms
 * ticks of /proc/uptime: the guest's clock), and powers off. Line: "job: one A ticks, N at once B ticks".
 */
export function cpuJobInitramfs(rounds: number): string {
  return busyboxInitramfs(`cpu-job-${rounds}`, [
    'echo "nproc: $(nproc)"', 'echo "cpuinfo: $(grep -c ^processor /proc/cpuinfo)"',
    "ticks() { tr -d . < /proc/uptime | cut -d' ' -f1; }",
    `job() { i=0; while [ $i -lt ${rounds} ]; do i=$((i+1)); done; }`,
    "t0=$(ticks); job; t1=$(ticks); for k in $(seq $(nproc)); do job & done; wait; t2=$(ticks)",
    'echo "job: one $((t1-t0)) ticks, $(nproc) at once $((t2-t1)) ticks"', "poweroff -f",
  ].join("\n"));
}

/** The speedup a "job:" line of cpuJobInitramfs shows: N jobs' work over the time they took at once. */
export function jobSpeedup(line: string): { one: number; all: number; n: number; speedup: number } | undefined {
  const m = /^job: one (\d+) ticks, (\d+) at once (\d+) ticks$/.exec(line);
  if (m === null) return undefined;
  const [one, n, all] = m.slice(1).map(Number) as [number, number, number];
  return { one, all, n, speedup: (n * one) / Math.max(all, 1) };
}
