// The compiled microvmm runs the hello guests in every CPU mode: each prints "Hello, world!"
// through the debugcon hypercall and its mode through the console, leaves 42 at 0x400 and in
// RAX, and halts; --regs and --peek show both.
import { describe, expect, test } from "bun:test";
import { BIN, guest, hardwareKvm, hasKvm, ROOT, runHardware, runVmm } from "../helpers";

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
    const first = await p.stdout.getReader().read();
    expect(new TextDecoder().decode(first.value)).toBe("echo demo: type a line and press Enter (Ctrl-A x quits)\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(143);
  });

  test("a raw image loaded above 1 MiB with its own entry point", async () => {
    expectHello(await runVmm([...SHOW, "--mode", "long", "--load", "0x200000", "--entry", "0x200000", guest("hello-long.bin")]), "long");
  });
});

// 32-bit non-PAE paging needs hardware-style KVM: run directly where /dev/kvm is hardware,
// through the nested runner where it is not.
test.skipIf(hardwareKvm.how === "skip")(`paged mode (raw and ELF) on hardware-style KVM${hardwareKvm.why ? ` — skipped: ${hardwareKvm.why}` : ""}`, async () => {
  const run = (file: string) => `timeout 60 ./dist/microvmm ${SHOW.join(" ")} --mode paged guest/build/${file} 2>&1; echo "status=$?"`;
  const r = await runHardware(["sh", "-c", `${run("hello-32.bin")}; ${run("hello-32.elf")}`]);
  const runs = r.stdout.split("\n").filter((l) => !l.startsWith("nested-kvm:")).join("\n").split(/status=(\d+)\n?/);
  for (const i of [0, 2]) {
    const out = runs[i]!.split("\n");
    expect(out.slice(0, 2)).toEqual(["Hello, world!", "Hello from paged mode"]);
    expect(out).toContain("rax=0x000000000000002a");
    expect(out).toContain("cr0=0x0000000080000033"); // PE MP ET NE PG
    expect(out).toContain("0x00000400: 2a 00 00 00                                      *...");
    expect(runs[i + 1]).toBe("0");
  }
  expect(r.status).toBe(0);
}, 400_000);
