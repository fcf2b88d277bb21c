// Raw mode for a terminal on stdin, restored on every way out. Raw here means: no echo, no line
// editing, no signals from keys (Ctrl-C reaches the guest as 0x03), no CR/LF translation on
// input; output processing stays on so the VMM's own "\n" still starts a new line.
import * as libc from "../libc/libc";

// struct termios (glibc x86-64): c_iflag @0, c_oflag @4, c_cflag @8, c_lflag @12, c_line @16, c_cc @17.
const C_IFLAG = 0;
const C_LFLAG = 12;
const C_CC = 17;
const VTIME = 5;
const VMIN = 6;
// c_iflag
const BRKINT = 0o2;
const ISTRIP = 0o40;
const INLCR = 0o100;
const IGNCR = 0o200;
const ICRNL = 0o400;
const IXON = 0o2000;
// c_lflag
const ISIG = 0o1;
const ICANON = 0o2;
const ECHO = 0o10;
const ECHONL = 0o100;
const IEXTEN = 0o100000;

/** Termios to restore, by fd, while raw mode is on: consulted by the exit hook. */
const saved = new Map<number, Uint8Array>();
let exitHookInstalled = false;

/** Puts a terminal fd in raw mode; returns false (and does nothing) when fd is not a terminal. */
export function enterRawMode(fd: number): boolean {
  if (!libc.isatty(fd) || saved.has(fd)) return false;
  const original = new Uint8Array(libc.TERMIOS_SIZE);
  libc.tcgetattr(fd, original);
  const raw = original.slice();
  const dv = new DataView(raw.buffer);
  dv.setUint32(C_IFLAG, dv.getUint32(C_IFLAG, true) & ~(BRKINT | ISTRIP | INLCR | IGNCR | ICRNL | IXON), true);
  dv.setUint32(C_LFLAG, dv.getUint32(C_LFLAG, true) & ~(ISIG | ICANON | ECHO | ECHONL | IEXTEN), true);
  raw[C_CC + VMIN] = 1;
  raw[C_CC + VTIME] = 0;
  saved.set(fd, original);
  installExitHook();
  libc.tcsetattr(fd, raw);
  return true;
}

/** Last line of defence: however the process ends (short of SIGKILL), the terminal comes back. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  process.on("exit", restoreAll);
  exitHookInstalled = true;
}

export function restoreMode(fd: number): void {
  const original = saved.get(fd);
  if (original === undefined) return;
  saved.delete(fd);
  try { libc.tcsetattr(fd, original); } catch { /* the terminal went away */ }
}

/** Terminals showing their alternate screen (a guest's VGA screen), with what puts them back. */
const alternate = new Map<number, Uint8Array>();

/** Switches a terminal to its alternate screen (`enter`); restoreAll writes `leave` there. */
export function enterAlternateScreen(fd: number, enter: string, leave: string): void {
  installExitHook();
  libc.writeAll(fd, new TextEncoder().encode(enter));
  alternate.set(fd, new TextEncoder().encode(leave));
}

export function leaveAlternateScreen(fd: number): void {
  const leave = alternate.get(fd);
  if (leave === undefined) return;
  alternate.delete(fd);
  try { libc.writeAll(fd, leave); } catch { /* the terminal went away */ }
}

export function restoreAll(): void {
  for (const fd of [...alternate.keys()]) leaveAlternateScreen(fd);
  for (const fd of [...saved.keys()]) restoreMode(fd);
}
