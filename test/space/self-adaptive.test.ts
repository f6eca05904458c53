import { describe, expect, it } from 'vitest';
import { searchConfigSchema } from '../../src/run/config.js';
import { createStrategy, restoreStrategy } from '../../src/search/registry.js';
import type { Evaluated, Proposal } from '../../src/search/strategy.js';
import { CellSpace } from '../../src/space/cells/index.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { createSpace, SpaceError } from '../../src/space/registry.js';
import {
  DEFAULT_SELF_ADAPTIVE,
  expectedMutationSteps,
  mutationRateOf,
  mutationSteps,
  perturbRate,
  type SelfAdaptiveGenome,
  SelfAdaptiveSpace,
} from '../../src/space/self-adaptive.js';
import type { CompileTarget, SearchSpace } from '../../src/space/space.js';
import { Random } from '../../src/util/random.js';
import { toySpace, type Toy } from '../search/toy.js';

const target: CompileTarget = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };

/**
 * A counting space: a genome is the number of mutations applied on the way to it (plus a tag
 * that crossover swaps), so `child.steps - parent.steps` is how many inner mutations one outer
 * mutation applied.
 */
interface Counter {
  readonly steps: number;
  readonly tag: string;
}
function counterSpace(): SearchSpace<Counter> & { calls: number } {
  const space = {
    name: 'counter',
    calls: 0,
    sample: (random: Random) => ({ steps: 0, tag: String(random.int(0, 999)) }),
    mutate: (genome: Counter) => {
      space.calls++;
      return { steps: genome.steps + 1, tag: genome.tag };
    },
    crossover: (a: Counter, b: Counter): [Counter, Counter] => [
      { steps: a.steps, tag: `${a.tag}x${b.tag}` },
      { steps: b.steps, tag: `${b.tag}x${a.tag}` },
    ],
    format: (genome: Counter) => `${genome.tag}@${String(genome.steps)}`,
    parse: (text: string) => {
      const [tag, steps] = text.split('@');
      return { steps: Number(steps), tag: tag ?? '' };
    },
    toJSON: (genome: Counter) => ({ steps: genome.steps, tag: genome.tag }),
    fromJSON: (value: unknown) => {
      const v = value as Partial<Counter> | null;
      if (typeof v?.steps !== 'number' || typeof v.tag !== 'string')
        throw new Error('not a counter genome');
      return { steps: v.steps, tag: v.tag };
    },
    compile: () => {
      throw new Error('counter genomes do not compile');
    },
  };
  return space;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('mutationSteps', () => {
  it('is 1 + Binomial(maxSteps - 1, rate): 1 at rate 0, maxSteps at rate 1, the mean between', () => {
    const random = new Random(1);
    for (let i = 0; i < 50; i++) {
      expect(mutationSteps(0, 5, random)).toBe(1);
      expect(mutationSteps(1, 5, random)).toBe(5);
      expect(mutationSteps(0.7, 1, random)).toBe(1);
    }
    const draws = Array.from({ length: 4000 }, () => mutationSteps(0.5, 5, random));
    expect(Math.min(...draws)).toBe(1);
    expect(Math.max(...draws)).toBe(5);
    expect(mean(draws)).toBeCloseTo(expectedMutationSteps(0.5, 5), 1);
    expect(expectedMutationSteps(0.5, 5)).toBe(3);
    // Binomial(4, 0.5): P(steps = 3) = 6/16.
    expect(draws.filter((d) => d === 3).length / draws.length).toBeCloseTo(6 / 16, 1);
  });

  it('is deterministic for the state of the generator', () => {
    const a = new Random(7);
    const b = new Random(7);
    const da = Array.from({ length: 30 }, () => mutationSteps(0.4, 6, a));
    const db = Array.from({ length: 30 }, () => mutationSteps(0.4, 6, b));
    expect(da).toEqual(db);
  });
});

describe('perturbRate', () => {
  it('multiplies by exp(tau * N(0, 1)) and clamps to [minRate, maxRate]', () => {
    const bounds = { learningRate: 0.7, minRate: 0.01, maxRate: 1 };
    const random = new Random(3);
    const normals = random.clone();
    for (let i = 0; i < 200; i++) {
      const expected = Math.min(1, Math.max(0.01, 0.3 * Math.exp(0.7 * normals.normal())));
      expect(perturbRate(0.3, bounds, random)).toBeCloseTo(expected, 12);
    }
    expect(perturbRate(0.3, { ...bounds, learningRate: 0 }, random)).toBe(0.3);
  });
});

describe('SelfAdaptiveSpace', () => {
  it('samples and parses at initialRate and takes the inner name and format', () => {
    const inner = new GenomeSpace({});
    const space = new SelfAdaptiveSpace(inner, { initialRate: 0.2 });
    expect(space.name).toBe('genome');
    const random = new Random(2);
    const genome = space.sample(random, target);
    expect(genome.rate).toBe(0.2);
    expect(mutationRateOf(genome)).toBe(0.2);
    expect(mutationRateOf(genome.network)).toBeUndefined();
    expect(space.format(genome)).toBe(inner.format(genome.network));
    expect(space.format(genome)).not.toContain('0.2');
    const parsed = space.parse(space.format(genome));
    expect(parsed.rate).toBe(0.2);
    expect(space.format(parsed)).toBe(space.format(genome));
    expect(space.compile(genome, target)).toEqual(inner.compile(genome.network, target));
  });

  it('changes rates under mutation and keeps them within [minRate, maxRate]', () => {
    const space = new SelfAdaptiveSpace(counterSpace(), { minRate: 0.05, maxRate: 0.9 });
    const random = new Random(4);
    let genome = space.sample(random, target);
    const rates: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const child = space.mutate(genome, random, target);
      rates.push(child.rate);
      genome = child;
    }
    for (const rate of rates) {
      expect(rate).toBeGreaterThanOrEqual(0.05);
      expect(rate).toBeLessThanOrEqual(0.9);
    }
    // A long random walk on the log scale reaches both bounds (clamped exactly to them).
    expect(rates).toContain(0.05);
    expect(rates).toContain(0.9);
    // And moves: nearly every step changes the rate.
    let changed = 0;
    for (let i = 1; i < rates.length; i++) if (rates[i] !== rates[i - 1]) changed++;
    expect(changed).toBeGreaterThan(rates.length * 0.6);
  });

  it("centres a child's rate on its parent's rate", () => {
    const space = new SelfAdaptiveSpace(counterSpace(), {});
    const random = new Random(5);
    const network = space.sample(random, target).network;
    const childRates = (rate: number) =>
      Array.from({ length: 2000 }, () => space.mutate({ network, rate }, random, target).rate);
    const low = childRates(0.05);
    const high = childRates(0.8);
    expect(median(low)).toBeGreaterThan(0.05 * 0.85);
    expect(median(low)).toBeLessThan(0.05 * 1.15);
    expect(median(high)).toBeGreaterThan(0.8 * 0.85);
    expect(median(high)).toBeLessThan(0.8 * 1.15);
    // Spread as the log-normal gives: the log rates' standard deviation is tau.
    const logs = low.map(Math.log);
    const logMean = mean(logs);
    const sd = Math.sqrt(mean(logs.map((x) => (x - logMean) ** 2)));
    expect(sd).toBeGreaterThan(DEFAULT_SELF_ADAPTIVE.learningRate * 0.9);
    expect(sd).toBeLessThan(DEFAULT_SELF_ADAPTIVE.learningRate * 1.1);
  });

  it('applies more inner mutations at a higher rate', () => {
    const stepsAt = (rate: number) => {
      const inner = counterSpace();
      // learningRate 0 keeps the rate fixed, so the step count follows it exactly.
      const space = new SelfAdaptiveSpace(inner, { learningRate: 0, maxSteps: 5 });
      const random = new Random(6);
      const parent = { network: inner.sample(random, target), rate };
      const children = Array.from({ length: 1000 }, () => space.mutate(parent, random, target));
      const jumps = children.map((child) => child.network.steps - parent.network.steps);
      expect(inner.calls).toBe(jumps.reduce((a, b) => a + b, 0));
      expect(Math.min(...jumps)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...jumps)).toBeLessThanOrEqual(5);
      return mean(jumps);
    };
    const low = stepsAt(0.05);
    const high = stepsAt(0.9);
    expect(low).toBeCloseTo(expectedMutationSteps(0.05, 5), 1);
    expect(high).toBeCloseTo(expectedMutationSteps(0.9, 5), 1);
    expect(high).toBeGreaterThan(low + 3);
  });

  it("gives both crossover children the geometric mean of the parents' rates", () => {
    const inner = counterSpace();
    const space = new SelfAdaptiveSpace(inner, {});
    const random = new Random(8);
    const a = { network: inner.sample(random, target), rate: 0.04 };
    const b = { network: inner.sample(random, target), rate: 0.64 };
    const [c1, c2] = space.crossover(a, b, random, target);
    expect(c1.rate).toBeCloseTo(0.16, 12);
    expect(c2.rate).toBeCloseTo(0.16, 12);
    expect(c1.network).toEqual(inner.crossover(a.network, b.network, random, target)[0]);
    expect(c2.network.tag).toBe(`${b.network.tag}x${a.network.tag}`);
    // Equal parents keep their rate.
    const [d] = space.crossover(a, { ...b, rate: 0.04 }, random, target);
    expect(d.rate).toBeCloseTo(0.04, 12);
  });

  it('round-trips rates through JSON, reads bare inner genomes, and refuses bad rates', () => {
    const inner = new GenomeSpace({});
    const space = new SelfAdaptiveSpace(inner, { initialRate: 0.25 });
    const random = new Random(9);
    const genome = space.mutate(space.sample(random, target), random, target);
    expect(genome.rate).not.toBe(0.25);
    const json: unknown = JSON.parse(JSON.stringify(space.toJSON(genome)));
    expect(json).toEqual({ network: inner.toJSON(genome.network), rate: genome.rate });
    const restored = space.fromJSON(json);
    expect(restored.rate).toBe(genome.rate);
    expect(restored.network).toEqual(genome.network);

    const bare = space.fromJSON(inner.toJSON(genome.network));
    expect(bare.rate).toBe(0.25);
    expect(bare.network).toEqual(genome.network);

    const network = inner.toJSON(genome.network);
    expect(() => space.fromJSON({ network, rate: 'fast' })).toThrow(/rate must be a number/);
    expect(() => space.fromJSON({ network, rate: 1.5 })).toThrow(
      /rate must lie in \[minRate, maxRate\] = \[0\.01, 1\], got 1\.5/,
    );
    expect(() => space.fromJSON({ network, rate: 0.5, extra: 1 })).toThrow(/extra/);
    expect(() => space.fromJSON({ network: { convs: 3 }, rate: 0.5 })).toThrow();
    expect(() => space.fromJSON(42)).toThrow();
  });

  it('validates its options with messages naming the option', () => {
    const inner = counterSpace();
    expect(() => new SelfAdaptiveSpace(inner, { initialRate: 2 })).toThrow(/initialRate/);
    expect(() => new SelfAdaptiveSpace(inner, { minRate: 0 })).toThrow(/minRate/);
    expect(() => new SelfAdaptiveSpace(inner, { minRate: 0.5, maxRate: 0.4 })).toThrow(
      /minRate \(0\.5\) must not exceed maxRate \(0\.4\)/,
    );
    expect(() => new SelfAdaptiveSpace(inner, { initialRate: 0.005 })).toThrow(
      /initialRate must lie in \[minRate, maxRate\]/,
    );
    expect(() => new SelfAdaptiveSpace(inner, { maxSteps: 2.5 })).toThrow(/maxSteps/);
    expect(() => new SelfAdaptiveSpace(inner, { learningRate: -1 })).toThrow(/learningRate/);
    expect(
      () => new SelfAdaptiveSpace(inner, { initalRate: 0.2 } as unknown as { initialRate: number }),
    ).toThrow(/initalRate/);
    expect(new SelfAdaptiveSpace(inner).options).toEqual(DEFAULT_SELF_ADAPTIVE);
    expect(DEFAULT_SELF_ADAPTIVE.learningRate).toBeCloseTo(Math.SQRT1_2, 12);
  });
});

describe('selection on jump sizes moves the population rate', () => {
  /**
   * (mu + lambda)-style loop on the counting space: each of 20 parents makes 3 children, and the
   * 20 children with the largest (or smallest) jumps survive; ties break at random.
   */
  function evolve(reward: 'large' | 'small', seed: number): number[] {
    const inner = counterSpace();
    const space = new SelfAdaptiveSpace(inner, {});
    const random = new Random(seed);
    let population = Array.from({ length: 20 }, () => space.sample(random, target));
    const meanRates = [mean(population.map((g) => g.rate))];
    for (let generation = 0; generation < 15; generation++) {
      const children = population.flatMap((parent) =>
        Array.from({ length: 3 }, () => {
          const child = space.mutate(parent, random, target);
          const jump = child.network.steps - parent.network.steps;
          return { child, score: (reward === 'large' ? jump : -jump) + random.next() * 0.5 };
        }),
      );
      children.sort((x, y) => y.score - x.score);
      population = children.slice(0, 20).map((c) => c.child);
      meanRates.push(mean(population.map((g) => g.rate)));
    }
    return meanRates;
  }

  it('raises the mean rate when large jumps survive and lowers it when small ones do', () => {
    for (const seed of [1, 2, 3]) {
      const rising = evolve('large', seed);
      const falling = evolve('small', seed);
      expect(rising[0]).toBeCloseTo(0.3, 12);
      expect(falling[0]).toBeCloseTo(0.3, 12);
      expect(rising.at(-1)).toBeGreaterThan(0.7);
      expect(falling.at(-1)).toBeLessThan(0.08);
      // A trend, not one lucky generation: the second half sits beyond the first.
      expect(mean(rising.slice(8))).toBeGreaterThan(mean(rising.slice(0, 8)));
      expect(mean(falling.slice(8))).toBeLessThan(mean(falling.slice(0, 8)));
    }
  });

  it('does the same on the real genome space, where a jump is the change in the network', () => {
    const space = new SelfAdaptiveSpace(new GenomeSpace({}), {});
    // Distance: positions whose gene text differs, plus the length difference.
    const distance = (a: SelfAdaptiveGenome<unknown>, b: SelfAdaptiveGenome<unknown>) => {
      const ga = space.format(a as never).split(';');
      const gb = space.format(b as never).split(';');
      let d = Math.abs(ga.length - gb.length);
      for (let i = 0; i < Math.min(ga.length, gb.length); i++) if (ga[i] !== gb[i]) d++;
      return d;
    };
    const evolveGenomes = (sign: 1 | -1) => {
      const random = new Random(11);
      let population = Array.from({ length: 12 }, () => space.sample(random, target));
      for (let generation = 0; generation < 10; generation++) {
        const children = population.flatMap((parent) =>
          Array.from({ length: 3 }, () => {
            const child = space.mutate(parent, random, target);
            return { child, score: sign * distance(parent, child) + random.next() * 0.5 };
          }),
        );
        children.sort((x, y) => y.score - x.score);
        population = children.slice(0, 12).map((c) => c.child);
      }
      return mean(population.map((g) => g.rate));
    };
    expect(evolveGenomes(1)).toBeGreaterThan(0.5);
    expect(evolveGenomes(-1)).toBeLessThan(0.15);
  });
});

describe('createSpace with selfAdaptive', () => {
  it('wraps the named space, whose samples and mutants compile', () => {
    const space = createSpace({
      name: 'cells',
      options: { channels: 8, cellsPerStage: 1 },
      selfAdaptive: { initialRate: 0.2 },
    });
    expect(space).toBeInstanceOf(SelfAdaptiveSpace);
    expect((space as SelfAdaptiveSpace<unknown>).inner).toBeInstanceOf(CellSpace);
    expect(space.name).toBe('cells');
    const random = new Random(12);
    const cellTarget: CompileTarget = { input: { channels: 3, height: 8, width: 8 }, classes: 10 };
    for (let i = 0; i < 10; i++) {
      const genome = space.sample(random, cellTarget);
      expect(mutationRateOf(genome)).toBe(0.2);
      const child = space.mutate(genome, random, cellTarget);
      for (const g of [genome, child])
        expect(analyzeArchitecture(space.compile(g, cellTarget)).params).toBeGreaterThan(0);
    }
  });

  it('leaves the space unwrapped for false or absent and uses the defaults for true', () => {
    expect(createSpace({ name: 'genome' })).toBeInstanceOf(GenomeSpace);
    expect(createSpace({ name: 'genome', selfAdaptive: false })).toBeInstanceOf(GenomeSpace);
    const wrapped = createSpace({ name: 'genome', selfAdaptive: true });
    expect((wrapped as SelfAdaptiveSpace<unknown>).options).toEqual(DEFAULT_SELF_ADAPTIVE);
  });

  it('names a bad option', () => {
    const make = () => createSpace({ name: 'cells', selfAdaptive: { initialRate: 2 } });
    expect(make).toThrow(SpaceError);
    expect(make).toThrow(/cells space, selfAdaptive: .*initialRate/);
  });

  it('is a space setting of the search configuration', () => {
    const config = searchConfigSchema.parse({
      budget: { generations: 1 },
      space: { name: 'cells', selfAdaptive: { maxSteps: 3 } },
    });
    expect(config.space.selfAdaptive).toEqual({ maxSteps: 3 });
    const wrapped = createSpace(config.space) as SelfAdaptiveSpace<unknown>;
    expect(wrapped.options.maxSteps).toBe(3);
    const bad = searchConfigSchema.safeParse({
      budget: { generations: 1 },
      space: { name: 'cells', selfAdaptive: { initialRate: 2 } },
    });
    expect(bad.success).toBe(false);
    // Each problem at the option's own path (two checks refuse 2: the bound and the range).
    expect(bad.error?.issues.map((issue) => issue.path)).toEqual([
      ['space', 'selfAdaptive', 'initialRate'],
      ['space', 'selfAdaptive', 'initialRate'],
    ]);
    expect(bad.error?.issues[0]?.message).toMatch(/initialRate must be at most 1/);
    const wrongType = searchConfigSchema.safeParse({
      budget: { generations: 1 },
      space: { selfAdaptive: 'yes' },
    });
    expect(wrongType.error?.issues[0]?.path).toEqual(['space', 'selfAdaptive']);
  });
});

describe('strategies over a self-adaptive space', () => {
  it('accept the wrapper and restore every genome rate from a snapshot', () => {
    const space = new SelfAdaptiveSpace(toySpace, {});
    const options = {
      space,
      target,
      objectives: [{ metric: 'accuracy', direction: 'maximize' as const }],
      seed: 3,
      populationSize: 8,
      sampleSize: 3,
    };
    const evaluate = (p: Proposal<SelfAdaptiveGenome<Toy>>, id: string) => ({
      id,
      genome: p.genome,
      parents: p.parents,
      status: 'ok' as const,
      metrics: { accuracy: p.genome.network.reduce((a, b) => a + b, 0) / 72 },
    });
    const strategy = createStrategy('re', options);
    const told: Evaluated<SelfAdaptiveGenome<Toy>>[] = [];
    for (let round = 0; round < 8; round++) {
      const asked = strategy.ask(4);
      const results = asked.map((p, i) => evaluate(p, `c${String(round)}-${String(i)}`));
      strategy.tell(results);
      told.push(...results);
    }
    const rates = new Set(told.map((e) => e.genome.rate));
    expect(rates.size).toBeGreaterThan(5);
    const pending = strategy.ask(3);
    const snapshot: unknown = JSON.parse(JSON.stringify(strategy.snapshot()));
    const restored = restoreStrategy('re', snapshot, options);
    const next = (s: typeof strategy) => {
      s.tell(pending.map((p, i) => evaluate(p, `p${String(i)}`)));
      return s.ask(6).map((p) => `${space.format(p.genome)} ${String(p.genome.rate)}`);
    };
    expect(next(restored)).toEqual(next(strategy));
  });
});
