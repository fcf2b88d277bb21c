// Guest output to a host fd, optionally with "[name] " at the start of every line (several VMs).
import * as libc from "../libc/libc";

const NEWLINE = 0x0a;

export function outputTo(fd: number, prefix?: string): (bytes: Uint8Array) => void {
  if (prefix === undefined) return (bytes) => libc.writeAll(fd, bytes);
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
  };
}
