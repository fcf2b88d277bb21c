// Plays the user at xv6's serial console and prints what happened, for the test to check. Runs
// where KVM is hardware-style (xv6 turns on 32-bit paging with 4 MiB pages).
//   bun test/pc/drive-xv6.ts FS_IMAGE MICROVMM ARGS...
// First boot (a copy of the fs image as the IDE slave, as xv6 expects): to the `$ ` prompt; `ls`;
// `cat README | wc`; `echo hi > f`; then SIGTERM (xv6 has no power-off; its writes are on disk
// once the prompt is back). Second boot of the same copy: `cat f`. Each boot's time to the first
// prompt is printed too, and the second boot's --screen-dump, each line as "screen: …".
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timedReader } from "../helpers";

const [original, bin, ...args] = process.argv.slice(2) as [string, string, ...string[]];
const dir = mkdtempSync(join(tmpdir(), "microvmm-xv6-"));
const fsImage = join(dir, "fs.img");
const screen = join(dir, "screen.txt");
copyFileSync(original, fsImage);

async function boot(commands: string[]): Promise<void> {
  const t0 = performance.now();
  const p = Bun.spawn([bin, ...args, "--disk", `${fsImage},index=1`, "--screen-dump", screen], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const output = timedReader(p.stdout);
  try {
    let at = await output.until("$ ", 60_000, 0);
    console.log(`prompt after ${Math.round(performance.now() - t0)} ms`);
    for (const c of commands) {
      p.stdin.write(`${c}\n`);
      await p.stdin.flush();
      const from = at;
      at = await output.until("\n$ ", 60_000, from);
      // xv6 echoes what is typed: the command's own line first, then its output.
      for (const l of output.text.slice(from, at - 3).split("\n").slice(1)) console.log(`${c}: ${l}`);
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
for (const l of readFileSync(screen, "utf8").split("\n").slice(0, -1)) console.log(`screen: ${l}`);
process.exit(0);
