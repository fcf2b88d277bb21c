// A hostile virtio driver of our own (guest/test-virtio.c) against the course board's virtio-rng:
// every broken queue leaves the device in DEVICE_NEEDS_RESET with nothing returned and one report
// (the first few printed, the rest counted); the guest runs on, and a good request after a reset
// works. No Linux needed: this runs on any KVM.
import { describe, expect, test } from "bun:test";
import { guest, hasKvm, runVmm } from "../helpers";

describe.skipIf(!hasKvm)("virtio-mmio against a hostile driver", () => {
  test("each broken queue: DEVICE_NEEDS_RESET, nothing used, one report; good requests before and after", async () => {
    const r = await runVmm(["--stats", guest("test-virtio.elf")], { timeoutMs: 60_000 });
    expect(r.stdout).toBe([
      "magic 0x74726976, version 2, device 4, queue max 256",
      "a good request: status 0x0f, used 1, length 64, random bytes",
      "descriptor table outside RAM: status 0x4f, used 0",
      "queue size 3: status 0x4f, used 0",
      "a chain that loops: status 0x4f, used 0",
      "a buffer outside RAM: status 0x4f, used 0",
      "a length of 4 GiB - 1: status 0x4f, used 0",
      "an indirect table inside one: status 0x4f, used 0",
      "an available index 1000 ahead: status 0x4f, used 0",
      "a head index past the queue: status 0x4f, used 0",
      "a notification before set-up: status 0x00, used 0",
      "a good request again, indirect: status 0x0f, used 1, length 64, random bytes",
      "",
    ].join("\n"));
    expect(r.status).toBe(0);
    const lines = r.stderr.split("\n");
    expect(lines.slice(0, 6)).toEqual([
      "microvmm: virtio rng: queue 0: the descriptor table at 0xfff00000+128 is not in guest RAM; the device needs a reset",
      "microvmm: virtio rng: queue 0: queue size 3 is not a power of two from 1 to 256; the device needs a reset",
      "microvmm: virtio rng: queue 0: the chain at 0 is longer than 8 descriptors (a loop?); the device needs a reset",
      "microvmm: virtio rng: queue 0: a buffer at 0x7ffffffffffff000+4096 is not in guest RAM (chain 0); the device needs a reset",
      expect.stringMatching(/^microvmm: virtio rng: queue 0: a buffer at 0x[0-9a-f]+\+4294967295 is not in guest RAM \(chain 0\); the device needs a reset$/),
      "microvmm: (virtio rng: further reports are counted, not printed; --stats has the total)",
    ]);
    expect(lines).toContain("  guest problems reported: virtio rng 9");
    // 9 notifications; InterruptStatus raised for the 2 good requests and, once DRIVER_OK was set,
    // for each of the 6 queues broken at a notification (a configuration change: "needs reset").
    expect(lines).toContain("  virtio rng: 9 notifications, 8 interrupts, 9 errors, 2 requests, 128 bytes");
  }, 90_000);
});
