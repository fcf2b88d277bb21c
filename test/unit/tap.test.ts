// The TAP device against the host's own tun driver: a frame the kernel refuses (what a guest may
// send: too short, a virtio_net_hdr it will not take) or cannot take (the device down) is dropped
// as a NIC drops it, never an error that ends the VM; a frame sent in place from mapped memory
// reaches the host whole. Needs root (creating a TAP); skipped without it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { Tap } from "../../src/host/tap";
import { GuestMemory } from "../../src/memory/guest-memory";

const canCreate = process.getuid?.() === 0 && existsSync("/dev/net/tun") && Bun.which("ip") !== null;
const NAME = `mvmm-ut${process.pid % 100000}`;
const HDR = 12;
/** A 60-byte broadcast ARP frame after a virtio_net_hdr of `hdr` (zeros: no offload). */
const frame = (hdr: number[] = []) => {
  const f = new Uint8Array(HDR + 60);
  f.set(hdr);
  f.fill(0xff, HDR, HDR + 6);
  f.set([0x52, 0x54, 0, 0, 0, 1, 0x08, 0x06], HDR + 6);
  return f;
};
const ip = (...args: string[]) => Bun.spawnSync(["ip", ...args], { stderr: "pipe" });
/** What the host's end has taken from us (frames written to a TAP arrive as its receive). */
const received = () => ["rx_packets", "rx_bytes"].map((c) => Number(readFileSync(`/sys/class/net/${NAME}/statistics/${c}`, "utf8")));

describe.skipIf(!canCreate)("TAP device (root: creates one)", () => {
  let tap: Tap;
  beforeAll(() => { tap = Tap.open(NAME); });
  afterAll(() => tap.close()); // not persistent: closing deletes it

  test("while the device is down every frame is dropped (EIO), not an error", () => {
    expect(tap.send(frame())).toBe(false);
  });

  test("up: a frame is taken; one the kernel refuses is dropped (EINVAL) and the next is taken", () => {
    expect(ip("link", "set", NAME, "up").exitCode).toBe(0);
    const [packets, bytes] = received();
    expect(tap.send(frame())).toBe(true);
    expect(tap.send(frame().subarray(0, HDR + 1))).toBe(false); // shorter than an Ethernet header
    expect(tap.send(frame([0, 1]))).toBe(false); // GSO TCPv4 with gso_size 0
    expect(tap.send(frame([1, 0, 0, 0, 0, 0, 200, 0, 0, 0]))).toBe(false); // NEEDS_CSUM at byte 200 of a 60-byte frame
    expect(tap.send(frame())).toBe(true);
    expect(received()).toEqual([packets! + 2, bytes! + 120]);
  });

  test("sendHost: the frame read in place from several ranges of mapped memory; a refused one is dropped", () => {
    const m = GuestMemory.anonymous([{ gpa: 0, size: 0x10000 }]);
    try {
      const f = frame();
      m.write(0x1000, f.subarray(0, HDR)); // the header in one buffer, the frame in another, as Linux sends them
      m.write(0x8000, f.subarray(HDR));
      const addrs = new Float64Array(2), lens = new Float64Array(2);
      expect(m.hostRanges([{ gpa: 0x1000, len: HDR }, { gpa: 0x8000, len: 60 }], addrs, lens)).toBe(true);
      const [packets, bytes] = received();
      expect(tap.sendHost(addrs, lens, 2, HDR + 60)).toBe(true);
      expect(received()).toEqual([packets! + 1, bytes! + 60]);
      m.write(0x1000, Uint8Array.of(0, 1)); // now GSO TCPv4 with gso_size 0
      expect(tap.sendHost(addrs, lens, 2, HDR + 60)).toBe(false);
      expect(received()).toEqual([packets! + 1, bytes! + 60]);
    } finally {
      m.unmap();
    }
  });
});
