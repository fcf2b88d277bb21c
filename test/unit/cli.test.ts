import { describe, expect, test } from "bun:test";
import { parseAddress, parseArgs, parseSize, USAGE } from "../../src/cli";
import { EscapeDecoder, FORWARD_NONE, QUIT } from "../../src/host/input";

describe("command line", () => {
  test("sizes", () => {
    expect(parseSize("64M")).toBe(64 << 20);
    expect(parseSize("2G")).toBe(2 ** 31);
    expect(parseSize("512K")).toBe(512 << 10);
    expect(parseSize("128")).toBe(128 << 20);
    expect(parseSize("8GiB")).toBe(8 * 2 ** 30);
    for (const bad of ["", "x", "-1M", "1.5G", "1000B", "4K", "1T"]) expect(() => parseSize(bad)).toThrow();
  });

  test("addresses", () => {
    expect(parseAddress("0x100000", "--load")).toBe(0x100000);
    expect(parseAddress("4096", "--load")).toBe(4096);
    for (const bad of ["", "0x", "12z", "-5", "0x1fffffffffffffff"]) expect(() => parseAddress(bad, "--load")).toThrow(/bad --load address/);
  });

  test("options", () => {
    expect(parseArgs(["-m", "64M", "--mode=long", "--load", "0x1000", "--stats", "g.bin"])).toMatchObject({
      memorySize: 64 << 20, mode: "long", load: 0x1000, stats: "text", trace: false, guest: "g.bin",
    });
    expect(() => parseArgs([])).toThrow(/no guest given/);
    expect(() => parseArgs(["--mode", "virtual", "g"])).toThrow(/bad --mode/);
    expect(() => parseArgs(["--bogus", "g"])).toThrow(/unknown option --bogus/);
    expect(() => parseArgs(["a", "b"])).toThrow(/one guest at a time/);
    expect(() => parseArgs(["g", "--memory"])).toThrow(/--memory needs a value/);
    expect(parseArgs(["--help"]).help).toBe(true);
  });

  test("options that would be ignored are refused: scheduling options without --vm", () => {
    expect(() => parseArgs(["--quantum", "10ms", "g"])).toThrow("--quantum and --name go with several VMs: give each guest with --vm");
    expect(() => parseArgs(["--name", "x", "g"])).toThrow("--quantum and --name go with several VMs");
    expect(() => parseArgs(["--quantum", "10ms", "--kernel", "k"])).toThrow("--quantum and --name go with several VMs");
    expect(parseArgs(["--quantum", "10ms", "--vm", "g", "--name", "x"]).vms[0]!.name).toBe("x");
  });

  test("--cpus: a count from 1 to 255, default 1, before or after the kernel", () => {
    expect(parseArgs(["k"]).cpus).toBe(1);
    expect(parseArgs(["--cpus", "4", "--kernel", "k"]).cpus).toBe(4);
    expect(parseArgs(["k", "--cpus=255"]).cpus).toBe(255);
    for (const bad of ["0", "256", "-1", "2.5", "", "0x2"]) expect(() => parseArgs(["--cpus", bad, "k"])).toThrow(`bad --cpus "${bad}": a number of vCPUs from 1 to 255`);
    expect(USAGE).toContain("--cpus N");
  });

  test("--help documents every exit status", () => {
    for (const s of ["0 ", "1 ", "2 ", "3 ", "70 ", "128+N"]) expect(USAGE).toContain(`\n  ${s}`);
  });
});

describe("Ctrl-A escape", () => {
  test("Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, other bytes pass", () => {
    const d = new EscapeDecoder();
    expect([0x61, 0x01, 0x01, 0x01, 0x79, 0x03, 0x01, 0x78].map((b) => d.feed(b)))
      .toEqual([0x61, FORWARD_NONE, 0x01, FORWARD_NONE, FORWARD_NONE, 0x03, FORWARD_NONE, QUIT]);
  });
});
