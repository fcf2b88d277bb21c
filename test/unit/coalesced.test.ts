// The coalesced-write ring on a hand-made page: entries handed to the bus in order, across the
// wrap-around, each counted as the I/O exit it stands for; `first` given back to KVM.
import { describe, expect, test } from "bun:test";
import { PortBus } from "../../src/vcpu/bus";
import { CoalescedRing, RING_ENTRIES } from "../../src/vcpu/coalesced";
import { ExitStats } from "../../src/vcpu/stats";

function ring(first: number, entries: Array<{ port: number; len: number; value: number }>) {
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  let last = first;
  for (const e of entries) {
    const at = 8 + last * 24;
    dv.setBigUint64(at, BigInt(e.port), true);
    dv.setUint32(at + 8, e.len, true);
    dv.setUint32(at + 12, 1, true); // pio
    dv.setUint32(at + 16, e.value, true);
    last = (last + 1) % RING_ENTRIES;
  }
  dv.setUint32(0, first, true);
  dv.setUint32(4, last, true);
  const writes: string[] = [];
  const ports = new PortBus();
  ports.insert(0x42, 1, "console", { read: () => 0, write: (_o, s, v) => writes.push(`42:${s}:${v.toString(16)}`) });
  ports.insert(0xe9, 1, "debugcon", { read: () => 0, write: (_o, s, v) => writes.push(`e9:${s}:${v.toString(16)}`) });
  const stats = new ExitStats();
  const traces: string[] = [];
  return { r: new CoalescedRing(page, ports, stats, (l) => traces.push(l)), dv, writes, stats, traces };
}

describe("coalesced ring", () => {
  test("writes reach the bus oldest first, across the end of the ring; first is given back", () => {
    const { r, dv, writes, stats, traces } = ring(RING_ENTRIES - 2, [
      { port: 0x42, len: 1, value: 0x41 }, { port: 0xe9, len: 1, value: 0x42 }, { port: 0x42, len: 2, value: 0x4443 }, { port: 0x42, len: 4, value: 0x48474645 },
    ]);
    r.drain();
    expect(writes).toEqual(["42:1:41", "e9:1:42", "42:2:4443", "42:4:48474645"]);
    expect(dv.getUint32(0, true)).toBe(2); // wrapped
    expect([stats.total, stats.coalesced, stats.ioOut, stats.ports.get(0x42)?.out]).toEqual([4, 4, 4, 3]);
    expect(stats.reasons()).toEqual({ IO: 4 });
    expect(traces[0]).toBe("exit IO out port=0x0042 (console) size=1 data=41 coalesced");
    r.drain(); // nothing new
    expect(writes.length).toBe(4);
  });

  test("indices out of range are not followed; an entry of an impossible size is skipped", () => {
    const bad = ring(0, [{ port: 0x42, len: 1, value: 1 }]);
    bad.dv.setUint32(4, RING_ENTRIES + 5, true);
    bad.r.drain();
    expect(bad.writes).toEqual([]);
    const odd = ring(0, [{ port: 0x42, len: 3, value: 1 }, { port: 0x42, len: 1, value: 2 }]);
    odd.r.drain();
    expect(odd.writes).toEqual(["42:1:2"]);
  });
});
