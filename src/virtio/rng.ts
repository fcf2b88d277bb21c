// virtio-rng, the entropy device (virtio 1.2, 5.4): one queue of write-only buffers, each filled
// with random bytes from the host (getrandom, through the Web Crypto API), so a guest kernel's
// random pool is seeded at boot instead of waiting for jitter. No features, no configuration.
import type { GuestMemory } from "../memory/guest-memory";
import type { VirtioDevice } from "./mmio";
import { writeToChain, type VirtQueue } from "./queue";

export const VIRTIO_ID_RNG = 4;
const QUEUE_SIZE = 256;
/** Bytes given per request at most: what the driver asks is a page or less; the rest of a bigger buffer stays untouched (its used length says so). */
export const RNG_MAX_REQUEST = 64 << 10;
/** crypto.getRandomValues fills at most 64 KiB per call. */
const pool = new Uint8Array(RNG_MAX_REQUEST);

export class VirtioRng implements VirtioDevice {
  readonly deviceId = VIRTIO_ID_RNG;
  readonly features = 0n;
  readonly queueSizes = [QUEUE_SIZE];
  readonly stats = { requests: 0, bytes: 0 };

  constructor(private readonly memory: GuestMemory, private readonly random: (into: Uint8Array) => void = (b) => crypto.getRandomValues(b)) {}

  readConfig(): void {}
  writeConfig(): void {}

  process(queue: VirtQueue): void {
    for (let c = queue.pop(); c !== undefined; c = queue.pop()) {
      const n = Math.min(c.writableBytes, RNG_MAX_REQUEST);
      const bytes = pool.subarray(0, n);
      this.random(bytes);
      const written = writeToChain(this.memory, c.writable, bytes);
      bytes.fill(0); // nothing of it stays in the host's memory
      this.stats.requests++;
      this.stats.bytes += written;
      queue.push(c.head, written);
    }
  }
}
