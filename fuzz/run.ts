// `bun run fuzz [--seed N] [--seconds S] [--cases K] [--binary-every M] [--target NAME]...`
// A long run: `bun run fuzz --seconds 600`. Prints what ran and every failure (with the file
// holding its input); exits 1 if there was any.
import { join } from "node:path";
import { fuzz } from "./fuzz";

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const targets = args.flatMap((a, i) => (a === "--target" ? [args[i + 1]!] : []));
const seed = Number(opt("--seed") ?? Date.now() % 2 ** 31);
const root = join(import.meta.dir, "..");
const r = await fuzz({
  seed,
  seconds: Number(opt("--seconds") ?? 60),
  cases: opt("--cases") === undefined ? undefined : Number(opt("--cases")),
  binaryEvery: Number(opt("--binary-every") ?? 50),
  binary: join(root, "dist/microvmm"),
  failureDir: join(root, "fuzz/failures"),
  targets: targets.length > 0 ? targets : undefined,
});
console.log(`fuzz: seed ${seed}, ${r.cases} cases in ${r.seconds.toFixed(1)} s (${Object.entries(r.byTarget).map(([t, n]) => `${t} ${n}`).join(", ")})`);
console.log(`  binary runs: ${r.binaryRuns} (statuses ${Object.entries(r.binaryStatuses).map(([s, n]) => `${s}: ${n}`).join(", ")})`);
console.log(`  memory growth: ${r.rssGrowthMiB.toFixed(1)} MiB`);
// The same bug tends to be found many times: one report per distinct first line.
const distinct = new Map<string, { count: number; first: (typeof r.failures)[number] }>();
for (const f of r.failures) {
  const key = f.what.split("\n")[0]!;
  const d = distinct.get(key);
  if (d === undefined) distinct.set(key, { count: 1, first: f }); else d.count++;
}
for (const { count, first } of distinct.values()) {
  console.log(`FAILURE ×${count} (first input ${first.input || "-"}):\n  ${first.what.split("\n").join("\n  ")}`);
}
console.log(r.failures.length === 0 ? "no failures" : `${r.failures.length} failures`);
process.exit(r.failures.length === 0 ? 0 : 1);
