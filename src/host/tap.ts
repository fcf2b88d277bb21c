// A TAP device: the host end of the guest's network card, where each read(2) gives one Ethernet
// frame the host sends and each write(2) hands it one. Opened non-blocking through /dev/net/tun
// (TUNSETIFF with IFF_TAP | IFF_NO_PI: bare frames, no packet-information prefix). The kernel
// creates the device if it does not exist, which needs CAP_NET_ADMIN; an existing one the user
// owns (`ip tuntap add NAME mode tap user USER`) opens without it. Configuring the host side
// (address, up, bridge) is the user's, as with QEMU and Firecracker.
import { BadInputError, HostError } from "../errors";
import { parseMac } from "../virtio/net";
import * as libc from "../libc/libc";
import { EPERM, EACCES, EBUSY } from "../libc/errno";

const TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
/** struct ifreq: the name (IFNAMSIZ = 16, NUL-terminated) and, for TUNSETIFF, the flags as a short. */
const IFREQ_SIZE = 40;
export const IFNAMSIZ = 16;

/** --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]: the TAP device and the guest's MAC address. */
export interface NetSpec { tap: string; mac: Uint8Array }
/** QEMU's default MAC address for a guest's first card (locally administered). */
export const DEFAULT_MAC = "52:54:00:12:34:56";

export function parseNetSpec(text: string): NetSpec {
  const bad = (why: string) => new BadInputError(`bad --net "${text}": ${why}; --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]`);
  let tap: string | undefined;
  let mac = parseMac(DEFAULT_MAC)!;
  for (const part of text.split(",")) {
    const [key, value] = [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)];
    if (key === "tap" && value !== "") tap = value;
    else if (key === "mac") mac = parseMac(value) ?? (() => { throw bad(`"${value}" is not a unicast MAC address`); })();
    else throw bad(`unknown part "${part}"`);
  }
  if (tap === undefined) throw bad("no TAP device named");
  return { tap, mac };
}

export class Tap {
  private constructor(readonly name: string, readonly fd: number) {}

  static open(name: string): Tap {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new HostError(`bad TAP name "${name}": 1 to 15 letters, digits, '-', '_' or '.'`);
    }
    const refused = (e: unknown) => {
      const errno = e instanceof libc.SyscallError ? e.errno : 0;
      if (errno === EPERM || errno === EACCES) {
        return new HostError(`cannot use TAP ${name}: not permitted — create it for your user first (ip tuntap add ${name} mode tap user $USER), or run with CAP_NET_ADMIN`);
      }
      if (errno === EBUSY) return new HostError(`cannot use TAP ${name}: another program has it open`);
      return new HostError(`cannot use TAP ${name}: ${(e as Error).message}`);
    };
    let fd: number;
    try {
      fd = libc.open("/dev/net/tun", libc.O_RDWR | libc.O_NONBLOCK | libc.O_CLOEXEC);
    } catch (e) {
      throw refused(e);
    }
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(bytes);
    new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI, true);
    try {
      libc.ioctl(fd, TUNSETIFF, ifr, "TUNSETIFF");
    } catch (e) {
      libc.close(fd);
      throw refused(e);
    }
    return new Tap(name, fd);
  }

  /** One frame from the host into `into`: its length, or 0 when none waits. */
  receive(into: Uint8Array): number {
    return Math.max(0, libc.readSome(this.fd, into));
  }

  /** One frame to the host; false when the device's queue is full (the frame is dropped, as a NIC would). */
  send(frame: Uint8Array): boolean {
    return libc.writeOnce(this.fd, frame) === frame.length;
  }

  close(): void {
    libc.close(this.fd);
  }
}
