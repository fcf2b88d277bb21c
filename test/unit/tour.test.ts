// docs/tour.md: every code reference names a real file and a function, method or constant
// declared in it.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "../helpers";

const TOUR = join(ROOT, "docs/tour.md");

/** `[`Class.method`](../src/file.ts)` and `[`name`](../src/file.ts)` links in the tour. */
export function codeReferences(markdown: string): Array<{ name: string; path: string }> {
  return [...markdown.matchAll(/\[`([A-Za-z_][\w.]*)`\]\(([^)#]+)\)/g)].map((m) => ({ name: m[1]!, path: m[2]! }));
}

function declares(source: string, name: string): boolean {
  const [owner, member] = name.includes(".") ? name.split(".") : [undefined, name];
  const decl = new RegExp(
    `(^|\\n)\\s*(export\\s+)?(async\\s+)?(function|const|let|class|interface|type)\\s+${member}\\b` + // top level
    `|\\n\\s+(static\\s+|private\\s+|readonly\\s+|async\\s+|get\\s+)*${member}\\s*[(<]`, // a method
  );
  if (!decl.test(source)) return false;
  return owner === undefined || new RegExp(`class\\s+${owner}\\b`).test(source);
}

test("every code reference in docs/tour.md points at a real file and declaration", () => {
  const refs = codeReferences(readFileSync(TOUR, "utf8"));
  expect(refs.length).toBeGreaterThan(30);
  const broken = refs.filter(({ name, path }) => {
    const file = join(dirname(TOUR), path);
    return !existsSync(file) || !declares(readFileSync(file, "utf8"), name);
  });
  expect(broken).toEqual([]);
});

test("the reference checker itself rejects a wrong name and a wrong file", () => {
  const src = readFileSync(join(ROOT, "src/kvm/kvm.ts"), "utf8");
  expect(declares(src, "Vcpu.runOnce")).toBe(true);
  expect(declares(src, "Vcpu.runTwice")).toBe(false);
  expect(declares(src, "Nope.runOnce")).toBe(false);
  expect(codeReferences("see [`f`](../src/x.ts) and [`A.b`](../y.ts)")).toEqual([{ name: "f", path: "../src/x.ts" }, { name: "A.b", path: "../y.ts" }]);
});
