// The paravirtual disk, memory map and CPUID end to end on real KVM, with images made here.
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeImage, readImageFile } from "../../src/tools/mkimage";
import { BIN, guest, hasKvm, outputReader, ROOT, runVmm } from "../helpers";

const dir = mkdtempSync(join(tmpdir(), "microvmm-disk-"));
const text = (s: string) => new TextEncoder().encode(s);

function image(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, makeImage([
    { name: "notes", data: text("not this one\n") },
    { name: "hello.txt", data: text("made by the test\nsecond line\n") },
    { name: "log", data: text("first entry\n"), capacity: 2 },
  ]));
  return path;
}

describe.skipIf(!hasKvm)("paravirtual disk", () => {
  test("the disk guest prints the file and appends to the log, which is on the host afterwards", async () => {
    const img = image("rw.img");
    const r = await runVmm(["--stats", "--disk", img, guest("disk.elf")]);
    expect(r.stdout).toBe("disk: 5 sectors, writable\nmade by the test\nsecond line\nlog: appended and flushed\n");
    expect(r.status).toBe(0);
    expect(Buffer.from(readImageFile(readFileSync(img), "log")).toString()).toBe("first entry\na guest was here\n");
    // info, directory, hello.txt, log sector, log sector back, directory back, flush
    expect(r.stderr).toContain("  disk: 7 requests, 1536 bytes read, 1024 written, 1 flushes, 0 errors\n");
  });

  test("with ,ro the write is refused with the read-only status and the image is byte-for-byte unchanged", async () => {
    const img = image("ro.img");
    const before = readFileSync(img);
    const r = await runVmm(["--disk", `${img},ro`, guest("disk.elf")]);
    expect(r.stdout).toBe("disk: 5 sectors, read-only\nmade by the test\nsecond line\nlog: write refused: read-only (status 3)\n");
    expect(readFileSync(img).equals(before)).toBe(true);
  });

  test("bad requests get their statuses; 1 MiB moves in one request", async () => {
    const img = join(dir, "errors.img");
    writeFileSync(img, new Uint8Array(4 << 20));
    const r = await runVmm(["--disk", img, guest("test-disk-errors.elf")]);
    expect(r.stdout).toBe([
      "info: status 0, result 8192",
      "past the end: status 2, result 0",
      "across the end: status 2, result 0",
      "sector overflow: status 2, result 0",
      "buffer outside RAM: status 1, result 0",
      "buffer across RAM's end: status 1, result 0",
      "huge count: status 1, result 0",
      "no such drive: status 1, result 0",
      "no such op: status 1, result 0",
      "1 MiB read: status 0, result 1048576",
      "write: status 0, result 512",
      "flush: status 0, result 0",
      "",
    ].join("\n"));
    expect(readFileSync(img).subarray(512, 1024).every((b) => b === 0x57)).toBe(true);
    const ro = await runVmm(["--disk", `${img},ro`, guest("test-disk-errors.elf")]);
    expect(ro.stdout).toContain("write: status 3, result 0\n");
  });

  test("a write acknowledged by flush survives microvmm being killed (SIGKILL) right after", async () => {
    const img = join(dir, "kill.img");
    writeFileSync(img, new Uint8Array(64 << 10));
    const p = Bun.spawn([BIN, "--disk", img, guest("test-disk-kill.elf")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const out = await outputReader(p.stdout).contains("flushed\n");
    p.kill("SIGKILL");
    expect(await p.exited).toBe(137);
    expect(out).toBe("flushed\n");
    expect(Buffer.from(readFileSync(img).subarray(0, 512)).toString()).toBe("durable\n".repeat(64));
  });

  test("bad disk options: missing image, and an image another VM is writing", async () => {
    const missing = await runVmm(["--disk", join(dir, "nope.img"), guest("disk.elf")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`microvmm: cannot open disk image ${join(dir, "nope.img")}: no such file\n`);
    const img = join(dir, "busy.img");
    copyFileSync(guest("disk.img"), img);
    const holder = Bun.spawn([BIN, "--disk", img, "--mode", "long", guest("test-spin.bin")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    await outputReader(holder.stdout).contains("spinning\n"); // it holds the image
    const second = await runVmm(["--disk", img, guest("disk.elf")]);
    holder.kill("SIGTERM");
    await holder.exited;
    expect(second.status).toBe(2);
    expect(second.stderr).toBe(`microvmm: disk image ${img} is in use by another VM\n`);
  });
});

describe.skipIf(!hasKvm)("memory map and CPUID", () => {
  for (const mem of ["128M", "6G"]) {
    test(`the guest's memory map equals --memmap and covers all RAM exactly once (-m ${mem})`, async () => {
      const r = await runVmm(["--memmap", "-m", mem, guest("sysinfo.elf")]);
      expect(r.status).toBe(0);
      const fromVmm = r.stderr.trim().split("\n");
      const fromGuest = r.stdout.split("\n").slice(0, fromVmm.length);
      expect(fromGuest).toEqual(fromVmm);
      const entries = fromVmm.slice(1).map((l) => {
        const m = /^ {2}0x([0-9a-f]{16})-0x([0-9a-f]{16}) (usable|reserved)$/.exec(l)!;
        return { start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16) + 1, type: m[3] };
      });
      for (let i = 1; i < entries.length; i++) expect(entries[i]!.start).toBeGreaterThanOrEqual(entries[i - 1]!.end);
      const total = entries.reduce((n, e) => n + e.end - e.start, 0);
      expect(total).toBe(mem === "6G" ? 6 * 2 ** 30 : 128 << 20);
      if (mem === "6G") expect(entries.some((e) => e.start < 0xc000_0000 && e.end > 0xc000_0000)).toBe(false); // the hole
      expect(entries.filter((e) => e.type === "reserved").length).toBe(1); // the boot area
    });
  }

  test("CPUID: no VMX, no SVM, the hypervisor bit, the KVM signature, the host's vendor", async () => {
    const r = await runVmm([guest("sysinfo.elf")]);
    const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1];
    expect(r.stdout).toContain(`vendor: ${vendor}\nvmx: no\nhypervisor: yes\nsvm: no\nhypervisor signature: KVMKVMKVM\n`);
  });
});
