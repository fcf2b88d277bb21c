// Device behaviour end to end: the compiled microvmm, real guests, real KVM.
import { describe, expect, test } from "bun:test";
import { BIN, guest, hasKvm, outputReader, ROOT, runVmm } from "../helpers";

describe.skipIf(!hasKvm)("devices on real KVM", () => {
  test("port I/O of sizes 1, 2, 4 and string I/O; unclaimed ports read all-ones and are reported once", async () => {
    const r = await runVmm(["--mode", "long", guest("test-io-sizes.bin")]);
    expect(r.stdout).toBe("ABCDEFghij\nones ok\n");
    expect(r.stderr).toBe("microvmm: unclaimed port 0x300 (read, size 1): reads return all-ones, writes are ignored (reported once)\n");
    expect(r.status).toBe(0);
  });

  test("unclaimed MMIO: reads are all-ones, writes vanish, reported once with --stats", async () => {
    const r = await runVmm(["--stats", "-m", "128M", "--mode", "long", guest("test-mmio.bin")]);
    expect(r.stdout).toBe("mmio ok\n");
    expect(r.stderr.split("\n")[0]).toBe("microvmm: unclaimed MMIO address 0x9000000 (write, size 4): reads return all-ones, writes are ignored (reported once)");
    expect(r.stderr).toContain("  unclaimed mmio 0x09000000: 2 reads, 1 writes\n");
    expect(r.status).toBe(0);
    // Without --stats or --trace, unclaimed MMIO is counted but not reported.
    expect(await runVmm(["-m", "128M", "--mode", "long", guest("test-mmio.bin")])).toEqual({ status: 0, stdout: "mmio ok\n", stderr: "" });
  });

  test("a 6 GiB guest: RAM above the 3-4 GiB hole is mapped and reachable", async () => {
    const r = await runVmm(["-m", "6G", "--mode", "long", "--load", "0x17fff0000", guest("hello-long.bin")]);
    expect(r).toEqual({ status: 0, stdout: "Hello, world!\nHello from long mode\n", stderr: "" });
  });

  test("output closed by the reader (| head): quiet end, status 141", async () => {
    const p = Bun.spawn([BIN, guest("demo-50ms.elf")], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    p.stdin.write("x\n");
    await p.stdin.flush();
    const out = outputReader(p.stdout);
    await out.contains("x\n");
    await out.cancel(); // the reader goes away, like `head` after its lines
    expect(await p.exited).toBe(141);
    expect(await new Response(p.stderr).text()).toBe("");
  });

  test("a guest that never acks the keyboard sees exactly one key", async () => {
    const r = await runVmm(["--stats", "--mode", "long", guest("test-kbd-noack.bin")], { stdin: "abc" });
    expect(r.stdout).toBe("a\ndone\n");
    expect(r.stderr).toContain("  keyboard: 1 keys delivered\n");
    expect(r.status).toBe(0);
  });

  test("a guest that never acks the timer makes --stats report lost events", async () => {
    const r = await runVmm(["--stats", "--mode", "long", guest("test-timer-noack.bin")]);
    expect(r.stdout).toBe("fired\n");
    const m = /timer: (\d+) fired, (\d+) lost/.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(1);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(r.status).toBe(0);
  });

  test("--stats counts exits by reason and port I/O by port and direction", async () => {
    const r = await runVmm(["--stats", "--mode", "long", guest("test-io-sizes.bin")]);
    const count = (re: RegExp) => Number(re.exec(r.stderr)?.[1]);
    const io = count(/^ {4}IO: (\d+)$/m);
    // KVM emulates OUTS one element per exit and batches INS: count what actually happened.
    expect(count(/^ {2}exits: (\d+)$/m)).toBe(io + 1);
    expect(count(/^ {4}HLT: (\d+)$/m)).toBe(1);
    expect(count(/^ {4}0x0042 out: (\d+)$/m) + count(/^ {4}0x0300 in: (\d+)$/m)).toBe(io);
    expect(count(/^ {4}0x0300 in: (\d+)$/m)).toBe(4); // inb, inw, inl, rep insb
    // Unclaimed reads count each element: 3 single reads and 8 from rep insb.
    expect(r.stderr).toContain("  unclaimed port 0x0300: 11 reads, 0 writes\n");
  });

  test("--trace prints one line per exit", async () => {
    const r = await runVmm(["--trace", "--mode", "long", guest("hello-long.bin")]);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBe("Hello, world!\n".length + "Hello from long mode\n".length + 1);
    expect(lines[0]).toBe("exit IO out port=0x00e9 (hypercall) size=1 data=48");
    expect(lines.at(-1)).toBe("exit HLT");
  });

  test("the echo demo: each timer event prints the line entered, until a new line replaces it", async () => {
    const p = Bun.spawn([BIN, "--stats", guest("demo-50ms.elf")], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const out = outputReader(p.stdout);
    const count = (text: string, line: string) => text.split("\n").filter((l) => l === line).length;
    p.stdin.write("hello\n");
    await p.stdin.flush();
    await out.until((t) => count(t, "hello") >= 3);
    p.stdin.write("wor\x7fld\n"); // with a backspace
    await p.stdin.flush();
    await out.until((t) => count(t, "wold") >= 3);
    p.kill("SIGTERM");
    const status = await p.exited;
    const stderr = await new Response(p.stderr).text();
    const lines = out.text.split("\n").filter((l) => l !== "");
    expect(lines[0]).toBe("echo demo: type a line and press Enter (Ctrl-A x quits)");
    const body = lines.slice(1);
    const firstWorld = body.indexOf("wold");
    // Only whole lines, "hello" until the new line, "wold" after it, never mixed.
    expect(body.slice(0, firstWorld).every((l) => l === "hello")).toBe(true);
    expect(body.slice(firstWorld).every((l) => l === "wold")).toBe(true);
    expect(status).toBe(143);
    expect(stderr).toContain("microvmm: stopped by SIGTERM\n");
    expect(stderr).toContain("  keyboard: 13 keys delivered\n"); // "hello\n" and "wor", DEL, "ld\n"
    const fired = Number(/timer: (\d+) fired/.exec(stderr)![1]);
    expect(fired).toBeGreaterThanOrEqual(body.length); // one print per event at most, events before Enter print nothing
  });

  test("a guest that never exits is still stopped by a signal (SIGINT 130, SIGTERM 143)", async () => {
    for (const [sig, status] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const p = Bun.spawn([BIN, "--mode", "long", guest("test-spin.bin")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      await outputReader(p.stdout).contains("spinning\n"); // the guest is in its loop
      p.kill(sig);
      expect(await p.exited).toBe(status);
      expect(await new Response(p.stderr).text()).toBe(`microvmm: stopped by ${sig}\n`);
    }
  });
});
