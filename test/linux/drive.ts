// Plays the user at a Linux guest's serial console: runs microvmm with the given arguments,
// waits for the shell, starts `sleep 100` and interrupts it with Ctrl-C (0x03 must reach the
// guest's tty, not stop microvmm), types `echo $((6*7))`, expects 42, types `poweroff -f`, and
// prints what happened for the test to check. Runs where KVM is hardware-style (inside the nested runner).
//   bun test/linux/drive.ts MICROVMM ARGS...
const [bin, ...args] = process.argv.slice(2);
const p = Bun.spawn([bin!, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
const reader = p.stdout.getReader();
let out = "";
// One read in flight at a time: a read raced against a timer and abandoned would lose its bytes.
let pending: ReturnType<typeof reader.read> | undefined;
/** Waits until `s` appears in the output after position `from`. */
const until = async (s: string, ms: number, from = 0) => {
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
};
const t0 = Date.now();
const at = (what: string) => console.log(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const type = async (s: string) => { p.stdin.write(s); await p.stdin.flush(); };
try {
  await until("MICROVMM-INIT-OK", 120_000);
  at("init");
  await until("# ", 30_000); // the shell's prompt
  at("prompt");
  let mark = out.length;
  await type("sleep 100\r");
  await until("sleep 100\r\n", 30_000, mark); // echoed: the shell is running it
  await Bun.sleep(500);
  mark = out.length;
  await type("\x03");
  await until("# ", 10_000, mark); // a new prompt, long before 100 s
  at("interrupted");
  console.log(`ctrl-c: back in ${out.slice(mark).includes("^C") ? "the shell" : "?"}`);
  mark = out.length;
  await type("echo $((6*7))\r");
  await until("\n42\r\n", 30_000, mark);
  at("answer");
  console.log(`answer: ${out.slice(mark).split("\r\n")[1]}`);
  await type("poweroff -f\r");
  const status = await Promise.race([p.exited, Bun.sleep(60_000).then(() => -1)]);
  at("exit");
  console.log(`status: ${status}`);
} catch (e) {
  console.log(`failed: ${(e as Error).message}`);
  p.kill("SIGKILL");
}
console.log(`transcript: ${JSON.stringify(out.slice(-600))}`);
process.exit(0); // pending timers must not hold the process
