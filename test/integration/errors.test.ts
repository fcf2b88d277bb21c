// What users see when something is wrong: one line, the documented status, nothing else.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guest, hasKvm, runVmm } from "../helpers";
import { buildBzImage } from "../fixtures/bzimage";

const dir = mkdtempSync(join(tmpdir(), "microvmm-bad-"));
const NO_KVM = join(dir, "no-kvm");
const demo = readFileSync(guest("demo.elf"));

function variant(name: string, edit: (b: Buffer) => Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, edit(Buffer.from(demo)));
  return path;
}

/** Offset of program header 0's field in demo.elf (ELF64: e_phoff at 32). */
const ph0 = (field: number) => Number(demo.readBigUInt64LE(32)) + field;

function expectOneLine(r: { status: number; stdout: string; stderr: string }, status: number, message: string | RegExp) {
  expect(r.stdout).toBe("");
  expect(r.stderr.split("\n").length).toBe(2); // one line and its newline
  expect(r.stderr).toMatch(typeof message === "string" ? new RegExp(`^microvmm: ${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n$`) : message);
  expect(r.status).toBe(status);
}

describe("bad guest images: status 2, one line, no VM", () => {
  const cases: Array<[string, string[], string | RegExp]> = [
    ["missing file", [join(dir, "nope.elf")], `cannot read guest ${join(dir, "nope.elf")}: no such file`],
    ["a directory", [dir], `${dir}: is a directory, not a guest image`],
    ["not ELF and no --mode", [guest("hello-long.bin")], `${guest("hello-long.bin")}: not an ELF file; to run a raw binary give --mode real|protected|paged|long`],
    ["truncated header", [variant("trunc.elf", (b) => b.subarray(0, 40))], /truncated ELF header: 40 bytes, need 64\n$/],
    ["truncated program headers", [variant("trunc-ph.elf", (b) => b.subarray(0, 80))], /truncated ELF: program headers at 0x40 run past the end of the file \(80 bytes\)\n$/],
    ["truncated segment data", [variant("trunc-data.elf", (b) => b.subarray(0, 0x1010))], /truncated ELF: segment \d needs file bytes up to 0x[0-9a-f]+, the file has 0x1010\n$/],
    ["wrong machine", [variant("arm.elf", (b) => { b.writeUInt16LE(183, 18); return b; })], /wrong machine: e_machine 183, a 64-bit x86 guest has 62 \(EM_X86_64\)\n$/],
    ["segment outside RAM", ["-m", "1M", guest("demo.elf")], /segment \d \(0x100000-0x[0-9a-f]+\) is outside guest RAM \(ends at 0x100000\) — raise --memory\n$/],
    ["memsz < filesz", [variant("memsz.elf", (b) => { b.writeBigUInt64LE(1n, ph0(40)); return b; })], /segment 0: p_memsz 0x1 is smaller than p_filesz 0x[0-9a-f]+\n$/],
    ["entry outside every segment", [variant("entry.elf", (b) => { b.writeBigUInt64LE(0x5000n, 24); return b; })], /entry 0x5000 is outside every loaded segment\n$/],
    ["image larger than RAM", ["-m", "64K", "--mode", "real", variant("big.bin", () => Buffer.alloc(65 << 10, 0xf4))], /big\.bin: image is 66560 bytes but guest RAM is 65536 — raise --memory\n$/],
    ["no room for the VMM's structures", ["-m", "64K", "--mode", "long", variant("full.bin", () => Buffer.alloc(64 << 10, 0xf4))], /microvmm: guest RAM too small: no room for the VMM's \d+ KiB of boot structures \(GDT, page tables, stack\) below 4 GiB beside the image — raise --memory\n$/],
    ["--load with an ELF", ["--load", "0x1000", guest("demo.elf")], `${guest("demo.elf")}: --load and --entry are for raw binaries; an ELF says where it goes`],
    ["entry out of reach of real mode", ["--mode", "real", "--load", "0x100000", guest("hello-real.bin")], /entry 0x100000 is out of reach of real mode/],
  ];
  // Given a KVM device that does not exist, each is still its own line: no VM was needed to find it.
  for (const [name, args, message] of cases) {
    test(name, async () => expectOneLine(await runVmm(["--kvm", NO_KVM, ...args]), 2, message));
  }

  test("bad command lines", async () => {
    expectOneLine(await runVmm([]), 2, "no guest given: microvmm [options] <guest> (see --help)");
    expectOneLine(await runVmm(["--frobnicate", "x"]), 2, "unknown option --frobnicate (see --help)");
    expectOneLine(await runVmm(["-m", "lots", "x"]), 2, `bad memory size "lots": use a number with K, M or G (64M, 2G)`);
  });
});

describe("bad Linux kernels: status 2, one line, no VM", () => {
  const kernel = (name: string, img: Uint8Array) => { const p = join(dir, name); writeFileSync(p, img); return p; };
  const good = buildBzImage();
  test("truncated bzImage", async () => {
    const k = kernel("trunc.bz", good.subarray(0, 5 * 512 + 0x100));
    expectOneLine(await runVmm(["--kernel", k]), 2, `${k}: truncated bzImage: the kernel needs 0x3a00 bytes, the file has 0xb00`);
  });
  test("wrong magic", async () => {
    const bad = good.slice(); bad[0x203] = 0;
    const k = kernel("magic.bz", bad);
    expectOneLine(await runVmm(["--kernel", k]), 2, `${k}: not a bzImage: no "HdrS" at 0x202 and 0xAA55 at 0x1fe`);
  });
  test("boot protocol too old", async () => {
    const k = kernel("old.bz", buildBzImage({ version: 0x0204 }));
    expectOneLine(await runVmm(["--kernel", k]), 2, `${k}: boot protocol 2.04 is too old: microvmm needs 2.12 or later with a 64-bit entry`);
  });
  test("initrd larger than RAM", async () => {
    const k = kernel("ok.bz", good);
    const initrd = join(dir, "huge.cpio");
    writeFileSync(initrd, new Uint8Array((64 << 20) + 4096));
    expectOneLine(await runVmm(["-m", "64M", "--kernel", k, "--initrd", initrd]), 2, `${initrd}: ${(64 << 20) + 4096} bytes is too large for an initrd image (at most ${64 << 20}, the guest's RAM) — raise --memory`);
  });
  test("missing kernel and initrd files", async () => {
    expectOneLine(await runVmm(["--kernel", join(dir, "none")]), 2, `cannot read kernel ${join(dir, "none")}: no such file`);
    expectOneLine(await runVmm(["--kernel", kernel("ok2.bz", good), "--initrd", join(dir, "none")]), 2, `cannot read initrd ${join(dir, "none")}: no such file`);
  });
});

describe("--net: refused where it cannot apply, one line", () => {
  const good = buildBzImage();
  const k = join(dir, "net.bz");
  writeFileSync(k, good, { mode: 0o644 });
  chmodSync(dir, 0o755); // the unprivileged run below reads the kernel first
  test("a bad spec, a plain guest: status 2", async () => {
    expectOneLine(await runVmm(["--kvm", NO_KVM, "--kernel", k, "--net", "tap=t0,mac=zz"]), 2, 'bad --net "tap=t0,mac=zz": "zz" is not a unicast MAC address; --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]');
    expectOneLine(await runVmm(["--kvm", NO_KVM, "--net", "tap=t0", guest("demo.elf")]), 2, "--net is for a Linux kernel (virtio-net)");
  });

  test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv") || !existsSync("/dev/net/tun"))("a TAP the user may not create or open: status 3, before any VM", async () => {
    const p = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", guest("../../dist/microvmm"), "--kvm", NO_KVM, "--kernel", k, "--net", "tap=microvmm-t0"],
      { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expectOneLine({ status, stdout, stderr }, 3,
      "cannot use TAP microvmm-t0: not permitted — create it for your user first (ip tuntap add microvmm-t0 mode tap user $USER), or run with CAP_NET_ADMIN");
  });
});

describe("the host without KVM: status 3, one line", () => {
  test("no KVM device at the path", async () => {
    expectOneLine(await runVmm(["--kvm", join(dir, "no-kvm"), guest("demo.elf")]), 3,
      `KVM is not available: ${join(dir, "no-kvm")} does not exist — enable virtualization in the firmware and load kvm-intel or kvm-amd`);
  });

  test("a path that is not KVM", async () => {
    expectOneLine(await runVmm(["--kvm", "/dev/null", guest("demo.elf")]), 3, "KVM is not available: /dev/null is not a KVM device — point --kvm at /dev/kvm");
  });

  test.skipIf(!hasKvm || process.getuid?.() !== 0 || !Bun.which("setpriv"))("permission denied (run as an unprivileged user)", async () => {
    const p = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", guest("../../dist/microvmm"), guest("demo.elf")], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expectOneLine({ status, stdout, stderr }, 3, "/dev/kvm: permission denied — add yourself to the kvm group (sudo usermod -aG kvm $USER) and log in again");
  });
});

describe.skipIf(!hasKvm)("a failing guest", () => {
  test("triple fault: the reason, the register dump, status 1", async () => {
    const r = await runVmm(["--mode", "long", guest("test-triple-fault.bin")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe("microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN): an exception could not be delivered");
    expect(lines).toContain("  rax=0x8000000000000000");
    expect(lines).toContain("  rbx=0x0000000000001234");
    expect(lines.some((l) => /^ {2}rip=0x[0-9a-f]{16}$/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}cr3=0x[0-9a-f]{16}$/.test(l))).toBe(true);
  });
});

test("--help and --version", async () => {
  const h = await runVmm(["--help"]);
  expect(h.status).toBe(0);
  expect(h.stdout).toContain("Usage: microvmm [options] <guest>");
  expect(h.stdout).toContain("Exit status:");
  const v = await runVmm(["--version"]);
  expect(v).toEqual({ status: 0, stdout: "microvmm 0.1.0\n", stderr: "" });
});
