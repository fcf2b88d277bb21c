// Starting a VMM and timing it to a line of its output, for the boot benchmarks.
import { readdirSync, readFileSync } from "node:fs";

/** Starts `cmd` (`started` is told its process) and reads its output until `text` shows (killed after 60 s): whether it did, and when. */
export async function startUntil(cmd: string[], text: string, started?: (p: { pid: number }) => void) {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  started?.(p);
  const reader = p.stdout.getReader();
  let out = "";
  const deadline = setTimeout(() => p.kill("SIGKILL"), 60_000);
  while (!out.includes(text)) {
    const r = await reader.read();
    if (r.done) break;
    out += new TextDecoder().decode(r.value);
  }
  clearTimeout(deadline);
  return { p, reached: out.includes(text), ms: performance.now() - t0 };
}

/** Waits (up to 10 s) for a killed VMM to be gone; one stuck in the kernel must not stop the benchmark. */
export const ended = (p: { exited: Promise<number> }) => Promise.race([p.exited, Bun.sleep(10_000)]);

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Where a vCPU thread must stay on one CPU (the nested machine) but the VMM's I/O thread should
 * not share it: for `seconds` after the start, every thread of `pid` (started under taskset) but
 * its vCPU threads is let onto every CPU, the same for both VMMs (microvmm's vCPU is its main
 * thread; QEMU's are named "CPU n/KVM" with debug-threads=on). Each round looks again, so threads
 * made later, or named after they start, end up where they belong.
 */
export async function freeIoThreads(pid: number, program: string, isVcpu: (tid: number, name: string) => boolean, seconds = 10): Promise<void> {
  const all = `0-${navigator.hardwareConcurrency - 1}`;
  // Until `ip netns exec` and taskset have exec'd the VMM, its affinity is not yet what it will be.
  const comm = () => { try { return readFileSync(`/proc/${pid}/comm`, "utf8").trim(); } catch { return undefined; } };
  for (const end = performance.now() + 5000; comm() !== undefined && !program.startsWith(comm()!) && performance.now() < end;) await Bun.sleep(5);
  let pinned: string;
  try { pinned = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!; } catch { return; }
  const placed = new Map<number, string>(); // tid → the CPU list we gave it
  for (const end = performance.now() + seconds * 1000; performance.now() < end; await Bun.sleep(50)) {
    let tids: number[];
    try { tids = readdirSync(`/proc/${pid}/task`).map(Number); } catch { return; } // the VMM is gone
    for (const t of tids) {
      let name: string;
      try { name = readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim(); } catch { continue; }
      const want = isVcpu(t, name) ? pinned : all;
      if ((placed.get(t) ?? pinned) === want) continue;
      Bun.spawnSync(["taskset", "-pc", want, String(t)], { stdout: "ignore", stderr: "ignore" });
      placed.set(t, want);
    }
  }
}

/**
 * freeIoThreads for a VMM started by `cmd` under taskset: its vCPU threads stay where taskset put
 * them, every other thread may go anywhere (microvmm's vCPU is its main thread; QEMU's are named
 * "CPU n/KVM" when started with `-name …,debug-threads=on`).
 */
export function placeVmmThreads(p: { pid: number }, cmd: string[]): void {
  const isQemu = cmd.some((a) => a.startsWith("qemu-system"));
  void freeIoThreads(p.pid, isQemu ? "qemu-system-x86_64" : "microvmm", (tid, name) => (isQemu ? /^CPU \d+\/KVM$/.test(name) : tid === p.pid));
}
