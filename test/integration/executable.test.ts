// dist/microvmm stands alone: copied into an empty directory, with no Bun on PATH, it still runs
// the built-in demos (embedded in the executable) on real KVM.
import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, guest, hasKvm, outputReader } from "../helpers";

test.skipIf(!hasKvm)("the built-in demos run from an empty directory with no Bun installed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "microvmm-alone-"));
  copyFileSync(BIN, join(dir, "microvmm"));
  expect(readdirSync(dir)).toEqual(["microvmm"]);
  for (const demo of ["demo", "demo-raw"]) {
    const p = Bun.spawn(["./microvmm", "--stats", demo], {
      cwd: dir, env: { PATH: "/usr/bin:/bin", HOME: dir }, stdin: "pipe", stdout: "pipe", stderr: "pipe",
    });
    p.stdin.write("alone\n");
    await p.stdin.flush();
    // The demo ticks once a second: wait for the banner and the line once.
    const out = await outputReader(p.stdout).contains("alone\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(143);
    expect(out).toStartWith("echo demo: type a line and press Enter (Ctrl-A x quits)\nalone\n");
    expect(await new Response(p.stderr).text()).toContain("keyboard: 6 keys delivered");
  }
});

// A compiled Bun program reads bunfig.toml and .env from the directory it is started in unless
// built not to: a user's files there must not change what microvmm does, or run code in it.
test.skipIf(!hasKvm)("bunfig.toml and .env in the working directory are not read", () => {
  const dir = mkdtempSync(join(tmpdir(), "microvmm-cwd-"));
  writeFileSync(join(dir, "bunfig.toml"), "[[[ not toml\npreload = [\"./preload.ts\"]\n");
  writeFileSync(join(dir, "preload.ts"), "console.log('preloaded');\n");
  writeFileSync(join(dir, ".env"), "NODE_OPTIONS=--bogus\n");
  const r = Bun.spawnSync([BIN, "--mode", "long", guest("hello-long.bin")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.stdout.toString()).toBe("Hello, world!\nHello from long mode\n");
  expect(r.exitCode).toBe(0);
});
