// A TAP device: the host end of the guest's network card, where each read(2) gives one Ethernet
// frame the host sends and each write(2) hands it one. Opened non-blocking through /dev/net/tun
// (TUNSETIFF with IFF_TAP | IFF_NO_PI: no packet-information prefix; IFF_VNET_HDR with a 12-byte
// header, TUNSETVNETHDRSZ: each frame carries the virtio_net_hdr, so the guest's checksum and
// segmentation offloads pass through; TUNSETOFFLOAD says which the guest takes). The kernel
// creates the device if it does not exist, which needs CAP_NET_ADMIN; an existing one the user
// owns (`ip tuntap add NAME mode tap user USER`) opens without it. Configuring the host side
// (address, up, bridge) is the user's, as with QEMU and Firecracker.
import { BadInputError, HostError } from "../errors";
import { parseMac } from "../virtio/net";
import * as libc from "../libc/libc";
import { EPERM, EACCES, EBUSY, EINVAL, EIO, EMSGSIZE, ENOBUFS, ENOMEM } from "../libc/errno";

const TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
const TUNSETOFFLOAD = 0x400454d0; // _IOW('T', 208, unsigned int)
const TUNSETVNETHDRSZ = 0x400454d8; // _IOW('T', 216, int)
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
/** The header with num_buffers: the size virtio 1.x uses whatever was negotiated. */
const VNET_HDR_SIZE = 12;
/**
 * What a write of one frame can fail with that is the frame's fate, not ours: the kernel refused
 * its virtio_net_hdr or its length (EINVAL: a guest may send anything), the device is down (EIO),
 * or it had no memory for it. A NIC drops such a frame and goes on; so do we.
 */
const DROPPED = new Set([EINVAL, EIO, EMSGSIZE, ENOBUFS, ENOMEM]);
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
  /** Every frame read or written carries the virtio_net_hdr first. */
  readonly vnetHeader = true;

  private constructor(readonly name: string, readonly fd: number) {}

  /** The TAP another thread opened (and will close), for this thread's reads and writes. */
  static borrowed(name: string, fd: number): Tap {
    return new Tap(name, fd);
  }

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
    new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    try {
      libc.ioctl(fd, TUNSETIFF, ifr, "TUNSETIFF");
      libc.ioctl(fd, TUNSETVNETHDRSZ, Int32Array.of(VNET_HDR_SIZE), "TUNSETVNETHDRSZ");
    } catch (e) {
      libc.close(fd);
      throw refused(e);
    }
    return new Tap(name, fd);
  }

  /** Which offloads the guest takes: the kernel then may hand over frames with partial checksums, or TCP segments up to 64 KiB. */
  setOffloads(o: { csum: boolean; tso4: boolean; tso6: boolean }): void {
    const flags = o.csum ? TUN_F_CSUM | (o.tso4 ? TUN_F_TSO4 : 0) | (o.tso6 ? TUN_F_TSO6 : 0) : 0; // TSO needs the checksum offload
    libc.ioctlInt(this.fd, TUNSETOFFLOAD, flags, "TUNSETOFFLOAD");
  }

  /** One frame from the host into `into`: its length, or 0 when none waits. */
  receive(into: Uint8Array): number {
    return Math.max(0, libc.readSome(this.fd, into));
  }

  /** One frame to the host; false when it was dropped (the device's queue full, the frame refused). */
  send(frame: Uint8Array): boolean {
    try {
      return libc.writeOnce(this.fd, frame) === frame.length;
    } catch (e) {
      return refused(e);
    }
  }

  /**
   * One frame to the host straight from `count` ranges of (guest) memory, addrs[i] and lens[i],
   * checked by the caller; false when it was dropped, as for send().
   */
  sendHost(addrs: Float64Array, lens: Float64Array, count: number, length: number): boolean {
    try {
      return libc.writevHost(this.fd, addrs, lens, count) === length;
    } catch (e) {
      return refused(e);
    }
  }

  close(): void {
    libc.close(this.fd);
  }
}

/** False for a write that failed with the frame's fate (DROPPED); anything else is ours and is thrown on. */
function refused(e: unknown): false {
  if (e instanceof libc.SyscallError && DROPPED.has(e.errno)) return false;
  throw e;
}
