// Multiboot kernels of our own on real KVM: each prints what it found at EBX, and that must be
// what microvmm says it passed (--stats=json). Until the PC board, they run on the course board
// (debugcon, hypercalls), as a hobby kernel that prints to port 0xE9 does.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guest, hasKvm, runVmm } from "../helpers";
import { rawMultiboot1 } from "../fixtures/multiboot";

const dir = mkdtempSync(join(tmpdir(), "microvmm-multiboot-"));

async function boot(args: string[]) {
  const r = await runVmm(["--stats=json", ...args]);
  const lines = r.stderr.trim().split("\n");
  return { status: r.status, out: r.stdout.split("\n").slice(0, -1), mb: JSON.parse(lines.at(-1)!).multiboot, stderr: lines.slice(0, -1) };
}

describe.skipIf(!hasKvm)("multiboot kernels", () => {
  test("Multiboot 1 (ELF): EAX is the magic; the info's flags, memory, command line, loader name and map are what we passed", async () => {
    const r = await boot(["--cmdline", "kernel quiet", guest("test-multiboot1.elf")]);
    expect(r.mb).toMatchObject({ version: 1, magic: "0x2badb002", cmdline: "kernel quiet", memLower: 639 });
    const [magic, flags, memLower, memUpper, cmdline, name, mmapLength, ...entries] = r.out;
    expect(Number(magic)).toBe(0x2badb002);
    expect(Number(flags)).toBe(0x245); // memory, command line, memory map, boot loader name
    expect([Number(memLower), Number(memUpper)]).toEqual([r.mb.memLower, r.mb.memUpper]);
    expect([cmdline, name]).toEqual(["kernel quiet", "microvmm"]);
    expect(Number(mmapLength)).toBe(24 * r.mb.memoryMapEntries);
    // Usable from 0 to the EBDA, reserved to 1 MiB (EBDA, VGA, BIOS), usable above.
    expect(entries.slice(0, 9).map(Number)).toEqual([0, 0x9fc00, 1, 0x9fc00, 0x60400, 2, 0x100000, r.mb.memUpper * 1024, 1]);
    expect(r.status).toBe(0);
  });

  test("Multiboot2 (ELF, requesting tags): EAX is the magic; every tag as passed, 8-aligned, ending with the end tag", async () => {
    const r = await boot(["--append", "mb2", guest("test-multiboot2.elf")]);
    expect(r.mb).toMatchObject({ version: 2, magic: "0x36d76289" });
    expect(r.out).toEqual([
      String(0x36d76289), expect.stringMatching(/^\d+$/),
      "1", `${guest("test-multiboot2.elf")} mb2`, // command line: the kernel's name, then --append
      "2", "microvmm",
      "4", String(r.mb.memLower), String(r.mb.memUpper),
      "6", "24", String(r.mb.memoryMapEntries),
      "21", String(parseInt(r.mb.loadBase, 16)),
      "0",
    ]);
    expect(r.status).toBe(0);
  });

  test("a raw image placed by its Multiboot 1 address fields (the a.out kludge)", async () => {
    const file = join(dir, "aout.bin");
    writeFileSync(file, rawMultiboot1(Uint8Array.of(0xba, 0xea, 0, 0, 0, 0xef, 0xf4))); // mov edx, 0xea; out dx, eax; hlt
    const r = await boot([file]);
    expect(r.out).toEqual([String(0x2badb002)]);
    expect(r.mb.entry).toBe("0x100020");
  });

  test("--debug-exit: a kernel that writes v to port 0xF4 ends microvmm with (v << 1) | 1, as under QEMU", async () => {
    const file = join(dir, "exit.bin");
    writeFileSync(file, rawMultiboot1(Uint8Array.of(0xb0, 0x10, 0xe6, 0xf4, 0xf4))); // mov al, 0x10; out 0xf4, al; hlt
    const r = await runVmm(["--debug-exit", file]);
    expect(r).toEqual({ status: 33, stdout: "", stderr: "microvmm: guest wrote 0x10 to the debug-exit port: status 33\n" });
    // Without --debug-exit the port is nobody's, as in QEMU without the device: the write is ignored, HLT ends with 0.
    const without = await runVmm([file]);
    expect(without.status).toBe(0);
    expect(without.stderr).toContain("unclaimed port 0xf4 (write, size 1)");
  });

  test("headers asking for what microvmm cannot give: one line, status 2", async () => {
    const img = new Uint8Array(0x40);
    new Uint32Array(img.buffer, 0, 3).set([0x1badb002, 0x7, 0x100000000 - (0x1badb002 + 0x7)]);
    const file = join(dir, "video.bin");
    writeFileSync(file, img);
    const r = await runVmm([file]);
    expect(r).toEqual({ status: 2, stdout: "", stderr: `microvmm: ${file}: the multiboot header asks for a video mode (flags bit 2): microvmm offers no graphics mode\n` });
    const initrd = await runVmm(["--initrd", file, guest("test-multiboot1.elf")]);
    expect(initrd.stderr).toBe("microvmm: --initrd is for a Linux kernel; a multiboot kernel takes --cmdline and --append\n");
    expect(initrd.status).toBe(2);
  });
});
