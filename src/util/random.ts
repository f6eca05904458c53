/**
 * Seeded, platform-independent pseudo-random numbers.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast chaotic" PRNG, 128 bits of state),
 * seeded through splitmix32 so that nearby integer seeds give unrelated streams. Only 32-bit
 * integer arithmetic (`Math.imul`, shifts, `>>> 0`) is used, so the sequence is identical on
 * every JavaScript engine and platform. The state is four unsigned 32-bit integers and can be
 * saved to JSON (`random.state`) and restored exactly (`Random.fromState`).
 */

/** JSON-serialisable snapshot of a {@link Random} generator. */
export interface RandomState {
  readonly algorithm: 'sfc32';
  /** The four unsigned 32-bit words of sfc32 state: a, b, c, d (d is the counter). */
  readonly words: readonly [number, number, number, number];
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** One step of splitmix32: returns [output, next state]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < TWO_POW_32;
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * @param seed any finite integer (negative and values beyond 2^32 are fine: all 53 bits of a
   *   safe integer take part in seeding).
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Random seed must be a safe integer, got ${String(seed)}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    // Fold the high word in through one splitmix round so that seeds differing only in the
    // high bits still start far apart.
    let s = (splitmix32(hi ^ 0x6a09e667)[0] ^ lo) | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32(s);
      words.push(out);
      s = next;
    }
    this.a = words[0] ?? 0;
    this.b = words[1] ?? 0;
    this.c = words[2] ?? 0;
    this.d = words[3] ?? 0;
    // Warm up, as recommended for sfc32.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Restores a generator saved with {@link Random.state}; it continues exactly where it was. */
  static fromState(state: RandomState): Random {
    const value: unknown = state;
    if (typeof value !== 'object' || value === null) {
      throw new TypeError('Random.fromState: state must be an object');
    }
    const { algorithm, words } = value as { algorithm?: unknown; words?: unknown };
    if (algorithm !== 'sfc32') {
      throw new TypeError(
        `Random.fromState: unsupported algorithm ${JSON.stringify(algorithm)}, expected "sfc32"`,
      );
    }
    if (!Array.isArray(words) || words.length !== 4 || !words.every(isUint32)) {
      throw new TypeError(
        'Random.fromState: state.words must be an array of four unsigned 32-bit integers',
      );
    }
    const r = Object.create(Random.prototype) as Random;
    r.setWords(words as number[]);
    return r;
  }

  private setWords(words: readonly number[]): void {
    this.a = words[0] ?? 0;
    this.b = words[1] ?? 0;
    this.c = words[2] ?? 0;
    this.d = words[3] ?? 0;
  }

  /** A JSON-serialisable copy of the current state. */
  get state(): RandomState {
    return { algorithm: 'sfc32', words: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0] };
  }

  /** An independent copy of this generator at its current state (advances neither). */
  clone(): Random {
    return Random.fromState(this.state);
  }

  /** Next raw output: an unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform float in [0, 1) with the full 53 bits of double precision. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Uniform float in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [minInclusive, maxInclusive], without modulo bias. */
  int(minInclusive: number, maxInclusive: number): number {
    if (!Number.isSafeInteger(minInclusive) || !Number.isSafeInteger(maxInclusive)) {
      throw new RangeError(
        `Random.int: bounds must be safe integers, got ${String(minInclusive)} and ${String(maxInclusive)}`,
      );
    }
    if (maxInclusive < minInclusive) {
      throw new RangeError(
        `Random.int: empty range [${String(minInclusive)}, ${String(maxInclusive)}]`,
      );
    }
    const span = maxInclusive - minInclusive + 1;
    if (span <= TWO_POW_32) {
      // Rejection sampling on 32-bit outputs: accept x < limit, where limit is a multiple of span.
      const limit = TWO_POW_32 - (TWO_POW_32 % span);
      for (;;) {
        const x = this.nextUint32();
        if (x < limit) return minInclusive + (x % span);
      }
    }
    if (!Number.isSafeInteger(span)) {
      throw new RangeError(
        `Random.int: range [${String(minInclusive)}, ${String(maxInclusive)}] is too wide`,
      );
    }
    // Wide ranges: rejection sampling on 53-bit integers.
    const limit = TWO_POW_53 - (TWO_POW_53 % span);
    for (;;) {
      const x = (this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6);
      if (x < limit) return minInclusive + (x % span);
    }
  }

  /** True with probability p. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element. Throws on an empty array. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0)
      throw new RangeError('Random.choice: cannot choose from an empty array');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    if (!Number.isInteger(n) || n < 0 || n >= TWO_POW_32) {
      throw new RangeError(`Random.permutation: n must be an integer in [0, 2^32), got ${n}`);
    }
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = out[i] as number;
      out[i] = out[j] as number;
      out[j] = tmp;
    }
    return out;
  }

  /** Standard normal sample (Box-Muller), optionally scaled: mean + std * N(0, 1). */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.nextDouble(); // (0, 1]: log is finite
    const u2 = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Derives a new generator whose stream is independent of this one's, advancing this one by
   * four outputs. Forking the same state always gives the same child.
   */
  fork(): Random {
    let s = 0x2545f491;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32((s ^ this.nextUint32()) | 0);
      words.push(out);
      s = next;
    }
    const child = Object.create(Random.prototype) as Random;
    child.setWords(words);
    for (let i = 0; i < 12; i++) child.nextUint32();
    return child;
  }
}
