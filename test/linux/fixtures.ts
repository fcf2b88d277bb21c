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

/** Downloads and unpacks a Debian package into CACHE/<pkg>/ once; returns that folder. */
function unpacked(pkg: string): string {
  const dir = join(CACHE, pkg);
  if (existsSync(join(dir, ".done"))) return dir;
  mkdirSync(dir, { recursive: true });
  let deb = readdirSync(dir).find((f) => f.endsWith(".deb"));
  if (deb === undefined) {
    try { sh(["apt-get", "download", pkg], dir); } catch {
      sh(["apt-get", "update", "-qq"], dir);
      sh(["apt-get", "download", pkg], dir);
    }
    deb = readdirSync(dir).find((f) => f.endsWith(".deb"))!;
  }
  sh(["dpkg-deb", "-x", deb, "root"], dir);
  writeFileSync(join(dir, ".done"), "");
  return dir;
}

/** The cloud kernel's bzImage (linux-image-<abi>-cloud-amd64-unsigned). */
export function cloudKernel(): string {
  const cached = join(CACHE, "vmlinuz-cloud");
  if (existsSync(cached)) return cached;
  const depends = sh(["apt-cache", "depends", "linux-image-cloud-amd64"], CACHE);
  const abi = /Depends: (linux-image-[0-9][^\s]*-cloud-amd64)\s*$/m.exec(depends)?.[1];
  if (abi === undefined) throw new Error("cannot resolve Debian's cloud kernel package");
  const root = join(unpacked(`${abi}-unsigned`), "root", "boot");
  const vmlinuz = readdirSync(root).find((f) => f.startsWith("vmlinuz-"))!;
  writeFileSync(cached, readFileSync(join(root, vmlinuz)));
  return cached;
}

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
 * An initramfs with busybox whose /init prints a marker and /proc/cmdline, then runs `then`
 * (a shell command: "reboot -f", or INTERACTIVE_SHELL for a shell on the console).
 */
export function busyboxInitramfs(name: string, then: string): string {
  const path = join(CACHE, `${name}.cpio`);
  const busybox = readFileSync(join(unpacked("busybox-static"), "root", "bin", "busybox"));
  const init = [
    "#!/bin/busybox sh",
    "/bin/busybox --install -s /bin",
    "mount -t proc proc /proc",
    "mount -t sysfs sys /sys",
    "mount -t devtmpfs dev /dev",
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
  ]));
  return path;
}
