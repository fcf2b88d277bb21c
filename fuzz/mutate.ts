// Seeded mutation of byte strings: the same seed gives the same cases, so a failure found by a long
// run is reproduced by `bun run fuzz --seed N --cases K`. Mutations aim where parsers break: bit
// flips, boundary values written at random (and at header-like) offsets, truncation, growth.

/** xorshift32: small, fast, and enough for choosing mutations. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = (seed >>> 0) || 0x9e3779b9;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }

  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
}

/** Values that sit on the edges parsers check: zero, all-ones, sign bits, sizes just past limits. */
const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x100000,
  0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

/** One mutated copy of `input` (1 to 4 mutations). */
export function mutate(input: Uint8Array, rng: Rng): Uint8Array {
  let out = input.slice();
  for (let n = 1 + rng.below(4); n > 0; n--) {
    const len = out.length;
    // Header-like offsets (the first 4 KiB) are chosen more often than the body.
    const at = () => (rng.below(2) === 0 ? rng.below(Math.min(len, 0x1000)) : rng.below(len));
    switch (rng.below(7)) {
      case 0: if (len > 0) { const i = at(); out[i] = out[i]! ^ (1 << rng.below(8)); } break;
      case 1: if (len > 0) out[at()] = rng.pick([0, 0xff, 0x7f, 0x80, 1]); break;
      case 2: if (len >= 4) { const i = Math.min(at(), len - 4); new DataView(out.buffer).setUint32(i, rng.pick(INTERESTING32), true); } break;
      case 3: if (len >= 8) { const i = Math.min(at(), len - 8); new DataView(out.buffer).setBigUint64(i, BigInt(rng.pick(INTERESTING32)) << BigInt(rng.pick([0, 12, 32])), true); } break;
      case 4: out = out.subarray(0, rng.below(len + 1)).slice(); break; // truncate
      case 5: { const grown = new Uint8Array(len + 1 + rng.below(4096)); grown.set(out); out = grown; break; } // grow
      case 6: if (len > 16) { const from = rng.below(len - 8); const to = at(); out.copyWithin(to, from, from + 8); } break; // splice a field elsewhere
    }
  }
  return out;
}
