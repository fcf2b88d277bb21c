// Multiboot kernels on the PC board, under this machine's KVM: a kernel that polls its devices
// (BIOS data area, MP table, CRT, IDE, PS/2 keyboard, VGA, COM1) and one that ends itself with
// cli; hlt. (The kernel that works by interrupts, and xv6, run where KVM is hardware-style:
// hardware.test.ts.) And the command line's refusals for the PC board.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guest, hasKvm, runVmm } from "../helpers";
import { rawMultiboot1 } from "../fixtures/multiboot";

const dir = mkdtempSync(join(tmpdir(), "microvmm-pc-"));
const SECTORS = 64;

/** A disk whose sector n starts with the dword 1000 + n. */
function disk(name: string): string {
  const bytes = new Uint8Array(SECTORS * 512);
  const dv = new DataView(bytes.buffer);
  for (let s = 0; s < SECTORS; s++) dv.setUint32(s * 512, 1000 + s, true);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** What stdout holds after the drawn screen: the last screen as text, then the held serial and debugcon output. */
const afterScreen = (stdout: string) => stdout.slice(stdout.lastIndexOf("\x1b[?1049l") + "\x1b[?1049l".length);

describe.skipIf(!hasKvm)("the PC board", () => {
  test("a polling kernel finds the BDA, the MP table, the CRT cursor, the IDE disk and the keyboard; the screen is dumped", async () => {
    const img = disk("poll.img");
    const screen = join(dir, "poll-screen.txt");
    const r = await runVmm(["--console", "vga", "--screen-dump", screen, "--disk", img, guest("test-pc-poll.elf")], { stdin: "hello world\n" });
    expect(r.stdout.startsWith("\x1b[?1049h")).toBe(true); // the screen was drawn (alternate screen)
    expect(afterScreen(r.stdout).split("\n")).toEqual([
      // The last screen, left on the terminal: typed letters on line 1, the kernel's line 2.
      "hello world", "PC poll done",
      // Then what the kernel printed meanwhile, held while the screen was shown.
      "1016", // BDA: COM1 at 0x3F8
      "40896", // BDA: EBDA segment 0x9FC0
      "639", // BDA: base memory KiB
      "980", // BDA: CRT port 0x3D4
      "983040", // the MP floating pointer at 0xF0000
      "81", // the cursor location read back
      String(SECTORS), // IDENTIFY: LBA28 sectors
      "1001", "1002", // sectors 1 and 2 by rep insl
      "81", "16", // past the end: status DRDY|DSC|ERR, error IDNF
      "80", // FLUSH CACHE: DRDY|DSC
      "PC poll done", "serial ok", "",
    ]);
    expect(r.stderr).toBe("microvmm: IDE: disk 0: sectors 16777215-16777215 are past its end (64 sectors): the guest gets an ATA error\n");
    expect(r.status).toBe(0); // cli; hlt ends it
    const lines = readFileSync(screen, "utf8").split("\n");
    expect(lines.length).toBe(26); // 25 lines, each ending in \n
    expect(lines.slice(0, 3)).toEqual(["hello world", "PC poll done", ""]);
    const written = readFileSync(img);
    expect([...written.subarray(3 * 512, 4 * 512)].every((b) => b === 0x5a)).toBe(true); // rep outsw reached the image
    expect(new DataView(written.buffer, written.byteOffset).getUint32(4 * 512, true)).toBe(1004); // and nothing past it
  });

  test("--console serial: COM1 is stdout and host keys go to COM1 (the PS/2 keyboard gets none)", async () => {
    // The polling kernel waits for keys on the keyboard: with the keys on COM1 it never gets one.
    const r = await runVmm(["--console", "serial", "--stats=json", guest("test-multiboot1.elf")], { stdin: "abc" });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stderr.trim().split("\n").at(-1)!).serial.received).toBe(3);
  });

  test("a kernel that halts with interrupts off ends the VM with status 0; --stats shows the PC's devices", async () => {
    const r = await runVmm(["--stats", guest("test-multiboot1.elf")]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("  ide: 0 commands, 0 sectors read, 0 written, 0 flushes, 0 errors\n");
    expect(r.stderr).toContain("  serial: 0 bytes sent, 0 received, 0 overruns\n");
  });

  test("the PC board's options, refused where they do not apply or do not fit: one line, status 2", async () => {
    const mb = guest("test-multiboot1.elf");
    const cases: Array<[string[], string]> = [
      [["--console", "tty", mb], 'microvmm: bad --console "tty": vga or serial\n'],
      [["--screen-dump", join(dir, "x"), guest("hello-32.elf")], "microvmm: --console, --screen-dump and --module are for multiboot kernels (the PC board)\n"],
      [["--disk", `${disk("i2.img")},index=2`, mb], `microvmm: --disk ${join(dir, "i2.img")},index=2: the IDE channel has index 0 (master) and 1 (slave)\n`],
      [["--disk", `${disk("a.img")},index=1`, "--disk", `${disk("b.img")},index=1`, mb], "microvmm: two disks at IDE index 1\n"],
      [["--disk", disk("c.img"), "--disk", disk("d.img"), "--disk", disk("e.img"), mb], "microvmm: at most two disks on the IDE channel (index 0 and 1)\n"],
      [["--disk", `${disk("f.img")},index=0`, guest("disk.elf")], "microvmm: --disk FILE,index=N places a multiboot kernel's IDE disk; a plain guest's drives are numbered in order\n"],
    ];
    const big = join(dir, "big.mod");
    writeFileSync(big, new Uint8Array(1536 << 10));
    cases.push([["-m", "2M", "--module", big, mb], `microvmm: ${mb}: module ${big} (1572864 bytes) does not fit in guest RAM after the kernel at 0x101000 — raise --memory\n`]);
    for (const [args, line] of cases) {
      const r = await runVmm(args);
      expect(r.stderr).toBe(line);
      expect(r.status).toBe(2);
    }
  });

  test("a multiboot kernel loaded over the BIOS data area is refused: one line, status 2", async () => {
    const img = rawMultiboot1(Uint8Array.of(0xf4));
    new Uint32Array(img.buffer, 0, 8).set([0x400, 0x400, 0, 0x1400, 0x420], 3); // header_addr, load_addr, load_end, bss_end, entry
    const path = join(dir, "low.bin");
    writeFileSync(path, img);
    const r = await runVmm([path]);
    expect(r.stderr).toBe(`microvmm: ${path}: the kernel's segment at 0x400-0x1400 overlaps the interrupt vector table and BIOS data area (0x0-0x500): load it at 1 MiB or above\n`);
    expect(r.status).toBe(2);
  });
});
