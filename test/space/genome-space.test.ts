import { describe, expect, it } from 'vitest';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { parseGenome } from '../../src/space/genome.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { Random } from '../../src/util/random.js';

const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
const rcCount = (text: string): number =>
  parseGenome(text).convs.filter((g) => g.kind === 'RC').length;

describe('genome space operators', () => {
  const space = new GenomeSpace();

  it('samples, mutates and crosses over into buildable genomes with exactly two RC', () => {
    const random = new Random(7);
    const population = Array.from({ length: 40 }, () => space.sample(random, target));
    for (let i = 0; i < 300; i += 1) {
      const a = random.choice(population);
      const b = random.choice(population);
      const child = space.mutate(a, random, target);
      const [c1, c2] = space.crossover(a, b, random, target);
      for (const genome of [child, c1, c2]) {
        const text = space.format(genome);
        expect(rcCount(text)).toBe(2);
        expect(() => analyzeArchitecture(space.compile(genome, target))).not.toThrow();
        expect(new Set(genome.convs.map((g) => g.id)).size).toBe(genome.convs.length);
        expect(genome.convs.length - 2).toBeLessThanOrEqual(space.options.maxNormal);
      }
      expect(space.format(child)).not.toBe(space.format(a));
      population[random.int(0, population.length - 1)] = random.bool() ? child : c1;
    }
  });

  it('keeps the identity of unchanged layers through mutation', () => {
    const random = new Random(3);
    const parent = space.sample(random, target);
    let kept = 0;
    for (let i = 0; i < 50; i += 1) {
      const child = space.mutate(parent, random, target);
      const parentIds = new Map(parent.convs.map((g) => [g.id, g]));
      for (const gene of child.convs) {
        const before = parentIds.get(gene.id);
        if (before && before.filters === gene.filters && before.kernel === gene.kernel) kept += 1;
      }
    }
    expect(kept).toBeGreaterThan(50);
  });

  it('one-point crossover exchanges whole slots around the RC parts', () => {
    const a = space.parse('NC 2 1 relu;RC 4 3 relu;NC 8 1 relu;RC 16 3 relu;NC 32 1 relu;FL relu;');
    const b = space.parse('NC 3 1 tanh;RC 5 3 tanh;NC 9 1 tanh;RC 17 3 tanh;NC 33 1 tanh;FL tanh;');
    const seen = new Set<string>();
    const random = new Random(1);
    for (let i = 0; i < 40; i += 1) {
      for (const child of space.crossover(a, b, random, target))
        seen.add(space.format(child).replace(/;FL \w+;$/, ''));
    }
    expect(seen).toContain('NC 2 1 relu;RC 4 3 relu;NC 9 1 tanh;RC 17 3 tanh;NC 33 1 tanh');
    expect(seen).toContain('NC 3 1 tanh;RC 5 3 tanh;NC 9 1 tanh;RC 17 3 tanh;NC 32 1 relu');
  });

  it('round-trips through text and JSON, and rejects bad options', () => {
    const random = new Random(11);
    const genome = space.sample(random, target);
    expect(space.format(space.parse(space.format(genome)))).toBe(space.format(genome));
    expect(space.fromJSON(JSON.parse(JSON.stringify(space.toJSON(genome))))).toEqual(genome);
    expect(() => new GenomeSpace({ kernels: [9] })).toThrow(/kernels\.0/);
    expect(() => new GenomeSpace({ minNormal: 3, maxNormal: 1 })).toThrow(
      /minNormal must not exceed maxNormal/,
    );
    expect(() =>
      new GenomeSpace({ kernels: [7] }).sample(new Random(1), {
        ...target,
        input: { channels: 1, height: 8, width: 8 },
      }),
    ).toThrow(/cannot produce a network for a 8x8 input/);
  });
});
