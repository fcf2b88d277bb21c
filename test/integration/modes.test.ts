// The compiled microvmm runs the hello guests in every CPU mode and the ELF loader's guests.
import { describe, expect, test } from "bun:test";
import { BIN, guest, hardwareKvm, hasKvm, ROOT, runHardware, runVmm } from "../helpers";

describe.skipIf(!hasKvm)("CPU modes on this KVM", () => {
  for (const [mode, file, line] of [
    ["real", "hello-real.bin", "Hello from real mode"],
    ["protected", "hello-32.bin", "Hello from protected mode"],
    ["long", "hello-long.bin", "Hello from long mode"],
  ] as const) {
    test(`raw image in ${mode} mode prints and halts`, async () => {
      const r = await runVmm(["--mode", mode, guest(file)]);
      expect(r).toEqual({ status: 0, stdout: `${line}\n`, stderr: "" });
    });
  }

  test("ELFCLASS32 runs in protected mode, ELFCLASS64 in long mode", async () => {
    expect(await runVmm([guest("hello-32.elf")])).toEqual({ status: 0, stdout: "Hello from protected mode\n", stderr: "" });
    // The demo never halts: read its banner, then stop it.
    const p = Bun.spawn([BIN, guest("demo.elf")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const first = await p.stdout.getReader().read();
    expect(new TextDecoder().decode(first.value)).toBe("echo demo: type a line and press Enter (Ctrl-A x quits)\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(143);
  });

  test("a raw image loaded above 1 MiB with its own entry point", async () => {
    const r = await runVmm(["--mode", "long", "--load", "0x200000", "--entry", "0x200000", guest("hello-long.bin")]);
    expect(r).toEqual({ status: 0, stdout: "Hello from long mode\n", stderr: "" });
  });
});

// 32-bit non-PAE paging needs hardware-style KVM: run directly where /dev/kvm is hardware,
// through the nested runner where it is not.
test.skipIf(hardwareKvm.how === "skip")(`paged mode (raw and ELF) on hardware-style KVM${hardwareKvm.why ? ` — skipped: ${hardwareKvm.why}` : ""}`, async () => {
  const script = [
    "./dist/microvmm --mode paged guest/build/hello-32.bin; echo \"status=$?\"",
    "./dist/microvmm --mode paged guest/build/hello-32.elf; echo \"status=$?\"",
  ].join("; ");
  const r = await runHardware(["sh", "-c", script]);
  const lines = r.stdout.split("\n").filter((l) => !l.startsWith("nested-kvm:"));
  expect(lines.slice(0, 4)).toEqual(["Hello from paged mode", "status=0", "Hello from paged mode", "status=0"]);
  expect(r.status).toBe(0);
}, 300_000);
