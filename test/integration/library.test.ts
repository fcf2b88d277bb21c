// microvmm as a library, in this process: guests of ours on real KVM with devices written here.
import { describe, expect, test } from "bun:test";
import { BadInputError, ExitStatus, HostError, runGuest, VirtualMachine } from "../../src/lib";
import { guest, hasKvm } from "../helpers";

describe.skipIf(!hasKvm)("library", () => {
  test("a guest's output, status and stats come back; the ELF's mode comes from its class", async () => {
    const r = await runGuest({ guest: guest("hello-32.elf") });
    expect(r.output).toBe("Hello, world!\nHello from protected mode\n");
    expect(r.status).toBe(ExitStatus.Ok);
    expect(r.message).toBe("guest halted");
    expect(r.stats.exits.byReason.HLT).toBe(1);
    expect(r.registers).toBeUndefined();
  });

  test("a port device sees the guest's accesses at offsets into its range; reads return what it says", async () => {
    // test-io-sizes reads port 0x300 and expects all-ones there ("ones ok"); here a device answers instead.
    const seen: string[] = [];
    const r = await runGuest({ guest: guest("test-io-sizes.bin"), mode: "long" }, [{
      port: 0x2ff, length: 2, name: "probe",
      device: { read: (offset, size) => { seen.push(`read ${offset} ${size}`); return 0x12; }, write: () => {} },
    }]);
    expect(seen).toEqual(["read 1 1"]);
    expect(r.output).toBe("ABCDEFghij\nones bad\n");
  });

  test("an MMIO device gets the guest's loads and stores with their sizes and data", async () => {
    const seen: string[] = [];
    const vm = VirtualMachine.create({ guest: guest("test-mmio.bin"), mode: "long", memory: "128M" });
    try {
      vm.addMmioDevice(0x9000000, 0x1000, {
        read: (offset, data) => { seen.push(`read ${offset} ${data.length}`); data.fill(0xff); },
        write: (offset, data) => { seen.push(`write ${offset} ${[...data].map((b) => b.toString(16)).join(",")}`); },
      });
      expect(() => vm.addMmioDevice(0x7fff000, 0x2000, { read: () => {}, write: () => {} })).toThrow("overlaps guest RAM");
      const r = await vm.run();
      expect(r.output).toBe("mmio ok\n");
      expect(seen).toEqual(["write 0 78,56,34,12", "read 0 4", "read 0 1"]);
      expect(r.stats.unclaimed).toEqual([]);
    } finally {
      vm.close();
    }
  });

  test("a device can end the run; a device on a board's port is refused", async () => {
    const vm = VirtualMachine.create({ guest: guest("test-io-sizes.bin"), mode: "long" });
    try {
      expect(() => vm.addPortDevice(0x42, 1, { read: () => 0, write: () => {} })).toThrow("overlaps console");
      vm.addPortDevice(0x300, 1, { read: () => { vm.stop(7, "seen enough"); return 0; }, write: () => {} });
      const r = await vm.run();
      expect([r.status, r.message]).toEqual([7, "seen enough"]);
      expect(r.output).toBe("ABCDEFghij\n");
    } finally {
      vm.close();
    }
  });

  test("input reaches the guest's keyboard; a guest that never ends is stopped at timeoutMs", async () => {
    const r = await runGuest({ guest: guest("demo-50ms.elf"), input: "hi\n", timeoutMs: 400 });
    expect(r.output).toContain("echo demo");
    expect(r.output).toContain("\nhi\n");
    expect(r.status).toBe(ExitStatus.TimedOut);
    expect(r.message).toBe("timed out after 400 ms");
  });

  test("a failing guest: status GuestFailed with its registers", async () => {
    const r = await runGuest({ guest: guest("test-triple-fault.bin"), mode: "long" });
    expect(r.status).toBe(ExitStatus.GuestFailed);
    expect(r.message).toContain("triple-faulted");
    expect(r.registers?.some((l) => l.startsWith("rip="))).toBe(true);
  });

  test("bad input and a missing KVM are typed errors with the command line's messages", () => {
    expect(() => VirtualMachine.create({ guest: Uint8Array.of(1, 2, 3) })).toThrow(BadInputError);
    expect(() => VirtualMachine.create({ guest: Uint8Array.of(1, 2, 3) })).toThrow("guest image: not an ELF file; to run a raw binary give --mode");
    expect(() => VirtualMachine.create({ guest: "/nonexistent.elf" })).toThrow("cannot read guest /nonexistent.elf: no such file");
    expect(() => VirtualMachine.create({ guest: guest("hello-32.elf"), kvmPath: "/nonexistent/kvm" })).toThrow(HostError);
    expect(() => VirtualMachine.create({ guest: guest("hello-32.elf"), memory: "12Q" })).toThrow('bad memory size "12Q"');
    expect(() => VirtualMachine.create({ guest: guest("hello-32.elf"), memory: 12345 })).toThrow('bad memory size "12345B": must be a multiple of 4K');
    expect(() => VirtualMachine.create({ guest: guest("hello-32.elf"), memory: 2 ** 50 })).toThrow("is out of range");
  });
});
