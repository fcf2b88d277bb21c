// Plays the user at xv6's serial console and prints what happened, for the test to check. Runs
// where KVM is hardware-style (xv6 turns on 32-bit paging with 4 MiB pages).
//   bun test/pc/drive-xv6.ts [--usertests] FS_IMAGE MICROVMM ARGS...
// First boot (a copy of the fs image as the IDE slave, as xv6 expects): to the `$ ` prompt; `ls`;
// `cat README | wc`; `echo hi > f`; then SIGTERM (xv6 has no power-off; its writes are on disk
// once the prompt is back). Second boot of the same copy, with two CPUs (xv6 names each CPU it
// starts): `cat f`, then forktest. Each boot's time to the first prompt and its lines before it
// ("boot: …") are printed too, and the second boot's --screen-dump, each line as "screen: …".
// With --usertests, one boot with two CPUs instead, which runs xv6's usertests (the whole suite:
// forks, pipes, preemption, sbrk, the file system), given an hour and ten minutes of silence: its
// bigdir and sbrk tests print nothing for minutes under the nested KVM.
// Each step waits as long as output keeps coming: xv6 reads its local APIC's ID for every lock it
// takes (mycpu), each read an MMIO exit the kernel emulates; under the nested KVM that is ~150 µs
// a read and ~300 reads a character written, so `ls` prints 15-20 bytes a second there (26-41 s
// in four boots, over 60 s on a loaded machine; QEMU the same). A guest that is stuck prints nothing.
// Between a --cpus 2 boot's lines there have been 40 s of silence there, too close to a one-minute
// limit: two minutes of silence is a stuck guest.
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timedReader } from "../helpers";

const usertests = process.argv[2] === "--usertests";
const QUIET_MS = usertests ? 600_000 : 120_000;
const STEP_MS = usertests ? 3_600_000 : 240_000;
const [original, bin, ...args] = process.argv.slice(usertests ? 3 : 2) as [string, string, ...string[]];
const dir = mkdtempSync(join(tmpdir(), "microvmm-xv6-"));
const fsImage = join(dir, "fs.img");
const screen = join(dir, "screen.txt");
copyFileSync(original, fsImage);

async function boot(commands: string[], extra: string[] = []): Promise<void> {
  const t0 = performance.now();
  const p = Bun.spawn([bin, ...args, ...extra, "--disk", `${fsImage},index=1`, "--screen-dump", screen], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const output = timedReader(p.stdout);
  try {
    let at = await output.whileComing("$ ", QUIET_MS, STEP_MS, 0);
    console.log(`prompt after ${Math.round(performance.now() - t0)} ms`);
    for (const l of output.text.slice(0, at - 2).split("\n")) if (l !== "") console.log(`boot: ${l}`);
    for (const c of commands) {
      p.stdin.write(`${c}\n`);
      await p.stdin.flush();
      const from = at;
      at = await output.whileComing("\n$ ", QUIET_MS, STEP_MS, from);
      // xv6 echoes what is typed: the command's own line first, then its output.
      for (const l of output.text.slice(from, at - 3).split("\n").slice(1)) console.log(`${c}: ${l}`);
    }
    p.kill("SIGTERM");
    console.log(`status: ${await p.exited}`);
  } catch (e) {
    console.log(`failed: ${(e as Error).message}; the output ended: ${JSON.stringify(output.text.slice(-160))}`);
    p.kill("SIGKILL");
  }
  for (const l of (await new Response(p.stderr).text()).split("\n")) if (l !== "") console.log(`stderr: ${l}`);
}

if (usertests) {
  await boot(["usertests"], ["--cpus", "2"]);
  process.exit(0);
}
await boot(["ls", "cat README | wc", "echo hi > f"]);
await boot(["cat f", "forktest"], ["--cpus", "2"]);
for (const l of readFileSync(screen, "utf8").split("\n").slice(0, -1)) console.log(`screen: ${l}`);
process.exit(0);
