// gdb on Linux, where KVM is hardware-style (inside the nested runner):
//   bun test/linux/gdb-linux.ts MICROVMM VMLINUX KALLSYMS-INITRAMFS BOOT-INITRAMFS
// Debian ships no symbols with its kernel (its System.map is a placeholder), so a first boot prints
// the addresses of a few functions from /proc/kallsyms (nokaslr: the same every boot), and a tiny
// ELF made with ld names them for gdb. The second boot waits for gdb: `hbreak start_kernel`,
// continue, `bt`; then a breakpoint on do_sys_openat2, which the first file opened from user space
// reaches; then the breakpoints go and the guest boots on to init, which reboots. Prints what gdb
// said, the guest's output, microvmm's status, and "failed: …" if a step did not happen.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timedReader } from "../helpers";

const [bin, vmlinux, kallsymsInitrd, bootInitrd] = process.argv.slice(2) as [string, string, string, string];
const dir = mkdtempSync(join(tmpdir(), "microvmm-gdb-linux-"));
const vmm = ["taskset", "-c", "1", bin, "-m", "256M", "--kernel", vmlinux, "--append", "nokaslr"];
const t0 = Date.now();
const children: Array<{ kill(signal?: number | NodeJS.Signals): void }> = [];
/** Nothing of ours outlives the driver: its own deadline, and the section's `timeout` (SIGTERM), kill what it started. */
const cleanUp = (why: string) => { for (const c of children) c.kill("SIGKILL"); console.log(`failed: ${why}`); process.exit(1); };
process.on("SIGTERM", () => cleanUp("stopped by SIGTERM (the section's time limit)"));
setTimeout(() => cleanUp("no end after 85 s"), 85_000).unref();
const at = (what: string) => console.log(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const first = Bun.spawnSync([...vmm, "--initrd", kallsymsInitrd], { stdout: "pipe", stderr: "pipe", timeout: 40_000 });
const symbols = new Map<string, bigint>();
for (const m of first.stdout.toString().matchAll(/^([0-9a-f]{16}) [Tt] (\w+)\r?$/gm)) symbols.set(m[2]!, BigInt("0x" + m[1]!));
console.log(`kallsyms: ${[...symbols.entries()].map(([n, a]) => `${n}=0x${a.toString(16)}`).join(" ")}`);
if (!symbols.has("start_kernel") || !symbols.has("do_sys_openat2")) {
  console.log(`failed: no addresses from the first boot (status ${first.exitCode}): ${first.stdout.toString().slice(-400)}`);
  process.exit(1);
}
at("first boot done");

// One NOBITS code section over the kernel's text, the functions as labels in it: gdb takes them
// as text symbols (break by name, names in bt) though the file holds no bytes.
const base = [...symbols.values()].reduce((a, b) => (b < a ? b : a)) & ~0xfffffn;
const top = [...symbols.values()].reduce((a, b) => (b > a ? b : a)) + 0x100000n;
writeFileSync(join(dir, "empty.S"), "  .text\n  nop\n");
writeFileSync(join(dir, "syms.ld"), `SECTIONS { .text 0x${base.toString(16)} (NOLOAD) : { ` +
  [...symbols.entries()].map(([n, a]) => `${n} = . + 0x${(a - base).toString(16)}; `).join("") +
  `*(.text) . = 0x${(top - base).toString(16)}; } }\n`);
for (const cmd of [["gcc", "-c", "-o", join(dir, "empty.o"), join(dir, "empty.S")],
  ["ld", "-m", "elf_x86_64", "-T", join(dir, "syms.ld"), "-o", join(dir, "syms.elf"), join(dir, "empty.o")]]) {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) { console.log(`failed: ${cmd.join(" ")}: ${r.stderr.toString()}`); process.exit(1); }
}

const sock = join(dir, "gdb.sock");
const vm = Bun.spawn([...vmm, "--initrd", bootInitrd, "--gdb", `unix:${sock}`], { stdout: "pipe", stderr: "pipe" });
children.push(vm);
const vmErr = timedReader(vm.stderr);
const vmOut = timedReader(vm.stdout);
await vmErr.until("waiting for gdb", 60_000);
// Read the guest's output as it comes: a full pipe would stop microvmm, and the guest with it.
const guestOutput = vmOut.rest();
const gdb = Bun.spawn(["gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off", join(dir, "syms.elf"),
  "-ex", `target remote ${sock}`, "-ex", "hbreak start_kernel", "-ex", "continue", "-ex", "bt", "-ex", "print/x $pc",
  "-ex", "info registers cr0 cr3 efer", "-ex", "monitor mode", "-ex", "delete", "-ex", "break do_sys_openat2", "-ex", "continue",
  "-ex", "bt 1", "-ex", "monitor breakpoints", "-ex", "delete", "-ex", "continue"], { stdout: "pipe", stderr: "pipe" });
children.push(gdb);
const killGdb = setTimeout(() => gdb.kill("SIGKILL"), 60_000);
const gdbText = (await new Response(gdb.stdout).text()) + (await new Response(gdb.stderr).text());
await gdb.exited;
clearTimeout(killGdb);
at("gdb done");
const status = await Promise.race([vm.exited, Bun.sleep(10_000).then(() => { vm.kill("SIGKILL"); return -1; })]);
console.log(gdbText.split("\n").map((l) => `gdb: ${l}`).join("\n"));
const guestOut = await guestOutput;
// The guest's lines as they are (the section's check looks for init's marker among them).
console.log(guestOut.split("\r\n").filter((l) => !l.startsWith("[")).join("\n"));
console.log(`microvmm stderr: ${JSON.stringify(await vmErr.rest())}`);
console.log(`microvmm status: ${status}`);
for (const want of ["in start_kernel ()", "Breakpoint 2, 0x", "exited normally"]) {
  if (!gdbText.includes(want)) console.log(`failed: gdb never said "${want}"; the kernel's last lines: ${JSON.stringify(guestOut.slice(-300))}`);
}
process.exit(0);
