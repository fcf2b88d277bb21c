// The debugger stub against the real gdb (Debian's package) in batch mode, on guests of ours
// built with -g: a long-mode C guest, the same program in 32-bit protected mode, and a guest that
// goes from real mode through protected mode to long mode. And the protocol from a raw socket:
// what a broken or hostile debugger sends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, guest, hasKvm, ROOT, runVmm, timedReader } from "../helpers";
import { probeDebugCapabilities } from "../../src/gdb/kvm-probe";

const hasGdb = Bun.spawnSync(["sh", "-c", "command -v gdb"]).exitCode === 0;
const skipWhy = !hasKvm ? "no /dev/kvm" : !hasGdb ? "gdb is not installed (Debian: apt install gdb)" : "";

/** What this KVM does for a debugger (the same probe microvmm runs): some paths only run where it can. */
const caps = hasKvm ? probeDebugCapabilities("/dev/kvm") : undefined;

let dir = "";
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "microvmm-gdb-")); });
afterAll(() => { if (dir !== "") rmSync(dir, { recursive: true, force: true }); });

const MODES = ["--mode", "real", "--load", "0x8000", "--entry", "0x8000", guest("debug-modes.bin")];

interface Session {
  vm: { status: number; stdout: string; stderr: string };
  gdb: string;
}

type Reader = ReturnType<typeof timedReader>;

/**
 * Starts microvmm with --gdb on a unix socket, waits for its "waiting for gdb" line, runs gdb in
 * batch mode with `symbols` (a file, or "" for none) and the commands, then waits for both. `during` may act while gdb runs
 * (send it Ctrl-C once the guest says something).
 */
async function debug(vmArgs: string[], symbols: string, commands: string[],
  during?: (p: { vmOut: Reader; gdbOut: Reader; gdb: ReturnType<typeof Bun.spawn> }) => Promise<void>): Promise<Session> {
  const sock = join(dir, `gdb-${Math.random().toString(36).slice(2)}.sock`);
  // --gdb given by the caller (a TCP port) or a unix socket of the test's own.
  const gdbArgs = vmArgs.includes("--gdb") ? [] : ["--gdb", `unix:${sock}`];
  const vm = Bun.spawn([BIN, ...gdbArgs, ...vmArgs], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const killVm = setTimeout(() => vm.kill("SIGKILL"), 90_000);
  const vmErr = timedReader(vm.stderr);
  const vmOut = timedReader(vm.stdout);
  await vmErr.until("waiting for gdb", 20_000);
  await vmErr.until("\n", 5_000, vmErr.text.indexOf("waiting for gdb"));
  const where = /waiting for gdb on (\S+)/.exec(vmErr.text)![1]!;
  const gdb = Bun.spawn(["gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off", ...(symbols === "" ? [] : [symbols]),
    "-ex", `target remote ${where}`, ...commands.flatMap((c) => ["-ex", c])], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const killGdb = setTimeout(() => gdb.kill("SIGKILL"), 60_000);
  const gdbErr = new Response(gdb.stderr).text();
  const gdbOut = timedReader(gdb.stdout);
  await during?.({ vmOut, gdbOut, gdb });
  const text = (await gdbOut.rest()) + (await gdbErr);
  await gdb.exited;
  clearTimeout(killGdb);
  const status = await vm.exited;
  clearTimeout(killVm);
  return { vm: { status, stdout: await vmOut.rest(), stderr: await vmErr.rest() }, gdb: text };
}

describe.skipIf(skipWhy !== "")(`gdb on a long-mode C guest${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  test("break at a function, bt, print and set a local and a global, next, step, finish, kill", async () => {
    const s = await debug([guest("debug-me.elf")], guest("debug-me.elf"), [
      "break add_squares", "continue", "bt", "print n", "print limit",
      "next", "next", "step", "bt 1", "finish", "next", "print total",
      "set var total = 100", "print total", "set var limit = 7", "print limit", "print/x $pc", "kill",
    ]);
    const lines = s.gdb.split("\n");
    expect(lines).toContain("Breakpoint 1, add_squares (n=3) at guest/debug-me.c:16");
    expect(lines).toContain("#1  0x00000000001001c5 in main () at guest/debug-me.c:40");
    expect(lines).toContain("$1 = 3");
    expect(lines).toContain("18\t    total += square(i);");
    expect(lines).toContain("square (x=1) at guest/debug-me.c:11");
    expect(lines).toContain("#0  square (x=1) at guest/debug-me.c:11");
    expect(lines).toContain("Value returned is $3 = 1");
    expect(lines).toContain("$4 = 1"); // total after the first square
    expect(lines).toContain("$5 = 100");
    expect(lines).toContain("$6 = 7");
    expect(lines).toContain("$7 = 0x1000cc");
    expect(lines).toContain("[Inferior 1 (Remote target) killed]");
    // The guest stopped where gdb said: it printed its first line only.
    expect(s.vm.stdout).toBe("debug-me: start\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);

  test("watch a global: stops at each write with the old and new value; then the guest finishes", async () => {
    const s = await debug([guest("debug-me.elf")], guest("debug-me.elf"), [
      "watch counter", "continue", "continue", "delete", "set var spin_done = 1", "continue",
    ]);
    expect(s.gdb).toContain("Old value = 0\nNew value = 1\nmain () at guest/debug-me.c:40");
    expect(s.gdb).toContain("Old value = 1\nNew value = 14\nmain () at guest/debug-me.c:42");
    expect(s.gdb).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.stdout).toBe("debug-me: start\ndebug-me: sum 14\ndebug-me: spinning\ndebug-me: done\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);

  test("Ctrl-C stops a spinning guest at once; detach lets it finish", async () => {
    let sentAt = 0;
    let seenAt = 0;
    const s = await debug([guest("debug-me.elf")], guest("debug-me.elf"), ["continue", "bt 1", "set var spin_done = 1", "detach"],
      async ({ vmOut, gdbOut, gdb }) => {
        await vmOut.until("debug-me: spinning", 30_000);
        sentAt = performance.now();
        gdb.kill("SIGINT");
        await gdbOut.until("Program received signal SIGINT", 10_000);
        seenAt = performance.now();
      });
    const text = s.gdb;
    console.log(`Ctrl-C to the stop reply in gdb: ${(seenAt - sentAt).toFixed(1)} ms`);
    expect(text).toContain("Program received signal SIGINT, Interrupt.");
    // Stopped in the loop, or just before it (the last character of "spinning" on its way out).
    expect(text).toMatch(/^#0 {2}(0x[0-9a-f]+ in )?(spin|console_puts|console_putc|outb) \(/m);
    expect(text).toContain("[Inferior 1 (Remote target) detached]");
    expect(s.vm.stdout).toBe("debug-me: start\ndebug-me: sum 14\ndebug-me: spinning\ndebug-me: done\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);

  test("five breakpoints (four in the debug registers where they fire, the rest in guest memory): each hits, in order", async () => {
    const s = await debug([guest("debug-me.elf")], guest("debug-me.elf"), [
      "break main", "break add_squares", "break square", "break spin", "break put_dec", "continue", "monitor breakpoints",
      "continue", "continue", "delete 3", "continue", "continue", "bt 1", "delete", "set var spin_done = 1", "continue",
    ]);
    const hits = [...s.gdb.matchAll(/^Breakpoint (\d), (\w+) /gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(hits).toEqual(["1 main", "2 add_squares", "3 square", "5 put_dec", "4 spin"]);
    // How they are served, as this KVM allows (`monitor breakpoints`; gdb takes them out while stopped).
    expect(s.gdb).toMatch(/^breakpoints in guest memory: (INT3 \(this KVM intercepts it\)|a port write to 0xf7 \(this KVM does not intercept INT3\); not in user-mode code)$/m);
    expect(s.gdb).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.stdout).toBe("debug-me: start\ndebug-me: sum 14\ndebug-me: spinning\ndebug-me: done\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);
});

describe.skipIf(skipWhy !== "")(`read and access watchpoints${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  // In the debug registers where this KVM fires data breakpoints; else by taking the page out of guest RAM.
  test(`rwatch stops after the read of a global, awatch at a write (${caps?.dataBreakpoints ? "debug registers" : "the watched page out of guest RAM"})`, async () => {
    const s = await debug([guest("debug-me.elf")], guest("debug-me.elf"), [
      "rwatch limit", "continue", "bt 1", "delete", "awatch counter", "continue", "delete", "monitor breakpoints",
      "set var spin_done = 1", "continue",
    ]);
    expect(s.gdb).toContain("Hardware read watchpoint 1: limit\n\nValue = 3\n0x00000000001001bd in main () at guest/debug-me.c:40\n");
    expect(s.gdb).toContain("Hardware access (read/write) watchpoint 2: counter\n\nOld value = 1\nNew value = 14\nmain () at guest/debug-me.c:42\n");
    expect(s.gdb).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.stdout).toBe("debug-me: start\ndebug-me: sum 14\ndebug-me: spinning\ndebug-me: done\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);
});

describe.skipIf(skipWhy !== "")(`gdb on a multiboot kernel on the PC board${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  test("the first instruction with the Multiboot 2 magic in EAX and the information at EBX; it runs to its cli; hlt", async () => {
    const s = await debug(["--console", "serial", guest("test-multiboot2.elf")], guest("test-multiboot2.elf"), [
      "print/x $eax", "x/2wx $ebx", "monitor mode", "stepi", "stepi", "print/x $dx", "continue",
    ]);
    const lines = s.gdb.split("\n");
    expect(lines).toContain("$1 = 0x36d76289");
    expect(s.gdb).toMatch(/^0x[0-9a-f]+:\s+0x[0-9a-f]+\s+0x00000000$/m); // total_size, reserved
    expect(s.gdb).toMatch(/^protected 32-bit mode, paging off; next instruction at CS:IP [0-9a-f]{4}:00100038 = linear 0x100038; memory packets address linear memory$/m);
    expect(lines).toContain("$2 = 0xea");
    expect(lines).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.stderr).toContain("registers as i386");
    expect(s.vm.status).toBe(0);
  }, 120_000);
});

describe.skipIf(skipWhy !== "")(`gdb on a protected-mode guest${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  test("an ELFCLASS32 guest gets the i386 registers: break, print, finish, x/i, monitor mode; the guest exits", async () => {
    const s = await debug([guest("debug-me-32.elf")], guest("debug-me-32.elf"), [
      "break add_squares", "continue", "print n", "bt", "finish", "x/i $pc", "info registers eip cr0", "monitor mode",
      "set var spin_done = 1", "continue",
    ]);
    const lines = s.gdb.split("\n");
    expect(lines).toContain("Breakpoint 1, add_squares (n=3) at guest/debug-me.c:16");
    expect(lines).toContain("$1 = 3");
    expect(lines).toContain("#1  0x0010017e in main () at guest/debug-me.c:40");
    expect(lines).toContain("Value returned is $2 = 14");
    expect(lines).toContain("=> 0x10017e <main+40>:\tadd    $0x4,%esp");
    expect(s.gdb).toMatch(/^eip +0x10017e +0x10017e <main\+40>$/m);
    expect(s.gdb).toMatch(/^cr0 +0x33 +51$/m);
    expect(lines).toContain("protected 32-bit mode, paging off; next instruction at CS:IP 0008:0010017e = linear 0x10017e; memory packets address linear memory");
    expect(lines).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.status).toBe(0);
  }, 120_000);
});

describe.skipIf(skipWhy !== "")(`gdb from real mode to long mode in one session${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  test("stepping 16-bit code at CS:IP 0800:xxxx; breakpoints set at the start hit in protected and in long mode", async () => {
    const s = await debug(MODES, guest("debug-modes.elf"), [
      "monitor mode", "break in_real", "break in_protected", "break in_long",
      "stepi", "print/x $pc", "print/x $cs", "monitor mode", "continue", "print/x $bx", "stepi", "print/x $bx",
      "continue", "monitor mode", "print/x $ecx", "x/2i $pc",
      "continue", "monitor mode", "print/x $rdx", "info registers cr0 cr3 efer", "continue",
    ]);
    const lines = s.gdb.split("\n");
    expect(lines).toContain("real mode, paging off; next instruction at CS:IP 0000:8000 = linear 0x8000; memory packets address linear memory");
    expect(lines).toContain("$1 = 0x8005"); // after the far jump: linear 0x8000 + 5
    expect(lines).toContain("$2 = 0x800");
    expect(lines).toContain("real mode, paging off; next instruction at CS:IP 0800:0005 = linear 0x8005; memory packets address linear memory");
    expect(lines).toContain("Breakpoint 1, in_real () at guest/debug-modes.S:23");
    expect(lines).toContain("$3 = 0x1234");
    expect(lines).toContain("$4 = 0x1235"); // one 16-bit inc stepped
    expect(lines).toContain("Breakpoint 2, in_protected () at guest/debug-modes.S:41");
    expect(lines).toContain("protected 32-bit mode, paging off; next instruction at CS:IP 0008:0000803e = linear 0x803e; memory packets address linear memory");
    expect(lines).toContain("$5 = 0x11111111");
    expect(lines).toContain("Breakpoint 3, in_long () at guest/debug-modes.S:66");
    expect(lines).toContain("long 64-bit mode, paging on, CR3 0x10000; next instruction at CS:IP 0018:00000000000080a5 = linear 0x80a5; memory packets address linear memory");
    expect(lines).toContain("$6 = 0x2222222222222222");
    expect(s.gdb).toMatch(/^efer +0x500 +1280$/m);
    expect(lines).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.stdout).toBe("debug-modes: long mode\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);

  test("--gdb-arch i8086: 16-bit code disassembles as 16-bit; 32-bit registers", async () => {
    // No symbol file: gdb refuses a 64-bit ELF under the 16-bit architecture.
    const s = await debug(["--gdb-arch", "i8086", ...MODES], "", ["stepi", "x/3i $pc", "print/x $eip", "kill"]);
    expect(s.gdb).toContain("=> 0x8005:\tcli\n   0x8006:\tmov    %cs,%ax\n   0x8008:\tmov    %ax,%ds\n");
    expect(s.gdb.split("\n")).toContain("$1 = 0x8005");
    expect(s.vm.stderr).toContain("registers as i8086");
    expect(s.vm.status).toBe(0);
  }, 120_000);

  test("physical memory through monitor xp and Qqemu.PhyMemMode; gdb quitting while the guest is stopped detaches", async () => {
    const s = await debug(MODES, guest("debug-modes.elf"), [
      "break in_long", "continue", "monitor xp 0x10000 16", "maintenance packet Qqemu.PhyMemMode:1", "x/2xw 0x11000",
      "maintenance packet Qqemu.PhyMemMode:0", "monitor xp 0xfffffffff0", "monitor phys on", "monitor phys off",
    ]);
    // The page-table entries the guest wrote, with the accessed bit (0x20) the CPU set walking them.
    expect(s.gdb).toContain("0x10000: 23 10 01 00 00 00 00 00 00 00 00 00 00 00 00 00");
    expect(s.gdb).toMatch(/0x11000:\s+0x00012023\s+0x00000000/);
    expect(s.gdb).toContain("0xfffffffff0: not guest RAM");
    expect(s.gdb).toContain("memory packets now address guest-physical memory");
    // gdb's batch run ended with the guest stopped at in_long: gdb detaches (qAttached), the guest goes on to its end.
    expect(s.vm.stdout).toBe("debug-modes: long mode\n");
    expect(s.vm.status).toBe(0);
  }, 120_000);
});

/** The raw protocol: a socket of our own, packets by hand. */
async function rawSession(vmArgs: string[], talk: (send: (bytes: string) => void, next: (timeoutMs?: number) => Promise<string>) => Promise<void>) {
  const sock = join(dir, `raw-${Math.random().toString(36).slice(2)}.sock`);
  const vm = Bun.spawn([BIN, "--gdb", `unix:${sock}`, ...vmArgs], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const killVm = setTimeout(() => vm.kill("SIGKILL"), 60_000);
  const vmErr = timedReader(vm.stderr);
  await vmErr.until("waiting for gdb", 20_000);
  const c = connect(sock);
  let got = "";
  const waiters: Array<() => void> = [];
  c.on("data", (d) => { got += d.toString("latin1"); waiters.splice(0).forEach((w) => w()); });
  await new Promise<void>((resolve) => c.on("connect", () => resolve()));
  /** The next ack or packet the stub sent. */
  const next = async (timeoutMs = 10_000): Promise<string> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(\+|-|\$[^#]*#[0-9a-f]{2})/.exec(got);
      if (m !== null) { got = got.slice(m[0].length); return m[0]; }
      if (Date.now() > end) throw new Error(`no reply; have ${JSON.stringify(got)}`);
      await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 200); });
    }
  };
  await talk((b) => c.write(Buffer.from(b, "latin1")), next);
  c.end();
  const status = await vm.exited;
  clearTimeout(killVm);
  return { status, stdout: await new Response(vm.stdout).text(), stderr: await vmErr.rest() };
}

const packet = (data: string) => {
  let sum = 0;
  for (const ch of data) sum = (sum + ch.charCodeAt(0)) & 0xff;
  return `$${data}#${sum.toString(16).padStart(2, "0")}`;
};

describe.skipIf(!hasKvm)(`the protocol from a hostile debugger${!hasKvm ? " — skipped: no /dev/kvm" : ""}`, () => {
  test("bad checksums, junk, huge lengths, addresses outside RAM: error replies; then detach, and the guest runs on", async () => {
    const r = await rawSession(MODES, async (send, next) => {
      send("$g#00"); // wrong checksum
      expect(await next()).toBe("-");
      send("garbage\x00\xff" + packet("?"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("T05thread:01;"));
      send(packet("m" + "f".repeat(16) + ",ffffffff"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("E0e"));
      send(packet("m" + "1".repeat(40) + ",4"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("E16"));
      send(packet("M0fff0000,4:00000000")); // past the end of RAM: nothing is written
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("E0e"));
      send("$" + "m".repeat(0x5000) + "#01"); // longer than PacketSize, and a wrong sum
      expect(await next()).toBe("-");
      send("$" + "m".repeat(0x5000) + "#00"); // longer than PacketSize, its sum right
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("E16"));
      const huge = "X8000," + "1".repeat(0x5000);
      send(packet(huge));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("E16"));
      send(packet("Z0,ffffffffffffffffff,1"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("E16"));
      send(packet("m8000,2")); // the guest's first bytes: ljmp (ea)
      expect(await next()).toBe("+");
      expect((await next()).slice(1, 3)).toBe("ea");
      send(packet("QStartNoAckMode"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("OK"));
      send("+" + packet("D"));
      expect(await next()).toBe(packet("OK"));
    });
    expect(r.stdout).toBe("debug-modes: long mode\n");
    expect(r.status).toBe(0);
  }, 60_000);

  test("a debugger that floods packets while the guest runs is let go, with one line; the guest runs on", async () => {
    const r = await rawSession(MODES, async (send, next) => {
      send(packet("QStartNoAckMode"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("OK"));
      send(packet("Z0,80a5,1")); // in_long: the guest would stop there if this debugger stayed
      expect(await next()).toBe(packet("OK"));
      send(packet("c") + packet("g").repeat(20_000));
    });
    expect(r.stderr).toContain("the debugger sent more than 4096 packets without waiting for replies: disconnected");
    expect(r.stdout).toBe("debug-modes: long mode\n");
    expect(r.status).toBe(0);
  }, 60_000);

  test("a debugger that goes away without a word (EOF) leaves the guest running, its breakpoints gone", async () => {
    const r = await rawSession(MODES, async (send, next) => {
      send(packet("Z0,80a5,1")); // in_long
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("OK"));
    });
    expect(r.stdout).toBe("debug-modes: long mode\n");
    expect(r.status).toBe(0);
  }, 60_000);

  test("a debugger that connects to a running guest stops it; the one before had let it go", async () => {
    const sock = join(dir, "again.sock");
    const vm = Bun.spawn([BIN, "--gdb", `unix:${sock}`, guest("debug-me.elf")], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const killVm = setTimeout(() => vm.kill("SIGKILL"), 60_000);
    const vmErr = timedReader(vm.stderr);
    const vmOut = timedReader(vm.stdout);
    await vmErr.until("waiting for gdb", 20_000);
    const talk = async (script: string, until: string) => {
      const c = connect(sock);
      let got = "";
      await new Promise<void>((resolve) => c.on("data", (d) => { got += d.toString("latin1"); if (got.includes(until)) resolve(); }).on("connect", () => c.write(script)));
      c.end();
      return got;
    };
    expect(await talk(packet("c"), "+")).toBe("+"); // continue, then hang up without a word
    await vmOut.until("debug-me: spinning", 20_000);
    const second = await talk(packet("?") + packet("k"), "#");
    expect(second.startsWith("+" + packet("T05thread:01;"))).toBe(true); // (and the ack of k may follow)
    expect(await vm.exited).toBe(0);
    clearTimeout(killVm);
    expect((await vmErr.rest()).match(/debugger connected/g)?.length).toBe(2);
  }, 60_000);

  test("Ctrl-C of a running guest gives T02 within moments; k ends the VM with status 0", async () => {
    const r = await rawSession([guest("debug-me.elf")], async (send, next) => {
      send(packet("QStartNoAckMode"));
      expect(await next()).toBe("+");
      expect(await next()).toBe(packet("OK"));
      send(packet("c"));
      await Bun.sleep(0); // the guest runs until interrupted; no reply comes before
      send("\x03");
      expect(await next()).toBe(packet("T02thread:01;"));
      send(packet("k"));
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("debugger connected");
  }, 60_000);
});

describe.skipIf(skipWhy !== "")(`gdb on the first of several VMs${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  test("the first VM waits for the debugger; the second runs meanwhile; both end", async () => {
    const s = await debug(["--vm", guest("debug-me.elf"), "--vm", guest("hello-32.elf")], guest("debug-me.elf"), [
      "break add_squares", "continue", "print n", "delete", "set var spin_done = 1", "continue",
    ]);
    expect(s.gdb).toContain("Breakpoint 1, add_squares (n=3) at guest/debug-me.c:16");
    expect(s.gdb).toContain("[Inferior 1 (Remote target) exited normally]");
    expect(s.vm.stdout).toContain("[vm0] debug-me: done\n");
    expect(s.vm.stdout).toContain("[vm1] ");
    expect(s.vm.status).toBe(0);
  }, 120_000);
});

describe.skipIf(skipWhy !== "")(`gdb over TCP${skipWhy ? ` — skipped: ${skipWhy}` : ""}`, () => {
  test("--gdb 127.0.0.1:0 listens on a free port and says which; gdb connects there", async () => {
    const s = await debug(["--gdb", "127.0.0.1:0", guest("debug-me.elf")], guest("debug-me.elf"), ["break square", "continue", "print x", "kill"]);
    expect(s.vm.stderr).toMatch(/^microvmm: waiting for gdb on 127\.0\.0\.1:(\d+) \(in gdb: target remote 127\.0\.0\.1:\1; registers as x86-64\)$/m);
    expect(s.gdb).toContain("Breakpoint 1, square (x=1) at guest/debug-me.c:11");
    expect(s.gdb.split("\n")).toContain("$1 = 1");
    expect(s.vm.status).toBe(0);
  }, 60_000);
});

describe.skipIf(!hasKvm)("--gdb refusals", () => {
  test("a bad address, --gdb-arch alone, a path that is not a socket: one line, status 2", async () => {
    for (const [args, msg] of [
      [["--gdb", "99999"], /^microvmm: bad --gdb "99999": \[HOST:\]PORT/],
      [["--gdb-arch", "i386"], /^microvmm: --gdb-arch goes with --gdb$/],
      [["--gdb", "1234", "--gdb-arch", "arm"], /^microvmm: bad --gdb-arch "arm": x86-64, i386 or i8086$/],
      [["--gdb", `unix:${ROOT}/package.json`], /^microvmm: --gdb unix:.*package\.json: the path exists and is not a socket — give a new path$/],
    ] as const) {
      const r = await runVmm([...args, guest("debug-me.elf")]);
      expect(r.stderr.trimEnd()).toMatch(msg);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.status).toBe(2);
    }
  });

  test("a port in use: one line, status 3", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const r = await runVmm(["--gdb", `127.0.0.1:${server.port}`, guest("debug-me.elf")]);
    server.stop(true);
    expect(r.stderr).toBe(`microvmm: --gdb 127.0.0.1:${server.port}: the address is in use — pick another port (or path)\n`);
    expect(r.status).toBe(3);
  });
});
