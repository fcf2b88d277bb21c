// The hypercall guests end to end, and the views into a VM: --stats=json, --trace, --regs, --peek.
import { describe, expect, test } from "bun:test";
import { guest, hasKvm, ROOT, runVmm } from "../helpers";

/** A symbol's address in a guest ELF, from binutils' nm. */
function symbol(elf: string, name: string): number {
  const out = Bun.spawnSync(["nm", elf], { cwd: ROOT }).stdout.toString();
  const line = out.split("\n").find((l) => l.endsWith(` ${name}`));
  if (line === undefined) throw new Error(`no symbol ${name} in ${elf}`);
  return parseInt(line.split(" ")[0]!, 16);
}

describe.skipIf(!hasKvm)("hypercalls on real KVM", () => {
  test("the hypercall guest prints exactly what each call promises", async () => {
    const r = await runVmm(["--stats=json", guest("hypercalls.elf")]);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
    const host = parseInt(stats.memory[0].hostVirtual, 16);
    const hva = (host + symbol(guest("hypercalls.elf"), "buffer")) % 2 ** 32;
    expect(r.stdout).toBe([
      "Hello from the hypercall guest", // 0xE9: 31 exits
      "2048",
      "4294967295",
      "a string in one exit", // 0xEC: one exit
      "35", // 31 + 2 + 1 exits before, and this 0xEB read itself
      "41", // five reads of port 0x46, then this read: 35 + 6
      "IO in: 8", // 5 reads, 2 × 0xEB, this 0xED
      "IO out: 36", // 31 × 0xE9, 4 × 0xEA, 1 × 0xEC
      String(hva), // 0xEE/0xEF on `buffer`: the host address, low 32 bits
      "Invalid GVA",
      "0",
      "IO in: 11", // + 0xEF twice and this 0xED
      "IO out: 41", // + 0xEC, 2 × 0xEE, 2 × 0xEA
      "",
    ].join("\n"));
    expect(stats.hypercalls).toEqual({ debugcon: 31, printDecimal: 6, exitCount: 2, printString: 3, ioCounts: 2, setGva: 2, translate: 2 });
  });

  test("hostile pointers: each refused with a message, the VM goes on and halts with 0", async () => {
    const r = await runVmm(["-m", "128M", guest("test-hostile.elf")]);
    expect(r.stdout).toBe("Invalid GVA\n0\nstill running\n");
    const noNul = symbol(guest("test-hostile.elf"), "no_nul").toString(16);
    expect(r.stderr).toBe([
      "microvmm: hypercall 0xEC: string at 0x9000000: guest physical 0x9000000 is not in guest RAM; nothing printed",
      `microvmm: hypercall 0xEC: string at 0x${noNul} has no NUL in its first 65536 bytes; nothing printed`,
      "microvmm: hypercall 0xEC: string at 0xc0000000: address 0xc0000000 does not translate (not mapped); nothing printed",
      "",
    ].join("\n"));
    expect(r.status).toBe(0);
  });

  test("--stats=json parses, and its counts agree with the --trace lines of the same run", async () => {
    const r = await runVmm(["--trace", "--stats=json", guest("hypercalls.elf")]);
    const lines = r.stderr.trim().split("\n");
    const stats = JSON.parse(lines.pop()!);
    const traced = lines.filter((l) => l.startsWith("exit "));
    expect(traced.length).toBe(lines.length);
    expect(traced.length).toBe(stats.exits.total);
    const byReason: Record<string, number> = {};
    const ports: Record<string, { in: number; out: number }> = {};
    for (const l of traced) {
      const reason = l.split(" ")[1]!;
      byReason[reason] = (byReason[reason] ?? 0) + 1;
      const m = /^exit IO (in|out) port=(0x[0-9a-f]{4})/.exec(l);
      if (m) {
        const p = (ports[m[2]!] ??= { in: 0, out: 0 });
        p[m[1] as "in" | "out"]++;
      }
    }
    expect(byReason).toEqual(stats.exits.byReason);
    const sorted = Object.entries(ports).sort(([a], [b]) => parseInt(a, 16) - parseInt(b, 16));
    expect(sorted.map(([port, c]) => ({ port, ...c }))).toEqual(stats.portIo);
  });

  test("--trace says the exit reason, port, size, direction and data", async () => {
    const r = await runVmm(["--trace", guest("hypercalls.elf")]);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe("exit IO out port=0x00e9 (hypercall) size=1 data=48");
    expect(lines).toContain("exit IO out port=0x00ea (hypercall) size=4 data=00000800");
    expect(lines).toContain("exit IO in port=0x0046 (timer) size=1 data=00");
  });

  test("--peek outside RAM is refused before the run; --peek length and --regs formats", async () => {
    const outside = await runVmm(["-m", "1M", "--peek", "0x100000", "--mode", "long", guest("hello-long.bin")]);
    expect(outside).toEqual({ status: 2, stdout: "", stderr: "microvmm: --peek 0x100000:16 is not in guest RAM (0x0-0xfffff)\n" });
    const r = await runVmm(["-m", "1M", "--regs", "--peek", "0x400:20", "--mode", "long", guest("hello-long.bin")]);
    const err = r.stderr.split("\n");
    expect(err).toContain("rax=0x000000000000002a");
    expect(err).toContain("0x00000400: 2a 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  *...............");
    expect(err).toContain("0x00000410: 00 00 00 00                                      ....");
    for (const reg of ["rbx", "rip", "rflags", "cs", "ss", "cr0", "cr3", "cr4", "efer"]) {
      expect(err.some((l) => l.startsWith(`${reg}=0x`))).toBe(true);
    }
  });
});

describe.skipIf(!hasKvm)("docs/tour.md's numbers", () => {
  test("match a run of the hello guest now", async () => {
    const tour = await Bun.file(`${ROOT}/docs/tour.md`).text();
    const r = await runVmm(["--stats", "--regs", "--mode", "long", guest("hello-long.bin")]);
    const err = r.stderr.split("\n");
    for (const line of ["  exits: 36", "    0x0042 out: 21", "    0x00e9 out: 14",
      "  boot area (long mode): 0x7ff7000+36K: GDT 0x7ff7000, scratch 0x7ff8000, 3 page-table pages at 0x7ff9000, stack top 0x8000000"]) {
      expect(err).toContain(line);
      expect(tour).toContain(line.trim());
    }
    for (const reg of ["rip=0x0000000000000039", "rsp=0x0000000008000000", "cr3=0x0000000007ff9000", "rax=0x000000000000002a"]) {
      expect(err).toContain(reg);
      expect(tour).toContain(reg);
    }
    const kvmRun = /kvm_run: (\d+) bytes/.exec(r.stderr)![1];
    expect(tour).toContain(`kvm_run: ${kvmRun} bytes`);
  });
});
