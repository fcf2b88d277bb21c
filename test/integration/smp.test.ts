// Several vCPUs (--cpus) on a multiboot kernel of ours (guest/test-smp.S) that starts its
// application processors by INIT and SIPI through the in-kernel local APIC and has each count in
// its own slot, with a port exit per round served for that AP by the main thread. How the VM ends
// with several vCPUs: the boot vCPU halting while an AP spins, an AP's triple fault, a signal.
import { describe, expect, test } from "bun:test";
import { BIN, guest, hasKvm, ROOT, runVmm, timedReader } from "../helpers";

const smp = (variant = "") => guest(`test-smp${variant === "" ? "" : `-${variant}`}.elf`);

describe.skipIf(!hasKvm)("several vCPUs on the PC board", () => {
  test("--cpus 4: the MP table lists 4 processors; three APs start, each counts 1000 rounds in its own slot; locked adds all land", async () => {
    const r = await runVmm(["--console", "serial", "--cpus", "4", "--stats", smp()], { timeoutMs: 60_000 });
    expect(r.stdout).toBe("4\n1000\n1000\n1000\n3000\nsmp done\n");
    expect(r.status).toBe(0);
    // Each AP's 1000 port reads were its own exits; the boot vCPU made 6 (its prints).
    expect(r.stderr).toContain("exits by vCPU: 0: 6, 1: 1000, 2: 1000, 3: 1000\n");
    expect(r.stderr).toContain("    0x00eb in: 3000\n");
  }, 90_000);

  test("--cpus 2, and --cpus 1 (the default) has no AP to start", async () => {
    const two = await runVmm(["--console", "serial", "--cpus", "2", smp()], { timeoutMs: 60_000 });
    expect([two.stdout, two.status]).toEqual(["2\n1000\n1000\nsmp done\n", 0]);
    const one = await runVmm(["--console", "serial", "--stats", smp()], { timeoutMs: 60_000 });
    expect([one.stdout, one.status]).toEqual(["1\n0\nsmp done\n", 0]);
    expect(one.stderr).not.toContain("exits by vCPU");
  }, 90_000);

  test("the boot vCPU halts with interrupts off while an AP spins forever: the VM ends with 0; --regs shows every vCPU", async () => {
    const r = await runVmm(["--console", "serial", "--cpus", "2", "--regs", smp("spin")], { timeoutMs: 60_000 });
    expect(r.stdout).toBe("2\n1000\n1000\nsmp done\n");
    expect(r.status).toBe(0);
    const lines = r.stderr.split("\n");
    expect(lines.filter((l) => /^vcpu \d:$/.test(l))).toEqual(["vcpu 0:", "vcpu 1:"]);
    // The AP's registers follow its heading: it is in protected mode, in its spin loop.
    const ap = lines.slice(lines.indexOf("vcpu 1:"));
    expect(ap).toContain("cs=0x0008 base=0x0000000000000000 limit=0xffffffff");
    expect(ap.find((l) => l.startsWith("rbx="))).toBe("rbx=0x0000000000000001"); // its APIC ID
  }, 90_000);

  test("an AP the kernel never starts: --regs says it waits for INIT and SIPI", async () => {
    const r = await runVmm(["--console", "serial", "--cpus", "2", "--regs", guest("test-debug-exit.elf")], { timeoutMs: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n")).toContain("vcpu 1: not started (waiting for INIT and SIPI)");
  }, 90_000);

  test("an AP's triple fault ends the whole VM as the guest's failure, with every vCPU's registers", async () => {
    const r = await runVmm(["--console", "serial", "--cpus", "2", smp("fault")], { timeoutMs: 60_000 });
    expect(r.stdout).toBe("2\n");
    expect(r.stderr).toContain("microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN)");
    expect(r.stderr).toMatch(/^ {2}vcpu 1:$/m);
    expect(r.status).toBe(1);
  }, 90_000);

  test("SIGTERM while every vCPU spins: all stop promptly, status 143", async () => {
    const p = Bun.spawn([BIN, "--console", "serial", "--cpus", "3", smp("forever")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    const out = timedReader(p.stdout);
    await out.until("smp done\n", 50_000);
    const t0 = performance.now();
    p.kill("SIGTERM");
    const status = await p.exited;
    clearTimeout(killer);
    expect(status).toBe(143);
    expect(performance.now() - t0).toBeLessThan(3000); // not the 2 s give-up wait per AP, nor a hang
    expect(await new Response(p.stderr).text()).toBe("microvmm: stopped by SIGTERM\n");
  }, 90_000);
});

describe.skipIf(!hasKvm)("several vCPUs in a plain guest (the course board)", () => {
  // The same kernel without its multiboot header: an ELFCLASS32 plain guest, entered in protected mode.
  test("--cpus 4: the MP table lists 4 processors; the APs start by INIT and SIPI and each counts in its own slot", async () => {
    const r = await runVmm(["--cpus", "4", "--stats", smp("plain")], { timeoutMs: 60_000 });
    expect(r.stdout).toBe("4\n1000\n1000\n1000\n3000\nsmp done\n");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("exits by vCPU: 0: 6, 1: 1000, 2: 1000, 3: 1000\n");
  }, 90_000);

  test("--cpus 1: no interrupt controller and no MP table (the kernel finds no processors); HLT ends the guest", async () => {
    const r = await runVmm(["--stats", smp("plain")], { timeoutMs: 60_000 });
    expect([r.stdout, r.status]).toEqual(["0\n0\nsmp done\n", 0]);
    expect(r.stderr).toContain("    HLT: 1\n");
  }, 90_000);

  test("the boot vCPU halts with interrupts off while an AP spins forever: the VM ends with 0", async () => {
    const r = await runVmm(["--cpus", "2", "--regs", smp("plain-spin")], { timeoutMs: 60_000 });
    expect([r.stdout, r.status]).toEqual(["2\n1000\n1000\nsmp done\n", 0]);
    expect(r.stderr.split("\n").filter((l) => /^vcpu \d:$/.test(l))).toEqual(["vcpu 0:", "vcpu 1:"]);
  }, 90_000);

  test("the console at port 0x42 is the course board's, not the PIT's (there is none with several vCPUs)", async () => {
    const r = await runVmm(["--cpus", "2", guest("hello-32.elf")], { timeoutMs: 60_000 });
    expect([r.stdout, r.status]).toEqual(["Hello, world!\nHello from protected mode\n", 0]);
  }, 90_000);
});

describe("--cpus on the command line", () => {
  test("refused with one line and status 2 where it cannot apply", async () => {
    const cases: Array<[string[], string]> = [
      [["--cpus", "0", smp()], 'bad --cpus "0": a number of vCPUs from 1 to 255'],
      [["--cpus", "two", smp()], 'bad --cpus "two": a number of vCPUs from 1 to 255'],
      [["--cpus", "2", "--mode", "real", "--load", "0xf0000", guest("hello-real.bin")],
        `${guest("hello-real.bin")}: the image (0xf0000-0xf0051) overlaps the MP table at 0xf0000-0xf00fc: load it elsewhere`],
      [["--cpus", "2", "-m", "512K", smp("plain")], "--cpus 2 needs guest RAM beyond 1 MiB (the MP table goes at 0xf0000) — raise --memory"],
      [["--cpus", "2", "--vm", smp(), "--vm", smp()], "--cpus goes with one VM: several VMs (--vm) run one vCPU each on one thread"],
      [["--cpus", "2", "--gdb", "0", smp()], "--gdb debugs one vCPU: leave out --cpus (or give --cpus 1)"],
    ];
    for (const [args, line] of cases) {
      const r = await runVmm(args);
      expect([r.stderr, r.status]).toEqual([`microvmm: ${line}\n`, 2]);
    }
  });
});
