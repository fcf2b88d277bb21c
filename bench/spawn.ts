// Starting a VMM and timing it to a line of its output, for the boot benchmarks.

/** Starts `cmd` and reads its output until `text` shows (killed after 60 s): whether it did, and when. */
export async function startUntil(cmd: string[], text: string) {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
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
