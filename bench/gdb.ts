// The debugger's cost, `bun run bench/gdb.ts` (also part of `bun run bench`):
//   - a guest under --gdb with no breakpoints (a debugger connects, says continue, waits) against
//     the same guest without --gdb: whole process, median of 5, alternating (target ≥ 0.95×);
//   - single steps per second: a debugger stepping a guest (s, then the stop reply), no acks.
import { connect, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "dist/microvmm");
const guest = (n: string) => join(ROOT, "guest/build", n);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const dir = mkdtempSync(join(tmpdir(), "microvmm-bench-gdb-"));

const packet = (data: string) => {
  let sum = 0;
  for (const ch of data) sum = (sum + ch.charCodeAt(0)) & 0xff;
  return `$${data}#${sum.toString(16).padStart(2, "0")}`;
};

/** A debugger of a few lines: waits for whole replies ('$…#xx'), acks and all. */
class Wire {
  private got = "";
  private wake: (() => void) | undefined;
  constructor(private readonly sock: Socket) {
    sock.on("data", (d) => { this.got += d.toString("latin1"); this.wake?.(); });
  }
  send(s: string): void { this.sock.write(Buffer.from(s, "latin1")); }
  async reply(): Promise<string> {
    for (;;) {
      this.got = this.got.replace(/^\++/, "");
      const m = /^\$([^#]*)#[0-9a-f]{2}/.exec(this.got);
      if (m !== null) { this.got = this.got.slice(m[0].length); return m[1]!; }
      await new Promise<void>((r) => { this.wake = r; });
    }
  }
}

/** Starts microvmm with --gdb and connects: the guest is held until the caller resumes it. */
async function underGdb(args: string[]): Promise<{ wire: Wire; sock: Socket; vm: ReturnType<typeof Bun.spawn> }> {
  const path = join(dir, `s${Math.random().toString(36).slice(2)}.sock`);
  const vm = Bun.spawn([BIN, "--gdb", `unix:${path}`, ...args], { stdout: "ignore", stderr: "pipe" });
  const reader = vm.stderr.getReader();
  let err = "";
  while (!err.includes("waiting for gdb")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`microvmm ended: ${err}`);
    err += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const sock = connect(path);
  await new Promise<void>((r) => sock.on("connect", () => r()));
  const wire = new Wire(sock);
  wire.send(packet("QStartNoAckMode"));
  await wire.reply();
  return { wire, sock, vm };
}

async function timeWithout(args: string[]): Promise<number> {
  const t0 = performance.now();
  const vm = Bun.spawn([BIN, ...args], { stdout: "ignore", stderr: "ignore" });
  if (await vm.exited !== 0) throw new Error(`${args.join(" ")} failed`);
  return performance.now() - t0;
}

async function timeWith(args: string[]): Promise<number> {
  const t0 = performance.now();
  const { wire, sock, vm } = await underGdb(args);
  wire.send("+" + packet("c"));
  const stop = await wire.reply();
  sock.destroy();
  if (!stop.startsWith("W") || await vm.exited !== 0) throw new Error(`${args.join(" ")} under --gdb: ${stop}`);
  return performance.now() - t0;
}

export async function benchGdb(): Promise<void> {
  console.log("debugger (--gdb, no breakpoints; median of 5, whole process, alternating):");
  for (const [what, args] of [
    ["200 000 port-I/O exits", ["--mode", "real", guest("bench-out.bin")]],
    ["20 000 hypercalls, C guest", [guest("matrix-short.elf")]],
  ] as const) {
    const plain: number[] = [];
    const gdb: number[] = [];
    for (let i = 0; i < 5; i++) {
      plain.push(await timeWithout([...args]));
      gdb.push(await timeWith([...args]));
    }
    const p = median(plain);
    const g = median(gdb);
    console.log(`  ${what}: without ${p.toFixed(0)} ms, under gdb ${g.toFixed(0)} ms: ${(p / g).toFixed(3)}× the speed without (target ≥ 0.95×)`);
  }
  // Single steps: the C guest's loop, one `s` and its stop reply at a time.
  const { wire, sock, vm } = await underGdb([guest("matrix-short.elf")]);
  const steps = 2000;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    wire.send(packet("s"));
    const r = await wire.reply();
    if (!r.startsWith("T05")) throw new Error(`step ${i}: ${r}`);
  }
  const ms = performance.now() - t0;
  wire.send(packet("k"));
  sock.destroy();
  await vm.exited;
  console.log(`  single steps: ${steps} in ${ms.toFixed(0)} ms, ${((steps * 1000) / ms).toFixed(0)} steps/s (${((ms * 1000) / steps).toFixed(0)} µs each, stop reply included)`);
  rmSync(dir, { recursive: true, force: true });
}

if (import.meta.main) await benchGdb();
