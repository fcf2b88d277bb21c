// On a terminal: raw keys to the guest, Ctrl-A x, and the terminal given back on every way out.
// `script` (util-linux) gives microvmm a pseudo-terminal; a shell inside records `stty` before,
// during and after.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guest, hasKvm, onPty, ROOT } from "../helpers";

const hasScript = Bun.which("script") !== null;
const dir = mkdtempSync(join(tmpdir(), "microvmm-tty-"));

/** As each `after` text shows up in the output: keys to type, or something to do (signal the VMM). */
type Step = { after: string; type: string } | { after: string; then: (out: string) => void };

/**
 * `sh -c` that prints its PID and becomes `command` (exec keeps the PID and the terminal), so a
 * test can signal exactly the microvmm it started.
 */
const withPid = (command: string) => `sh -c 'echo "pid=$$"; exec ${command}'`;
const pidIn = (out: string) => Number(/^pid=(\d+)$/m.exec(out)![1]);

/** Runs `body` (sh) on a pty, taking each step as its `after` text shows up in the output. */
async function onTerminal(body: string, keys: Step[]): Promise<string> {
  const p = Bun.spawn(onPty(body, dir), { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
  const reader = p.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  for (const k of keys) {
    while (!out.includes(k.after)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += decoder.decode(value).replace(/\r/g, "");
    }
    if ("then" in k) { k.then(out); continue; }
    p.stdin.write(k.type);
    await p.stdin.flush();
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value).replace(/\r/g, "");
  }
  await p.exited;
  clearTimeout(timer);
  return out;
}

describe.skipIf(!hasKvm || !hasScript)("on a terminal", () => {
  test("keys reach the guest raw (Ctrl-C too), Ctrl-A x quits with status 0, the terminal is restored", async () => {
    const out = await onTerminal(
      // The flags once microvmm has set raw mode (looked at every 0.1 s for up to 5 s: a busy host is slow).
      `(for i in $(seq 50); do sleep 0.1; f=$(stty -a < /dev/tty | tr ' ;' '\\n\\n' | grep -x -e -icanon -e -echo -e -isig | tr '\\n' ' '); ` +
      `case "$f" in *-icanon*) break;; esac; done; echo "$f") &\n` +
      `./dist/microvmm ${guest("demo-50ms.elf")}`,
      [
        { after: "echo demo", type: "one\r" },
        { after: "one\none\n", type: "\x03" }, // with ISIG on this would kill microvmm
        { after: "one\none\none\none\n", type: "two\r" },
        { after: "two\ntwo\n", type: "\x01x" },
      ],
    );
    const flags = out.split("\n").find((l) => l.includes("-icanon"))?.trim().split(" ").sort();
    expect(flags).toEqual(["-echo", "-icanon", "-isig"]);
    expect(out).toMatch(/\ntwo\n(two\n)*status=0\nRESTORED\n$/);
    expect(out).not.toContain("one\ntwo\none"); // the new line replaced the old one
  });

  test("Ctrl-A x stops a guest that never exits", async () => {
    const out = await onTerminal(`./dist/microvmm --mode long ${guest("test-spin.bin")}`, [{ after: "spinning", type: "\x01x" }]);
    expect(out).toBe("spinning\nstatus=0\nRESTORED\n");
  });

  test("SIGTERM: status 143 and the terminal restored", async () => {
    const out = await onTerminal(withPid(`./dist/microvmm --mode long ${guest("test-spin.bin")}`),
      [{ after: "spinning\n", then: (o) => process.kill(pidIn(o), "SIGTERM") }]);
    expect(out.replace(/^pid=\d+\n/, "")).toBe("spinning\nmicrovmm: stopped by SIGTERM\nstatus=143\nRESTORED\n");
  });

  test("several VMs on a terminal: a status line with the shares, redrawn each second, then cleared", async () => {
    // SIGINT once the status line has been drawn for the second second.
    const out = await onTerminal(
      withPid(`./dist/microvmm --vm ${guest("matrix-inc.elf")}:70 --name neo --vm ${guest("matrix-dec.elf")}:30 --name smith > /dev/null`),
      [{ after: "(2 s)", then: (o) => process.kill(pidIn(o), "SIGINT") }],
    );
    const status = out.split("\x1b[K").filter((l) => l.startsWith("neo "));
    expect(status.length).toBeGreaterThanOrEqual(2);
    expect(status[0]).toMatch(/^neo \d+\.\d% {2}smith \d+\.\d% {2}\(\d+ s\)/);
    expect(out).toContain("microvmm: [neo] stopped by SIGINT\n");
    expect(out).toMatch(/\nschedule: [\d.]+ s, \d+ switches, [\d.]+ µs per switch\n {2}neo: [\d.]+ s of guest time, [\d.]+% \(asked 70\.0%\)/);
    expect(out).toMatch(/status=130\nRESTORED\n$/);
  });

  test("a bad guest on a terminal: the error, status 2, the terminal untouched", async () => {
    const out = await onTerminal(`./dist/microvmm ${guest("hello-long.bin")}`, []);
    expect(out).toMatch(/not an ELF file.*\nstatus=2\nRESTORED\n$/);
  });
});
