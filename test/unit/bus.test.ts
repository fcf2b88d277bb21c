import { describe, expect, test } from "bun:test";
import { MmioBus, PortBus, type MmioDevice, type PortDevice } from "../../src/vcpu/bus";

class Recorder implements PortDevice {
  log: string[] = [];
  read(offset: number, size: number): number { this.log.push(`r${offset}/${size}`); return 0x1234_5678 >>> (8 * (4 - size)); }
  write(offset: number, size: number, value: number): void { this.log.push(`w${offset}/${size}=${value.toString(16)}`); }
}

describe("port bus", () => {
  test("devices see offsets into their range", () => {
    const bus = new PortBus();
    const d = new Recorder();
    bus.insert(0x3f8, 8, "uart", d);
    bus.write(0x3fb, 1, 0x80);
    bus.read(0x3f8, 2);
    expect(d.log).toEqual(["w3/1=80", "r0/2"]);
    expect(bus.nameAt(0x3ff)).toBe("uart");
    expect(bus.nameAt(0x400)).toBeUndefined();
  });

  test("refuses zero-length, out-of-range and overlapping ranges", () => {
    const bus = new PortBus();
    bus.insert(0x40, 4, "a", new Recorder());
    expect(() => bus.insert(0x10, 0, "z", new Recorder())).toThrow(/bad range/);
    expect(() => bus.insert(0xfffe, 4, "o", new Recorder())).toThrow(/bad range/);
    expect(() => bus.insert(0x43, 2, "b", new Recorder())).toThrow(/overlaps a/);
    bus.insert(0x44, 2, "c", new Recorder()); // adjacent is fine
  });

  test("unclaimed reads are all-ones for the access size; misses are counted and reported once", () => {
    const reports: string[] = [];
    const bus = new PortBus((b, addr, size, write) => reports.push(`${b} ${addr.toString(16)} ${size} ${write}`));
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffffffff);
    bus.write(0x80, 1, 0);
    bus.write(0x81, 1, 0);
    expect(reports).toEqual(["port 80 1 false", "port 81 1 true"]);
    expect(bus.misses.get(0x80)).toEqual({ reads: 3, writes: 1 });
  });
});

describe("MMIO bus", () => {
  class Mem implements MmioDevice {
    bytes = new Uint8Array(0x100);
    read(offset: number, data: Uint8Array): void { data.set(this.bytes.subarray(offset, offset + data.length)); }
    write(offset: number, data: Uint8Array): void { this.bytes.set(data, offset); }
  }

  test("finds devices by address among many and hands them offsets", () => {
    const bus = new MmioBus();
    const devs = [0xd000_0000, 0xfee0_0000, 0xfec0_0000, 0x1_0000_0000].map((base) => { const d = new Mem(); bus.insert(base, 0x100, base.toString(16), d); return d; });
    bus.write(0xfec0_0010, Uint8Array.of(1, 2, 3, 4));
    expect([...devs[2]!.bytes.subarray(0x10, 0x14)]).toEqual([1, 2, 3, 4]);
    const out = new Uint8Array(2);
    bus.read(0xfec0_0011, out);
    expect([...out]).toEqual([2, 3]);
  });

  test("unclaimed reads fill all-ones, writes are dropped, each address reported once", () => {
    const reports: number[] = [];
    const bus = new MmioBus((_b, addr) => reports.push(addr));
    bus.insert(0x1000, 0x100, "m", new Mem());
    const out = new Uint8Array(8);
    bus.read(0x1100, out);
    bus.read(0x1100, out);
    bus.write(0xfff, Uint8Array.of(1));
    expect([...out]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(reports).toEqual([0x1100, 0xfff]);
  });

  test("refuses overlapping ranges", () => {
    const bus = new MmioBus();
    bus.insert(0x1000, 0x1000, "a", new Mem());
    expect(() => bus.insert(0x1fff, 2, "b", new Mem())).toThrow(/overlaps a/);
    expect(() => bus.insert(0x800, 0, "c", new Mem())).toThrow(/bad range/);
  });
});
