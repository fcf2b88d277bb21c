// --gdb's argument: where the debugger connects. Parsed with the rest of the command line, before
// anything is opened (server.ts listens).
import { BadInputError } from "../errors";

/** sun_path's size in struct sockaddr_un. */
export const SOCKADDR_UN_PATH = 108;

export type GdbAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/** "1234", "0.0.0.0:1234", "localhost:1234", "unix:/tmp/gdb.sock". Port 0: any free port (printed). */
export function parseGdbAddress(text: string): GdbAddress {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    if (path === "" || Buffer.byteLength(path) >= SOCKADDR_UN_PATH) throw new BadInputError(`bad --gdb "${text}": unix:PATH, a path shorter than ${SOCKADDR_UN_PATH} bytes`);
    return { kind: "unix", path };
  }
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(text);
  const host = m?.[1] === undefined || m[1] === "" ? "127.0.0.1" : m[1] === "localhost" ? "127.0.0.1" : m[1];
  const port = Number(m?.[2]);
  if (m === null || port > 65535 || ipv4(host) === undefined) {
    throw new BadInputError(`bad --gdb "${text}": [HOST:]PORT with an IPv4 address as HOST (default 127.0.0.1), or unix:PATH`);
  }
  return { kind: "tcp", host, port };
}

export function ipv4(host: string): Uint8Array | undefined {
  const parts = host.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

