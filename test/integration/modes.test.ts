// The compiled microvmm runs the hello guests in every CPU mode: each prints "Hello, world!"
// through the debugcon hypercall and its mode through the console, leaves 42 at 0x400 and in
// RAX, and halts; --regs and --peek show both.
import { describe, expect, test } from "bun:test";
import { BIN, guest, hasKvm, outputReader, ROOT, runVmm } from "../helpers";

const SHOW = ["--regs", "--peek", "0x400:4"];
const expectHello = (r: { status: number; stdout: string; stderr: string }, mode: string) => {
  expect(r.stdout).toBe(`Hello, world!\nHello from ${mode} mode\n`);
  expect(r.stderr.split("\n")).toContain("rax=0x000000000000002a");
  expect(r.stderr.split("\n")).toContain("0x00000400: 2a 00 00 00                                      *...");
  expect(r.status).toBe(0);
};

describe.skipIf(!hasKvm)("CPU modes on this KVM", () => {
  for (const [mode, file] of [["real", "hello-real.bin"], ["protected", "hello-32.bin"], ["long", "hello-long.bin"]] as const) {
    test(`raw image in ${mode} mode`, async () => {
      expectHello(await runVmm([...SHOW, "--mode", mode, guest(file)]), mode);
    });
  }

  test("ELFCLASS32 runs in protected mode, ELFCLASS64 in long mode", async () => {
    expectHello(await runVmm([...SHOW, guest("hello-32.elf")]), "protected");
    // The demo never halts: read its banner, then stop it.
    const p = Bun.spawn([BIN, guest("demo.elf")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    expect(await outputReader(p.stdout).contains("\n")).toBe("echo demo: type a line and press Enter (Ctrl-A x quits)\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(143);
  });

  test("a raw image loaded above 1 MiB with its own entry point", async () => {
    expectHello(await runVmm([...SHOW, "--mode", "long", "--load", "0x200000", "--entry", "0x200000", guest("hello-long.bin")]), "long");
  });
});

// Paged mode needs hardware-style KVM: see hardware.test.ts.
