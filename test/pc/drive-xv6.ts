// Plays the user at xv6's serial console and prints what happened, for the test to check. Runs
// where KVM is hardware-style (xv6 turns on 32-bit paging with 4 MiB pages).
//   bun test/pc/drive-xv6.ts FS_IMAGE MICROVMM ARGS...
// First boot (fs image as the IDE slave, as xv6 expects): to the `$ ` prompt; `ls`; `cat README | wc`;
// `echo hi > f`; then SIGTERM (xv6 has no power-off; its writes are on disk once the prompt is back).
// Second boot of the same image: `cat f`. Each boot's time to the first prompt is printed too.
const [fsImage, bin, ...args] = process.argv.slice(2) as [string, string, ...string[]];

async function boot(commands: string[]): Promise<void> {
  const t0 = performance.now();
  const p = Bun.spawn([bin, ...args, "--disk", `${fsImage},index=1`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const reader = p.stdout.getReader();
  let out = "";
  let pending: ReturnType<typeof reader.read> | undefined;
  const until = async (s: string, ms: number, from: number) => {
    const end = Date.now() + ms;
    while (out.indexOf(s, from) < 0) {
      if (Date.now() > end) throw new Error(`no "${s}" after ${ms} ms`);
      pending ??= reader.read();
      const r = await Promise.race([pending, Bun.sleep(1000).then(() => undefined)]);
      if (r === undefined) continue;
      pending = undefined;
      if (r.done) throw new Error(`microvmm ended before "${s}"`);
      out += new TextDecoder().decode(r.value);
    }
    return out.indexOf(s, from) + s.length;
  };
  try {
    let at = await until("$ ", 60_000, 0);
    console.log(`prompt after ${Math.round(performance.now() - t0)} ms`);
    for (const c of commands) {
      p.stdin.write(`${c}\n`);
      await p.stdin.flush();
      const from = at;
      at = await until("\n$ ", 60_000, from);
      // xv6 echoes what is typed: the command's own line first, then its output.
      for (const l of out.slice(from, at - 3).split("\n").slice(1)) console.log(`${c}: ${l}`);
    }
    p.kill("SIGTERM");
    console.log(`status: ${await p.exited}`);
  } catch (e) {
    console.log(`failed: ${(e as Error).message}`);
    p.kill("SIGKILL");
  }
  for (const l of (await new Response(p.stderr).text()).split("\n")) if (l !== "") console.log(`stderr: ${l}`);
}

await boot(["ls", "cat README | wc", "echo hi > f"]);
await boot(["cat f"]);
process.exit(0);
