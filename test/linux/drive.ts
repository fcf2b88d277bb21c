// Plays the user at a Linux guest's serial console and prints what happened for the test to
// check. Runs where KVM is hardware-style (inside the nested runner).
//   bun test/linux/drive.ts SCENARIO MICROVMM ARGS...
// session   stdin a pipe: at the shell, `sleep 100` interrupted by Ctrl-C (0x03 must reach the
//           guest's tty, not stop microvmm); `echo $((6*7))` must answer 42; a 300-character line
//           typed at once (more than the UART's 16-byte FIFO) must arrive whole; the interrupt
//           lines from /proc/interrupts, what the kernel said about MTRRs and PAT; then `poweroff -f`.
// quit      on a terminal (`script` gives microvmm a pty): Ctrl-A x at the prompt.
// sigterm   on a terminal: SIGTERM while the guest idles at its prompt.
// The terminal scenarios print microvmm's status and whether the terminal was restored.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onPty, timedReader } from "../helpers";

const [scenario, bin, ...args] = process.argv.slice(2) as [string, string, ...string[]];
const onTerminal = scenario !== "session";
let cmd = [bin, ...args];
if (onTerminal) cmd = onPty(cmd.join(" "), mkdtempSync(join(tmpdir(), "microvmm-drive-")));
const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
const output = timedReader(p.stdout);
/** Waits until `s` appears in the output after position `from`. */
const until = (s: string, ms: number, from = 0) => output.until(s, ms, from);
const t0 = Date.now();
const at = (what: string) => console.log(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const type = async (s: string) => { p.stdin.write(s); await p.stdin.flush(); };
/** Runs a command at the prompt; returns the lines it printed. */
const run = async (command: string, ms = 30_000) => {
  const mark = output.text.length;
  // Markers around the output; as typed (and echoed) they differ from what they print.
  await type(`echo BEGIN-$((1+1)); ${command}; echo END-$((40+2))\r`);
  await until("END-42\r\n", ms, mark);
  const lines = output.text.slice(mark).split("\r\n");
  return lines.slice(lines.indexOf("BEGIN-2") + 1, lines.indexOf("END-42"));
};
/** Reads the rest of the output; the process's status, or -1 if it does not end in time. */
const finish = async (ms: number) => {
  const status = await Promise.race([p.exited, Bun.sleep(ms).then(() => -1)]);
  if (status !== -1) await output.rest();
  return status;
};

try {
  await until("MICROVMM-INIT-OK", 60_000);
  at("MICROVMM-INIT-OK");
  await until("# ", 30_000); // the shell's prompt
  at("prompt");
  if (scenario === "session") {
    let mark = output.text.length;
    await type("sleep 100\r");
    await until("sleep 100\r\n", 30_000, mark); // echoed: the shell is running it
    await Bun.sleep(500);
    mark = output.text.length;
    await type("\x03");
    await until("# ", 10_000, mark); // a new prompt, long before 100 s
    at("interrupted");
    console.log(`ctrl-c: back in ${output.text.slice(mark).includes("^C") ? "the shell" : "?"}`);
    console.log(`answer: ${(await run("echo $((6*7))"))[0]}`);
    at("answer");
    const line = "0123456789".repeat(30);
    console.log(`pasted: ${(await run(`echo ${line} | wc -c; echo ${line} | md5sum`)).join(" ")}`);
    console.log(`expected: ${line.length + 1} ${new Bun.CryptoHasher("md5").update(line + "\n").digest("hex")}  -`);
    for (const l of await run("grep -E 'ttyS0|LOC' /proc/interrupts")) console.log(`interrupts: ${l.trim()}`);
    for (const l of await run("dmesg | grep -E 'x86/PAT|MTRR'")) console.log(`dmesg: ${l.replace(/^\[[ .0-9]+\] /, "")}`);
    await type("poweroff -f\r");
    console.log(`status: ${await finish(60_000)}`);
    for (const l of (await new Response(p.stderr).text()).split("\n")) if (l !== "") console.log(`stderr: ${l}`);
  } else {
    await Bun.sleep(2000); // idle at the prompt: the vCPU thread asleep in KVM_RUN
    if (scenario === "quit") await type("\x01x");
    else Bun.spawnSync(["pkill", "-TERM", "-x", "microvmm"]);
    const status = await finish(30_000);
    at("exit");
    // What the shell around microvmm saw after it ended.
    // (Terminal control sequences the guest's shell sent, such as its cursor query, left out.)
    // The guest kernel may log to its console at any moment ("[   18.36] clocksource: …"): its text
    // is not ours to check (its line end stays: after it, a message of ours starts a fresh line).
    const after = output.text.slice(output.text.lastIndexOf("# ") + 2).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
      .replace(/\[\s*\d+\.\d+\] [^\r\n]*/g, "").split(/\r?\n/);
    console.log(after.filter((l) => l !== "").map((l) => `after: ${l}`).join("\n"));
    console.log(`starts a fresh line: ${after[0] === "" ? "yes" : "no"}`);
    console.log(`script status: ${status}`);
  }
} catch (e) {
  console.log(`failed: ${(e as Error).message}`);
  p.kill("SIGKILL");
}
console.log(`transcript: ${JSON.stringify(output.text.slice(-600))}`);
process.exit(0); // pending timers must not hold the process
