// Shared by the test suites: where things are, whether KVM is here, and running the binary.
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BIN = join(ROOT, "dist/microvmm");
export const guest = (name: string) => join(ROOT, "guest/build", name);

function usable(path: string): boolean {
  try { accessSync(path, constants.R_OK | constants.W_OK); return true; } catch { return false; }
}

/** /dev/kvm exists and we may open it. */
export const hasKvm = usable("/dev/kvm");

/**
 * Whether /dev/kvm is backed by hardware virtualization (the CPU shows vmx or svm). A software
 * KVM runs small guests but not 32-bit non-PAE paging; those tests go to NESTED_RUN instead.
 */
export const kvmIsHardware = (() => {
  try { return /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync("/proc/cpuinfo", "utf8")); } catch { return false; }
})();

/** A command that runs its arguments where /dev/kvm is hardware-style (nested virtualization). */
export const NESTED_RUN = process.env.MICROVMM_NESTED_RUN ?? resolve(ROOT, "../shared/nested-kvm/run");
export const hasNestedRun = existsSync(NESTED_RUN);

/** How tests that need hardware-style KVM run here: directly, nested, or not at all (with why). */
export const hardwareKvm: { how: "direct" | "nested" | "skip"; why: string } =
  hasKvm && kvmIsHardware ? { how: "direct", why: "" }
    : hasNestedRun ? { how: "nested", why: "" }
      : { how: "skip", why: hasKvm ? "this KVM is not hardware-backed and no nested runner is available" : "no /dev/kvm" };

export interface RunResult { status: number; stdout: string; stderr: string }

/** Runs dist/microvmm with args to completion. `stdin` is written then closed. */
export async function runVmm(args: string[], opts: { stdin?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const p = Bun.spawn([BIN, ...args], {
    cwd: opts.cwd ?? ROOT, stdin: opts.stdin === undefined ? "ignore" : "pipe", stdout: "pipe", stderr: "pipe",
  });
  if (opts.stdin !== undefined && p.stdin) { p.stdin.write(opts.stdin); await p.stdin.end(); }
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/** The nested runner's own exit status when its machine failed (boot hang, crash, timeout). */
const NESTED_MACHINE_FAILED = 125;

/**
 * Runs a command where KVM is hardware-style (see hardwareKvm). Nested, the runner gets its own
 * time limit (so its QEMU goes with it) and one retry if its machine, not the command, failed.
 */
export async function runHardware(cmd: string[], timeoutSec = 150, memMiB = 4096): Promise<RunResult> {
  const once = async (): Promise<RunResult> => {
    const argv = hardwareKvm.how === "nested" ? [NESTED_RUN, "--timeout", String(timeoutSec), "--mem", String(memMiB), "--", ...cmd] : cmd;
    const p = Bun.spawn(argv, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => p.kill("SIGKILL"), (timeoutSec + 30) * 1000);
    const [stdout, stderr, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { status, stdout, stderr };
  };
  const first = await once();
  if (hardwareKvm.how !== "nested" || first.status !== NESTED_MACHINE_FAILED) return first;
  // What it got through ("=== " lines are the sections' own markers), for the log.
  const progress = first.stdout.split("\n").filter((l) => l.startsWith("=== ")).slice(-12).join(" | ");
  console.error(`nested runner failed (${first.stderr.trim().split("\n").at(-1)}); retrying once${progress === "" ? "" : `; it had got to: ${progress}`}`);
  return once();
}

/** Reads a process's stdout as it comes: `until(pred)` waits for the text so far to satisfy pred. */
export function outputReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const r = {
    text: "",
    /** Resolves once pred(text) holds; throws if the stream ends first. */
    async until(pred: (text: string) => boolean): Promise<string> {
      while (!pred(r.text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`output ended before the expected text; it was: ${JSON.stringify(r.text)}`);
        r.text += decoder.decode(value, { stream: true });
      }
      return r.text;
    },
    /** Waits for `s` to appear. */
    contains: (s: string) => r.until((t) => t.includes(s)),
    /** Stops reading (the writer then sees EPIPE). */
    cancel: () => reader.cancel(),
  };
  return r;
}

/**
 * Reads a process's stdout as it comes, for scripts that play the user: `until(s, ms, from)`
 * waits for `s` after position `from` (throwing after `ms`) and returns where it ends;
 * `whileComing(s, quietMs, ms, from)` waits as long as output keeps coming (throwing once none has
 * come for `quietMs`, or after `ms` in all), for a guest that is slow but not stuck. One read
 * is in flight at a time: a read raced against a timer and abandoned would lose its bytes.
 */
export function timedReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  let pending: ReturnType<typeof reader.read> | undefined;
  const r = {
    text: "",
    until: (s: string, ms: number, from = 0): Promise<number> => r.whileComing(s, ms, ms, from),
    async whileComing(s: string, quietMs: number, ms: number, from = 0): Promise<number> {
      const start = Date.now();
      let last = start;
      let length = r.text.length;
      while (r.text.indexOf(s, from) < 0) {
        const now = Date.now();
        if (r.text.length !== length) { length = r.text.length; last = now; }
        if (now - start > ms) throw new Error(`no "${s}" after ${ms} ms`);
        if (now - last > quietMs) throw new Error(`no "${s}": no output for ${quietMs} ms (after ${now - start} ms)`);
        pending ??= reader.read();
        const got = await Promise.race([pending, Bun.sleep(1000).then(() => undefined)]);
        if (got === undefined) continue;
        pending = undefined;
        if (got.done) throw new Error(`microvmm ended before "${s}"`);
        r.text += new TextDecoder().decode(got.value);
      }
      return r.text.indexOf(s, from) + s.length;
    },
    /** Reads the rest, once the process has ended. */
    async rest(): Promise<string> {
      for (let got = await (pending ?? reader.read()); !got.done; got = await reader.read()) r.text += new TextDecoder().decode(got.value);
      return r.text;
    },
  };
  return r;
}

/**
 * A command line that runs `body` (sh) on a pseudo-terminal (`script`), printing "status=N" after
 * it and RESTORED or NOT-RESTORED as `stty` before and after compare: the terminal given back?
 */
export function onPty(body: string, dir: string): string[] {
  const script = join(dir, `pty-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(script, [
    "stty -g > \"$0.before\"",
    body,
    "echo \"status=$?\"",
    "stty -g > \"$0.after\"",
    "cmp -s \"$0.before\" \"$0.after\" && echo RESTORED || echo NOT-RESTORED",
  ].join("\n"));
  return ["script", "-qfec", `sh ${script}`, "/dev/null"];
}
