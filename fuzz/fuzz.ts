// The fuzzing engine: mutated inputs round-robin through the targets (fuzz/targets.ts) in this
// process, and a sample of them through the compiled binary. A failure is an exception other than
// a user error, a binary that ends with status 70 or by a signal it was not sent, one that does
// not stop when asked (SIGTERM), or memory that keeps growing. Each failing input is kept on disk.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mutate, Rng } from "./mutate";
import { TARGETS, type Target } from "./targets";

export interface FuzzOptions {
  seed: number;
  /** Stop after this many cases, or after `seconds`, whichever comes first. */
  cases?: number;
  seconds?: number;
  /** Every this many cases (of targets the command line can take), run the binary too; 0: never. */
  binaryEvery?: number;
  /** The binary (dist/microvmm). */
  binary?: string;
  /** A guest that spins is stopped (SIGTERM) after this long. */
  binaryTimeoutMs?: number;
  /** Where failing inputs are written. */
  failureDir?: string;
  targets?: readonly string[];
}

export interface Failure { target: string; caseIndex: number; what: string; input: string }

export interface FuzzResult {
  cases: number;
  byTarget: Record<string, number>;
  binaryRuns: number;
  /** Binary runs by exit status (stopped ones are 143). */
  binaryStatuses: Record<string, number>;
  failures: Failure[];
  /** Resident memory after the run minus before it (MiB), after a full GC. */
  rssGrowthMiB: number;
  seconds: number;
}

/** RSS growth beyond this over a run counts as unbounded growth. */
const MAX_RSS_GROWTH_MIB = 512;

export async function fuzz(o: FuzzOptions): Promise<FuzzResult> {
  const rng = new Rng(o.seed);
  const targets = TARGETS.filter((t) => o.targets === undefined || o.targets.includes(t.name));
  const pools = new Map<Target, Uint8Array[]>(targets.map((t) => [t, t.seeds()]));
  const failureDir = o.failureDir ?? mkdtempSync(join(tmpdir(), "microvmm-fuzz-"));
  const scratch = mkdtempSync(join(tmpdir(), "microvmm-fuzz-input-"));
  const result: FuzzResult = { cases: 0, byTarget: {}, binaryRuns: 0, binaryStatuses: {}, failures: [], rssGrowthMiB: 0, seconds: 0 };
  const fail = (t: Target, i: number, what: string, input: Uint8Array) => {
    mkdirSync(failureDir, { recursive: true });
    const path = join(failureDir, `${t.name}-seed${o.seed}-case${i}.bin`);
    writeFileSync(path, input);
    result.failures.push({ target: t.name, caseIndex: i, what, input: path });
  };
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  const deadline = o.seconds === undefined ? Infinity : start + o.seconds * 1000;
  let cliCases = 0;
  for (let i = 0; i < (o.cases ?? Infinity) && performance.now() < deadline; i++) {
    const t = targets[i % targets.length]!;
    const pool = pools.get(t)!;
    const input = mutate(rng.pick(pool), rng);
    // Inputs that got past the first checks are worth mutating further: keep some.
    if (rng.below(8) === 0 && pool.length < 64) pool.push(input);
    result.cases++;
    result.byTarget[t.name] = (result.byTarget[t.name] ?? 0) + 1;
    try {
      t.run(input, new Rng(o.seed ^ i));
    } catch (e) {
      fail(t, i, `${t.name}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, input);
    }
    if (t.cliArgs !== undefined && o.binaryEvery && o.binary !== undefined && ++cliCases % o.binaryEvery === 0) {
      const file = join(scratch, `case${i}`);
      writeFileSync(file, input);
      const r = await runBinary(o.binary, t.cliArgs(file, rng), o.binaryTimeoutMs ?? 1000);
      result.binaryRuns++;
      result.binaryStatuses[r.status] = (result.binaryStatuses[r.status] ?? 0) + 1;
      if (r.problem !== undefined) fail(t, i, `${t.name} through the binary (${t.cliArgs(file, rng).join(" ")}): ${r.problem}`, input);
    }
  }
  Bun.gc(true);
  result.rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  if (result.rssGrowthMiB > MAX_RSS_GROWTH_MIB) {
    result.failures.push({ target: "all", caseIndex: result.cases, what: `memory grew by ${result.rssGrowthMiB.toFixed(0)} MiB over the run`, input: "" });
  }
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

/** Runs the binary on one input: a problem if it crashes, ends with 70, or ignores SIGTERM. */
async function runBinary(binary: string, args: string[], timeoutMs: number): Promise<{ status: string; problem?: string }> {
  const p = Bun.spawn([binary, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let stopped = false;
  const term = setTimeout(() => { stopped = true; p.kill("SIGTERM"); }, timeoutMs);
  const kill = setTimeout(() => p.kill("SIGKILL"), timeoutMs + 3000);
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  clearTimeout(term);
  clearTimeout(kill);
  const status = String(p.signalCode ?? code);
  if (p.signalCode === "SIGKILL") return { status, problem: "did not stop within 3 s of SIGTERM (a hang)" };
  if (p.signalCode !== null) return { status, problem: `ended by ${p.signalCode}` };
  if (code === 70) return { status, problem: `status 70 (internal error): ${stderr.trim().split("\n")[0]}` };
  if (code >= 128 && !(stopped && code === 143)) return { status, problem: `status ${code}: ${stderr.trim()}` };
  if (stderr.split("\n").length > 64) return { status, problem: `${stderr.split("\n").length} lines on stderr` };
  return { status };
}
