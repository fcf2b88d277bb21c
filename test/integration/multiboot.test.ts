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
    const mod = join(dir, "mod.txt");
    writeFileSync(mod, "module text\0");
    const r = await boot(["--cmdline", "kernel quiet", "--module", `${mod},arg1 arg2`, "--module", mod, guest("test-multiboot1.elf")]);
    expect(r.mb).toMatchObject({ version: 1, magic: "0x2badb002", cmdline: "kernel quiet", memLower: 639 });
    const [magic, flags, memLower, memUpper, cmdline, name, mmapLength, ...rest] = r.out;
    expect(Number(magic)).toBe(0x2badb002);
    // Memory, boot device, command line, modules, memory map, boot loader name, framebuffer.
    expect(Number(flags)).toBe(0x124f);
    expect([Number(memLower), Number(memUpper)]).toEqual([r.mb.memLower, r.mb.memUpper]);
    expect([cmdline, name]).toEqual(["kernel quiet", "microvmm"]);
    expect(Number(mmapLength)).toBe(24 * r.mb.memoryMapEntries);
    const entries = rest.slice(0, 3 * r.mb.memoryMapEntries);
    // Usable from 0 to the EBDA, reserved to 1 MiB (EBDA, VGA, BIOS), usable above.
    expect(entries.slice(0, 9).map(Number)).toEqual([0, 0x9fc00, 1, 0x9fc00, 0x60400, 2, 0x100000, r.mb.memUpper * 1024, 1]);
    const after = rest.slice(3 * r.mb.memoryMapEntries);
    // boot_device (the first hard disk), the EGA text framebuffer (address, pitch, width, height, type 2), 2 modules.
    expect(after.slice(0, 7).map(Number)).toEqual([0x8000ffff, 0xb8000, 160, 80, 25, 2, 2]);
    const m = r.mb.modules as Array<{ start: string; end: string; cmdline: string }>;
    expect(m.map((x) => x.cmdline)).toEqual([`${mod} arg1 arg2`, mod]);
    expect(after.slice(7)).toEqual([
      String(parseInt(m[0]!.start, 16)), String(parseInt(m[0]!.end, 16)), `${mod} arg1 arg2`, "module text",
      String(parseInt(m[1]!.start, 16)), String(parseInt(m[1]!.end, 16)), mod, "module text",
    ]);
    expect(parseInt(m[0]!.start, 16) % 4096).toBe(0); // page-aligned, after the kernel
    expect(parseInt(m[1]!.start, 16)).toBe(parseInt(m[0]!.start, 16) + 4096);
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
      "8", String(0xb8000), "160", "80", "25", "2", // EGA text
      "14", String(0xe0040), // the RSDP copy: its RSDT right after it at 0xE0000
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
    const file = guest("test-debug-exit.elf"); // a Multiboot2 kernel writing 0x10 there
    const r = await runVmm(["--debug-exit", file]);
    expect(r).toEqual({ status: 33, stdout: "", stderr: "microvmm: guest wrote 0x10 to the debug-exit port: status 33\n" });
    // Without --debug-exit the port is nobody's, as in QEMU without the device: the write is ignored, HLT ends with 0.
    const without = await runVmm([file]);
    expect(without.status).toBe(0);
    expect(without.stderr).toContain("unclaimed port 0xf4 (write, size 1)");
  });

  test("the xv6 benchmark's hello kernel: COM1 polled until it can take a byte, \"hello\" on stdout, cli; hlt ends with 0", async () => {
    const r = await runVmm(["--console", "serial", guest("mb-hello.elf")]);
    expect(r).toEqual({ status: 0, stdout: "hello\n", stderr: "" });
  });

  test("headers asking for what microvmm cannot give: one line, status 2", async () => {
    const img = new Uint8Array(0x40);
    new Uint32Array(img.buffer, 0, 3).set([0x1badb002, 0x7, 0x100000000 - (0x1badb002 + 0x7)]);
    const file = join(dir, "video.bin");
    writeFileSync(file, img);
    const r = await runVmm([file]);
    expect(r).toEqual({ status: 2, stdout: "", stderr: `microvmm: ${file}: the multiboot header asks for a graphics mode (flags bit 2, mode_type 0): microvmm offers EGA text only\n` });
    const initrd = await runVmm(["--initrd", file, guest("test-multiboot1.elf")]);
    expect(initrd.stderr).toBe("microvmm: --initrd is for a Linux kernel; a multiboot kernel takes --cmdline and --append\n");
    expect(initrd.status).toBe(2);
  });
});
