import { describe, expect, it } from 'vitest';
import { Random } from '../../src/util/random.js';

function draw(r: Random, n: number): number[] {
  return Array.from({ length: n }, () => r.next());
}

describe('Random', () => {
  it('gives the same sequence for the same seed', () => {
    expect(draw(new Random(42), 100)).toEqual(draw(new Random(42), 100));
  });

  it('is pinned to a fixed sequence (platform independence)', () => {
    const r = new Random(1);
    const first = Array.from({ length: 4 }, () => r.nextUint32());
    const again = new Random(1);
    expect(Array.from({ length: 4 }, () => again.nextUint32())).toEqual(first);
    for (const x of first) {
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(2 ** 32);
    }
    expect(first).toMatchInlineSnapshot(`
      [
        63646239,
        4042383919,
        3196472604,
        215873772,
      ]
    `);
  });

  it('gives different sequences for different seeds, including nearby and large ones', () => {
    const seeds = [0, 1, 2, -1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
    const sequences = seeds.map((s) => JSON.stringify(draw(new Random(s), 8)));
    expect(new Set(sequences).size).toBe(seeds.length);
  });

  it('rejects non-integer seeds', () => {
    expect(() => new Random(1.5)).toThrow(/safe integer/);
    expect(() => new Random(Number.NaN)).toThrow(/safe integer/);
  });

  it('next() stays in [0, 1) and is roughly uniform', () => {
    const xs = draw(new Random(7), 20000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });

  it('fromState resumes exactly, through a JSON round trip', () => {
    const r = new Random(123);
    draw(r, 17);
    r.normal();
    const saved = JSON.parse(JSON.stringify(r.state)) as Random['state'];
    const expected = [...draw(r, 50), r.int(0, 1000), r.normal()];
    const restored = Random.fromState(saved);
    expect([...draw(restored, 50), restored.int(0, 1000), restored.normal()]).toEqual(expected);
  });

  it('fromState rejects malformed states', () => {
    expect(() => Random.fromState({ algorithm: 'sfc32', words: [1, 2, 3] } as never)).toThrow(
      /four unsigned 32-bit/,
    );
    expect(() => Random.fromState({ algorithm: 'mt', words: [1, 2, 3, 4] } as never)).toThrow(
      /unsupported algorithm/,
    );
    expect(() =>
      Random.fromState({ algorithm: 'sfc32', words: [1, 2, 3, 2 ** 32] } as never),
    ).toThrow(/four unsigned 32-bit/);
  });

  it('clone() copies without advancing', () => {
    const r = new Random(5);
    const c = r.clone();
    expect(draw(c, 10)).toEqual(draw(r, 10));
  });

  it('int stays in bounds and hits both ends', () => {
    const r = new Random(99);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const x = r.int(-3, 4);
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(-3);
      expect(x).toBeLessThanOrEqual(4);
      seen.add(x);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3, 4]);
    expect(r.int(5, 5)).toBe(5);
    const wide = r.int(0, 2 ** 40);
    expect(wide).toBeGreaterThanOrEqual(0);
    expect(wide).toBeLessThanOrEqual(2 ** 40);
    expect(() => r.int(3, 2)).toThrow(/empty range/);
    expect(() => r.int(0, 1.5)).toThrow(/safe integers/);
  });

  it('choice picks every element and rejects empty arrays', () => {
    const r = new Random(3);
    const items = ['a', 'b', 'c'] as const;
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(r.choice(items));
    expect(seen.size).toBe(3);
    expect(() => r.choice([])).toThrow(/empty/);
  });

  it('shuffle is in place, returns the same array, and is a permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = new Random(11).shuffle(items);
    expect(out).toBe(items);
    expect([...out].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(out).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Random(11).shuffle(Array.from({ length: 50 }, (_, i) => i))).toEqual(out);
  });

  it('permutation covers 0..n-1 exactly once', () => {
    const p = new Random(8).permutation(1000);
    expect(p).toBeInstanceOf(Uint32Array);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(new Random(8).permutation(0).length).toBe(0);
    expect(() => new Random(8).permutation(-1)).toThrow(RangeError);
  });

  it('normal() has mean ~0 and std ~1', () => {
    const r = new Random(2024);
    const xs = Array.from({ length: 20000 }, () => r.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.03);
    expect(xs.every(Number.isFinite)).toBe(true);
  });

  it('fork derives a deterministic, independent stream', () => {
    const a = new Random(10);
    const b = new Random(10);
    const childA = a.fork();
    const childB = b.fork();
    expect(draw(childA, 20)).toEqual(draw(childB, 20));
    // The child differs from the parent's continuation and from a second fork.
    const parentNext = draw(a, 20);
    const child2 = a.fork();
    const childNext = draw(new Random(10).fork(), 20);
    expect(childNext).not.toEqual(parentNext);
    expect(draw(child2, 20)).not.toEqual(childNext);
  });
});
