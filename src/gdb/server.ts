// The debugger's socket: --gdb [HOST:]PORT (TCP, 127.0.0.1 unless a host is given) or
// --gdb unix:PATH. One debugger at a time; after it detaches or goes away the socket listens for
// the next. Everything is non-blocking: the vCPU thread looks at the sockets between slices and
// waits in poll() only while the guest is stopped.
import { lstatSync, unlinkSync } from "node:fs";
import { BadInputError, HostError } from "../errors";
import { EADDRINUSE, EACCES } from "../libc/errno";
import * as libc from "../libc/libc";
import { ipv4, SOCKADDR_UN_PATH, type GdbAddress } from "./address";

const POLLOUT = 0x004;
/** A debugger that takes no bytes for this long has gone. */
const SEND_TIMEOUT_MS = 5000;
function sockaddr(a: GdbAddress): Uint8Array {
  if (a.kind === "unix") {
    const out = new Uint8Array(2 + SOCKADDR_UN_PATH);
    new DataView(out.buffer).setUint16(0, libc.AF_UNIX, true);
    out.set(new TextEncoder().encode(a.path), 2);
    return out;
  }
  const out = new Uint8Array(16); // sockaddr_in
  const v = new DataView(out.buffer);
  v.setUint16(0, libc.AF_INET, true);
  v.setUint16(2, a.port, false); // network byte order
  out.set(ipv4(a.host)!, 4);
  return out;
}

export class GdbServer {
  /** The accepted debugger's socket, or -1. */
  private conn = -1;
  private readonly buf = new Uint8Array(PACKET_READ);
  private readonly pollfds = new Uint8Array(16);

  private constructor(private readonly listener: number, readonly address: string, private readonly unixPath: string | undefined) {}

  static listen(a: GdbAddress): GdbServer {
    const fd = libc.socket(a.kind === "unix" ? libc.AF_UNIX : libc.AF_INET, libc.SOCK_STREAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC);
    try {
      if (a.kind === "unix") removeStaleSocket(a.path);
      else libc.setsockoptInt(fd, libc.SOL_SOCKET, libc.SO_REUSEADDR, 1);
      libc.bind(fd, sockaddr(a));
      libc.listen(fd, 1);
    } catch (e) {
      libc.close(fd);
      if (!(e instanceof libc.SyscallError)) throw e;
      const where = a.kind === "unix" ? a.path : `${a.host}:${a.port}`;
      if (e.errno === EADDRINUSE) throw new HostError(`--gdb ${where}: the address is in use — pick another port (or path)`);
      if (e.errno === EACCES) throw new HostError(`--gdb ${where}: permission denied — ports below 1024 need privileges; pick a higher one`);
      throw new HostError(`--gdb ${where}: cannot listen: ${e.message}`);
    }
    const address = a.kind === "unix" ? a.path : `${a.host}:${new DataView(libc.getsockname(fd).buffer).getUint16(2, false)}`;
    return new GdbServer(fd, address, a.kind === "unix" ? a.path : undefined);
  }

  get connected(): boolean {
    return this.conn >= 0;
  }

  /**
   * The fds to look at: the debugger's socket, or the listening one while there is none. A second
   * debugger waits in the listen backlog until the first has gone (and does not wake us meanwhile).
   */
  get fds(): number[] {
    return this.conn >= 0 ? [this.conn] : [this.listener];
  }

  /** Waits up to `ms` for a debugger to connect or send something. */
  wait(ms: number): void {
    const v = new DataView(this.pollfds.buffer);
    const fds = this.fds;
    fds.forEach((fd, i) => { v.setInt32(8 * i, fd, true); v.setInt16(8 * i + 4, libc.POLLIN, true); v.setInt16(8 * i + 6, 0, true); });
    libc.poll(this.pollfds, fds.length, Math.max(0, Math.floor(ms)));
  }

  /** Takes a waiting connection if there is none yet: true if a debugger just connected. */
  accept(): boolean {
    if (this.conn >= 0) return false; // one debugger at a time
    const fd = libc.accept(this.listener, libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC);
    if (fd < 0) return false;
    this.conn = fd;
    // Each packet is a round trip with the debugger waiting: no Nagle delay.
    if (this.unixPath === undefined) libc.setsockoptInt(fd, libc.IPPROTO_TCP, libc.TCP_NODELAY, 1);
    return true;
  }

  /** What the debugger sent: bytes, an empty array if nothing yet, or undefined when it has gone. */
  receive(): Uint8Array | undefined {
    if (this.conn < 0) return undefined;
    let n: number;
    try {
      n = libc.recv(this.conn, this.buf);
    } catch {
      return undefined;
    }
    if (n === 0) return undefined;
    return n < 0 ? new Uint8Array(0) : this.buf.slice(0, n);
  }

  /** Sends all of `text` (latin1: one byte a character); false if the debugger has gone. */
  send(text: string): boolean {
    if (this.conn < 0) return false;
    const bytes = Buffer.from(text, "latin1");
    const deadline = performance.now() + SEND_TIMEOUT_MS;
    let at = 0;
    try {
      while (at < bytes.length) {
        const n = libc.send(this.conn, bytes.subarray(at));
        at += n;
        if (n > 0) continue;
        if (performance.now() > deadline) return false;
        const v = new DataView(this.pollfds.buffer);
        v.setInt32(0, this.conn, true); v.setInt16(4, POLLOUT, true); v.setInt16(6, 0, true);
        libc.poll(this.pollfds, 1, 100);
      }
    } catch {
      return false;
    }
    return true;
  }

  /** Drops the debugger's connection (it detached or went away); the socket listens on. */
  hangUp(): void {
    if (this.conn >= 0) libc.close(this.conn);
    this.conn = -1;
  }

  close(): void {
    this.hangUp();
    libc.close(this.listener);
    if (this.unixPath !== undefined) {
      try { unlinkSync(this.unixPath); } catch { /* already gone */ }
    }
  }
}

const PACKET_READ = 0x10000;

/** A socket file left by an earlier run is replaced; any other file at the path is refused, not removed. */
function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw new BadInputError(`--gdb unix:${path}: the path exists and is not a socket — give a new path`);
  unlinkSync(path);
}
