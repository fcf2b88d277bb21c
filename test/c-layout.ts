// Compares our struct tables with a C compiler's view of the same declarations: a C program that
// includes the headers prints sizeof/offsetof/the value of every expression; the caller's
// expectation map says what we think each is.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Struct } from "../src/binary/struct";

export type Expectations = Map<string, { c: string; ours: number }>;

/** sizeof and the offset of every field of `s` (fields whose names start with "_" are reserved padding, not in C). */
export function structExpectations(s: Struct<object>, cName = `struct ${s.name}`, into: Expectations = new Map()): Expectations {
  into.set(`sizeof ${s.name}`, { c: `sizeof(${cName})`, ours: s.size });
  for (const f of s.fields()) if (!f.name.startsWith("_")) into.set(`${s.name}.${f.name}`, { c: `offsetof(${cName}, ${f.name})`, ours: f.offset });
  return into;
}

/** Compiles and runs the check; returns the mismatches ("name: ours X, C Y"), or throws if it does not build. */
export function compareWithC(prelude: string[], exp: Expectations, cflags: string[] = []): string[] {
  const dir = mkdtempSync(join(tmpdir(), "microvmm-layout-"));
  const src = [
    "#include <stdio.h>", "#include <stddef.h>", ...prelude, "int main(void) {",
    ...[...exp].map(([k, v]) => `  printf("%s=%lu\\n", "${k}", (unsigned long)(${v.c}));`),
    "  return 0;", "}",
  ].join("\n");
  writeFileSync(join(dir, "layout.c"), src);
  const cc = Bun.spawnSync(["cc", ...cflags, "-o", join(dir, "layout"), join(dir, "layout.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0 || cc.stderr.length > 0) throw new Error(`layout check did not compile:\n${cc.stderr.toString()}`);
  const out = Bun.spawnSync([join(dir, "layout")]).stdout.toString();
  const theirs = new Map(out.trim().split("\n").map((l) => {
    const [k, v] = l.split("=");
    return [k!, Number(v)] as const;
  }));
  if (theirs.size !== exp.size) throw new Error(`layout check printed ${theirs.size} values for ${exp.size} expectations`);
  return [...exp].filter(([k, v]) => theirs.get(k) !== v.ours).map(([k, v]) => `${k}: ours ${v.ours}, C ${theirs.get(k)}`);
}
