// Hostile inputs and guests (each case from the adversarial run that found it): one clear line and
// the documented status, never a stack trace, a hang, an unbounded table or a stderr flood.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, guest, hasKvm, ROOT, runVmm } from "../helpers";
import { buildElf, pvhNote } from "../fixtures/elf";
import { DEFAULT_CMDLINE } from "../../src/machines/linux";

const dir = mkdtempSync(join(tmpdir(), "microvmm-hostile-"));
const file = (name: string, bytes: Uint8Array) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
const fifo = join(dir, "fifo");
Bun.spawnSync(["mkfifo", fifo]);

function oneLine(r: { status: number; stdout: string; stderr: string }, status: number, message: string | RegExp): void {
  expect(r.stdout).toBe("");
  expect(r.stderr.split("\n").length).toBe(2);
  if (typeof message === "string") expect(r.stderr).toBe(`microvmm: ${message}\n`); else expect(r.stderr).toMatch(message);
  expect(r.status).toBe(status);
}

const hlt = Uint8Array.of(0xf4);
/** An ELF64 vmlinux with one segment at `paddr`, and a PVH entry note if `pvh`. */
const vmlinux = (paddr: number, pvh: boolean) => buildElf({
  bits: 64, entry: paddr, segments: [{ paddr, data: hlt }, ...(pvh ? [{ paddr: 0, data: pvhNote(paddr), type: 4 }] : [])],
});

describe("bad files and command lines: status 2, one line, before any VM", () => {
  test("a vmlinux in very small RAM: refused, no boot structure written outside RAM (was status 70)", async () => {
    oneLine(await runVmm(["-m", "64K", "--kernel", file("low.elf", vmlinux(0x1000, false))]), 2,
      "Linux needs guest RAM beyond 1 MiB (boot pages, ACPI tables, the kernel) — raise --memory");
  });

  test("a PVH command line longer than the kernel takes is refused, as for a bzImage (was status 70 or silent corruption)", async () => {
    const pvh = file("pvh.elf", vmlinux(0x100000, true));
    const long = "x".repeat(100_000); // one argument can be at most 128 KiB (MAX_ARG_STRLEN)
    const args = ["--kernel", pvh, "--append", long, "--append", long, "--append", long, "--append", long];
    const line = `kernel command line is ${400_000 + 4 + DEFAULT_CMDLINE.length} bytes; this kernel takes at most 2047`;
    oneLine(await runVmm(["-m", "1088K", ...args]), 2, line);
    oneLine(await runVmm(args), 2, line);
  });

  test("a vmlinux segment where the boot information goes is refused (was overwritten by the zero page)", async () => {
    const k = file("at6000.elf", vmlinux(0x6000, false));
    oneLine(await runVmm(["--kernel", k]), 2, `${k}: segment 0 (0x6000-0x6001) overlaps where the boot information goes (0x0-0x30000 and 0xa0000-0x100000): link the kernel at 1 MiB or above`);
  });

  test("32-bit modes: an image above 4 GiB is refused (it could never run)", async () => {
    oneLine(await runVmm(["--mode", "protected", "--load", "0x100000000", "-m", "5G", guest("hello-32.bin")]), 2,
      `${guest("hello-32.bin")}: the image ends at 0x100000082, out of reach of protected mode (below 4 GiB): load it lower`);
  });

  test("an image in the 3-4 GiB hole is told so, not to raise --memory", async () => {
    oneLine(await runVmm(["--mode", "long", "--load", "0xc0001000", "-m", "5G", guest("hello-long.bin")]), 2,
      `${guest("hello-long.bin")}: image (94 bytes) at 0xc0001000 lies in the 3-4 GiB MMIO hole, which has no RAM (RAM is 0x0-0xc0000000 and 0x100000000-0x180000000)`);
  });

  test("disk images that are not regular files or block devices, or hold no sector: refused naming the file (a FIFO used to hang)", async () => {
    const g = guest("hello-32.elf");
    oneLine(await runVmm(["--disk", `${fifo},ro`, g], { timeoutMs: 10_000 }), 2, `disk image ${fifo} is not a regular file or a block device`);
    oneLine(await runVmm(["--disk", `${dir},ro`, g]), 2, `disk image ${dir} is a directory`);
    for (const dev of ["/dev/null", "/dev/zero"]) oneLine(await runVmm(["--disk", dev, g]), 2, `disk image ${dev} is not a regular file or a block device`);
    oneLine(await runVmm(["--disk", "/proc/self/status", g]), 2, "disk image /proc/self/status has 0 bytes: an image needs at least one 512-byte sector");
  });

  test("endless or special files as guest, kernel or initrd are refused at once, not read until memory runs out", async () => {
    const t0 = performance.now();
    oneLine(await runVmm(["/dev/zero"]), 2, "/dev/zero: not a regular file, cannot be a guest image");
    oneLine(await runVmm(["--kernel", "/dev/zero"]), 2, "/dev/zero: not a regular file, cannot be a kernel image");
    oneLine(await runVmm(["--kernel", file("k.elf", vmlinux(0x1000000, true)), "--initrd", "/dev/zero"]), 2, "/dev/zero: not a regular file, cannot be an initrd image");
    oneLine(await runVmm(["--mode", "real", fifo], { timeoutMs: 10_000 }), 2, `${fifo}: not a regular file, cannot be a guest image`);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  test("an initrd larger than guest RAM is not read at all", async () => {
    const big = file("big.cpio", new Uint8Array(3 << 20));
    oneLine(await runVmm(["-m", "2M", "--kernel", file("k2.elf", vmlinux(0x100000, true)), "--initrd", big]), 2,
      `${big}: ${3 << 20} bytes is too large for an initrd image (at most ${2 << 20}, the guest's RAM) — raise --memory`);
  });

  test("shares: infinite, zero or tiny ones are refused (they ran nothing or starved a VM)", async () => {
    for (const s of ["9".repeat(400), "0", "0.0000001", "1001"]) {
      oneLine(await runVmm(["--vm", `${guest("hello-32.elf")}:${s}`]), 2, `bad --vm "${guest("hello-32.elf")}:${s}": GUEST or GUEST:SHARE (a share from 1 to 1000)`);
    }
  });

  test("a --peek outside RAM is refused before the guest runs", async () => {
    // With a KVM device that does not exist: the refusal needs no VM.
    oneLine(await runVmm(["--kvm", "/nonexistent/kvm", "--peek", "0x9000000:4", guest("hello-32.elf")]), 2, "--peek 0x9000000:4 is not in guest RAM (0x0-0x7ffffff)");
  });

  test("when stderr cannot be written (full, or over a file-size limit) the status is still the documented one", () => {
    const full = Bun.spawnSync(["sh", "-c", `${BIN} --bogus 2>/dev/full; echo "status $?"`], { cwd: ROOT });
    expect(full.stdout.toString()).toBe("status 2\n");
    const limited = Bun.spawnSync(["sh", "-c", `ulimit -f 0; ${BIN} --bogus 2>${join(dir, "err.txt")}; echo "status $?"`], { cwd: ROOT });
    expect(limited.stdout.toString()).toBe("status 2\n");
  });
});

describe.skipIf(!hasKvm)("hosts and guests at the edges", () => {
  test("guest RAM the host will not map: status 3 with the size asked for (said 0 MiB above 4 GiB)", () => {
    const r = Bun.spawnSync(["sh", "-c", `ulimit -v 8000000; ${BIN} -m 64G --mode long ${guest("hello-long.bin")}`], { cwd: ROOT, stderr: "pipe" });
    expect(r.stderr.toString()).toBe("microvmm: cannot reserve 65536 MiB of guest RAM: mmap(guest RAM): ENOMEM (Cannot allocate memory) — lower --memory\n");
    expect(r.exitCode).toBe(3);
  });

  test("the largest RAM, 512 GiB (its end past 512 GiB with the hole): the identity map reaches it and the guest runs", async () => {
    const r = await runVmm(["-m", "512G", "--mode", "long", "--load", "0x803fff0000", guest("hello-long.bin")]);
    expect(r).toEqual({ status: 0, stdout: "Hello, world!\nHello from long mode\n", stderr: "" });
  }, 30_000);

  test("Linux options with a plain guest are refused, not ignored", async () => {
    oneLine(await runVmm(["--initrd", guest("hello-32.elf"), guest("hello-32.elf")]), 2,
      "--initrd, --cmdline and --append go with a Linux or multiboot kernel (--kernel, or the kernel as the guest)");
  });
});

describe.skipIf(!hasKvm)("hostile guests", () => {
  test("a guest flooding bad requests and unclaimed MMIO: a few lines of each kind, the rest counted; the miss table stays bounded", async () => {
    const r = await runVmm(["--stats=json", "-m", "128M", "--mode", "long", guest("test-flood.bin")]);
    const lines = r.stderr.trim().split("\n");
    const stats = JSON.parse(lines.pop()!);
    expect(lines.filter((l) => l.startsWith("microvmm: disk: request at guest physical 0xfffffff0 is not in guest RAM; ignored")).length).toBe(5);
    expect(lines).toContain("microvmm: (disk: further reports are counted, not printed; --stats has the total)");
    expect(lines.filter((l) => l.startsWith("microvmm: unclaimed MMIO address")).length).toBe(5);
    expect(lines.length).toBe(12);
    expect(stats.guestReports).toEqual({ disk: 20000, "unclaimed MMIO": 20000 });
    expect(stats.unclaimed.length).toBe(257); // 256 addresses one by one, then the rest together
    expect(stats.unclaimed.at(-1)).toEqual({ bus: "mmio", addr: "other addresses", reads: 0, writes: 20000 - 256 });
    expect(r.status).toBe(0);
  });

  test("SIGQUIT stops microvmm like the other stop signals: status 131, the message", async () => {
    const p = Bun.spawn([BIN, "--mode", "long", guest("test-spin.bin")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout.getReader();
    let out = "";
    while (!out.includes("spinning")) out += new TextDecoder().decode((await reader.read()).value);
    p.kill("SIGQUIT");
    expect(await p.exited).toBe(131);
    expect(await new Response(p.stderr).text()).toBe("microvmm: stopped by SIGQUIT\n");
  });

  test("--stats sizes are right above 2 GiB (was negative for -m 4G)", async () => {
    const r = await runVmm(["--stats", "-m", "4G", "--mode", "long", guest("hello-long.bin")]);
    expect(r.stderr).toMatch(/ guest RAM 0x0 \(3072 MiB\) at host 0x[0-9a-f]+\n {2}guest RAM 0x100000000 \(1024 MiB\) at host /);
  });

  test("--no-host-addresses: hypercall 0xEF gives the guest-physical address", async () => {
    const r = await runVmm(["--no-host-addresses", guest("hypercalls.elf")]);
    const nm = Bun.spawnSync(["nm", guest("hypercalls.elf")]).stdout.toString();
    const buffer = parseInt(nm.split("\n").find((l) => l.endsWith(" buffer"))!.split(" ")[0]!, 16);
    expect(r.stdout.split("\n")[8]).toBe(String(buffer)); // identity-mapped: the GVA is the GPA
    expect(r.status).toBe(0);
  });
});
