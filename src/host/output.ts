// Guest output to a host fd, optionally with "[name] " at the start of every line (several VMs).
import * as libc from "../libc/libc";

const NEWLINE = 0x0a;

/** The fds whose last guest byte was not a newline: a message of ours there starts a new line. */
const midLine = new Set<number>();

/** "\n" if guest output left `fd`'s line unfinished (once), else "". */
export function freshLine(fd: number): string {
  return midLine.delete(fd) ? "\n" : "";
}

export function outputTo(fd: number, prefix?: string): (bytes: Uint8Array) => void {
  const track = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    if (bytes[bytes.length - 1] === NEWLINE) midLine.delete(fd);
    else midLine.add(fd);
  };
  if (prefix === undefined) return (bytes) => { libc.writeAll(fd, bytes); track(bytes); };
  const tag = new TextEncoder().encode(prefix);
  let atLineStart = true;
  return (bytes) => {
    // One write per call: the tag goes in front of each line that starts in these bytes.
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (atLineStart) { parts.push(tag); atLineStart = false; }
      if (bytes[i] === NEWLINE) {
        parts.push(bytes.subarray(from, i + 1));
        from = i + 1;
        atLineStart = true;
      }
    }
    if (from < bytes.length) parts.push(bytes.subarray(from));
    libc.writeAll(fd, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    track(bytes);
  };
}
