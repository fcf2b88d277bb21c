// xv6 (MIT's x86 teaching OS), built here from its sources in ../shared/testdata/xv6 (MIT licence;
// see its ORIGIN), never copied into this project: `make kernel fs.img` with the host gcc, plus
// -Wno-error (gcc 12 warns where the 2020 sources did not). Built once per test run into a
// temporary directory. Tests skip, saying why, where the sources are absent.
import { cpSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROOT } from "../helpers";

export const XV6_SOURCES = process.env.MICROVMM_XV6 ?? resolve(ROOT, "../shared/testdata/xv6");
export const xv6: { available: boolean; why: string } = existsSync(join(XV6_SOURCES, "Makefile"))
  ? { available: true, why: "" }
  : { available: false, why: `xv6's sources are not at ${XV6_SOURCES}` };

let built: { kernel: string; fsImg: string } | undefined;

/** Builds xv6's kernel and file system image (once); returns their paths. */
export function buildXv6(): { kernel: string; fsImg: string } {
  if (built !== undefined) return built;
  const dir = mkdtempSync(join(tmpdir(), "microvmm-xv6-"));
  cpSync(XV6_SOURCES, dir, { recursive: true });
  // The Makefile's own CFLAGS, plus one flag: appended after its assignments.
  writeFileSync(join(dir, "extra.mk"), "include Makefile\nCFLAGS += -Wno-error\n");
  const r = Bun.spawnSync(["make", "-f", "extra.mk", "TOOLPREFIX=", "kernel", "fs.img"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`building xv6 failed:\n${r.stderr.toString().slice(-2000)}`);
  built = { kernel: join(dir, "kernel"), fsImg: join(dir, "fs.img") };
  return built;
}
