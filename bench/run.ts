// `npm run bench`: figures and ratios, each measured in this run against its reference.
//   exit round trip   200 000 port-I/O exits: microvmm vs the minimal C loop (target ≤ 1.05×)
//   hello process     whole-process time of microvmm running a hello guest (target ≤ 15 ms),
//                     beside a compiled Bun program that only prints (the runtime's own floor)
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "dist/microvmm");
const OUT = join(ROOT, "bench/build");
const guest = (n: string) => join(ROOT, "guest/build", n);

function timeOnce(cmd: string[]): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

mkdirSync(OUT, { recursive: true });
const cc = Bun.spawnSync(["cc", "-O2", "-o", join(OUT, "kvm-loop"), join(ROOT, "bench/kvm-loop.c")], { stderr: "inherit" });
if (cc.exitCode !== 0) throw new Error("cannot build bench/kvm-loop.c");

// 1. Exit round trip, alternating the two programs so both see the same machine conditions.
const exits = 200_000;
const c: number[] = [];
const ours: number[] = [];
for (let i = 0; i < 5; i++) {
  c.push(timeOnce([join(OUT, "kvm-loop"), guest("bench-out.bin")]));
  ours.push(timeOnce([BIN, "--mode", "real", guest("bench-out.bin")]));
}
const cMs = median(c);
const oursMs = median(ours);
console.log(`exit round trip (${exits} port-I/O exits, median of 5, whole process):`);
console.log(`  C loop    ${cMs.toFixed(0)} ms  (${((cMs * 1000) / exits).toFixed(2)} µs/exit)`);
console.log(`  microvmm  ${oursMs.toFixed(0)} ms  (${((oursMs * 1000) / exits).toFixed(2)} µs/exit)`);
console.log(`  ratio     ${(oursMs / cMs).toFixed(3)}× the C loop (target ≤ 1.05×)`);

// 2. Whole-process time of a hello guest, alternating with the bare runtime.
const bareBin = join(OUT, "bare");
const bun = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", "--minify", join(ROOT, "bench/bare.ts"), "--outfile", bareBin], { stdout: "pipe", stderr: "inherit" });
if (bun.exitCode !== 0) throw new Error("cannot build bench/bare.ts");
const hello: number[] = [];
const bare: number[] = [];
timeOnce([BIN, "--mode", "long", guest("hello-long.bin")]); // warm the page cache
timeOnce([bareBin]);
for (let i = 0; i < 30; i++) {
  hello.push(timeOnce([BIN, "--mode", "long", guest("hello-long.bin")]));
  bare.push(timeOnce([bareBin]));
}
const helloMs = median(hello);
const bareMs = median(bare);
console.log("hello guest, whole process (median of 30):");
console.log(`  microvmm        ${helloMs.toFixed(1)} ms — ${(helloMs / 15).toFixed(2)}× the 15 ms target`);
console.log(`  bare Bun hello  ${bareMs.toFixed(1)} ms (the runtime alone; microvmm adds ${(helloMs - bareMs).toFixed(1)} ms)`);
