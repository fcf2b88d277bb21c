// The README's "Library" examples, verbatim, in a fresh project outside the repository that
// depends on this checkout (a path dependency, installed by bun): the docs cannot rot.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasKvm, ROOT } from "../helpers";

const BUN = join(ROOT, "node_modules/.bin/bun");

/** The ```ts blocks of the README's "## Library" section, in order. */
export function libraryExamples(readme: string): string[] {
  const start = readme.indexOf("\n## Library\n");
  if (start < 0) return [];
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const examples = libraryExamples(readFileSync(join(ROOT, "README.md"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "microvmm-library-user-"));
const run = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
};

describe.skipIf(!hasKvm)("the README's library examples, run from a project of their own", () => {
  beforeAll(() => {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "uses-microvmm", private: true, type: "module", dependencies: { microvmm: `file:${ROOT}` } }));
    const install = run([BUN, "install"]);
    if (install.status !== 0) throw new Error(`bun install failed:\n${install.stdout}${install.stderr}`);
  }, 120_000);

  test("there are two: a custom device, and a bun test", () => {
    expect(examples.length).toBe(2);
    expect(examples[1]).toContain('from "bun:test"');
  });

  test("the custom device example prints its greeting and how the guest ended", () => {
    writeFileSync(join(dir, "device.ts"), examples[0]!);
    const r = run([BUN, "device.ts"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Hello from a device written in TypeScript\nstatus 0 after \d+ exits\n$/);
    expect(r.status).toBe(0);
  });

  test("the bun test example passes", () => {
    writeFileSync(join(dir, "guest.test.ts"), examples[1]!);
    const r = run([BUN, "test", "./guest.test.ts"]);
    expect(r.stderr).toContain("(pass) the guest says ok and halts");
    expect(r.stderr).toMatch(/\n 1 pass\n 0 fail\n/);
    expect(r.status).toBe(0);
  });
});
