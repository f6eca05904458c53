import { describe, expect, it } from 'vitest';
import { MuPlusLambda } from '../../src/search/mu-plus-lambda.js';
import { RandomSearch } from '../../src/search/random.js';
import { RegularizedEvolution } from '../../src/search/regularized-evolution.js';
import type { Evaluated, Objective, Proposal } from '../../src/search/strategy.js';
import { accuracyOf, drive, evaluate, mean, target, toySpace, type Toy } from './toy.js';

const objectives: Objective[] = [{ metric: 'accuracy', direction: 'maximize' }];
const base = { space: toySpace, target, objectives, seed: 3 };

function withAccuracy(proposal: Proposal<Toy>, id: string, accuracy: number): Evaluated<Toy> {
  return { ...evaluate(proposal, id), metrics: { accuracy } };
}

describe('RandomSearch', () => {
  it('samples as many as asked, and is reproducible', () => {
    const a = new RandomSearch<Toy>(base);
    const asked = a.ask(5);
    expect(asked).toHaveLength(5);
    expect(asked.every((p) => p.operator === 'sample' && p.parents.length === 0)).toBe(true);
    expect(a.ask(0)).toEqual([]);
    const b = new RandomSearch<Toy>(base);
    expect(b.ask(5).map((p) => p.genome)).toEqual(asked.map((p) => p.genome));
    expect(() => a.ask(-1)).toThrow(/non-negative integer/);
  });

  it('finds better candidates the longer it runs', () => {
    const told = drive(new RandomSearch<Toy>(base), 200, 10);
    const first = Math.max(...told.slice(0, 10).map(accuracyOf));
    expect(Math.max(...told.map(accuracyOf))).toBeGreaterThan(first);
  });
});

describe('RegularizedEvolution', () => {
  it('samples the first populationSize asks, then mutates tournament winners', () => {
    const re = new RegularizedEvolution<Toy>({ ...base, populationSize: 6, sampleSize: 3 });
    const samples = re.ask(10);
    expect(samples).toHaveLength(6);
    expect(samples.every((p) => p.operator === 'sample')).toBe(true);
    // nothing to mutate yet
    expect(re.ask(3)).toEqual([]);
    re.tell([evaluate(samples[0] as Proposal<Toy>, 's0')]);
    // several outstanding asks at once (parallel workers)
    const children = re.ask(3);
    expect(children).toHaveLength(3);
    for (const child of children) {
      expect(child.operator).toBe('mutate');
      expect(child.parents).toEqual(['s0']);
    }
  });

  it('removes the oldest member, not the worst', () => {
    const re = new RegularizedEvolution<Toy>({ ...base, populationSize: 4, sampleSize: 2 });
    const samples = re.ask(4);
    const accuracies = [0.99, 0.1, 0.2, 0.3];
    re.tell(samples.map((p, i) => withAccuracy(p, `s${String(i)}`, accuracies[i] ?? 0)));
    expect(re.population().map((m) => m.id)).toEqual(['s0', 's1', 's2', 's3']);
    const [child] = re.ask(1);
    re.tell([withAccuracy(child as Proposal<Toy>, 'worst', 0)]);
    // s0 was the best but the oldest: it ages out; the new, worst member stays
    expect(re.population().map((m) => m.id)).toEqual(['s1', 's2', 's3', 'worst']);
    const [next] = re.ask(1);
    re.tell([withAccuracy(next as Proposal<Toy>, 'newest', 0.5)]);
    expect(re.population().map((m) => m.id)).toEqual(['s2', 's3', 'worst', 'newest']);
  });

  it('improves the objective', () => {
    const told = drive(
      new RegularizedEvolution<Toy>({ ...base, populationSize: 20, sampleSize: 5 }),
      300,
      5,
    );
    const first = told.slice(0, 20).map(accuracyOf);
    const last = told.slice(-20).map(accuracyOf);
    expect(mean(last)).toBeGreaterThan(mean(first) + 0.2);
    expect(Math.max(...last)).toBeGreaterThan(Math.max(...first));
  });
});

describe('MuPlusLambda', () => {
  it('keeps exactly mu parents and proposes lambda offspring per generation', () => {
    const strategy = new MuPlusLambda<Toy>({ ...base, mu: 5, lambda: 12 });
    let next = 0;
    const tellAll = (proposals: Proposal<Toy>[]) =>
      strategy.tell(proposals.map((p) => evaluate(p, `c${String(next++)}`)));
    const first = strategy.ask(100);
    expect(first).toHaveLength(5);
    tellAll(first);
    for (let g = 1; g <= 6; g++) {
      expect(strategy.parents()).toHaveLength(5);
      const offspring = strategy.ask(100);
      expect(offspring).toHaveLength(12);
      for (const child of offspring) {
        expect(['mutate', 'crossover+mutate']).toContain(child.operator);
        expect(child.parents).toHaveLength(child.operator === 'mutate' ? 1 : 2);
      }
      tellAll(offspring);
    }
    expect(strategy.parents()).toHaveLength(5);
    expect(strategy.generation).toBe(7);
  });

  it('starts from a larger random stage whose best mu become the first parents (initialSize)', () => {
    const options = { ...base, mu: 3, lambda: 4, initialSize: 10 };
    const strategy = new MuPlusLambda<Toy>(options);
    const first = strategy.ask(100);
    expect(first).toHaveLength(10);
    expect(first.every((p) => p.operator === 'sample')).toBe(true);
    const told = first.map((p, i) => evaluate(p, `s${String(i)}`));
    // A resume in the middle of the random stage keeps its size.
    strategy.tell(told.slice(0, 5));
    const restored = MuPlusLambda.restore(strategy.snapshot(), options);
    restored.tell(told.slice(5));
    const best = told
      .map(accuracyOf)
      .sort((a, b) => b - a)
      .slice(0, 3);
    expect(restored.parents().map(accuracyOf)).toEqual(best);
    expect(restored.ask(100)).toHaveLength(4);
    expect(() => new MuPlusLambda<Toy>({ ...base, mu: 3, initialSize: 2 })).toThrow(
      /initialSize must be at least mu/,
    );
  });

  it('keeps the best of parents and offspring', () => {
    const strategy = new MuPlusLambda<Toy>({ ...base, mu: 4, lambda: 8 });
    const all = drive(strategy, 4 + 8 * 10, 8);
    const parents = strategy.parents().map(accuracyOf);
    const best4 = all
      .map(accuracyOf)
      .sort((a, b) => b - a)
      .slice(0, 4);
    expect(parents).toEqual(best4);
    expect(mean(parents)).toBeGreaterThan(mean(all.slice(0, 4).map(accuracyOf)) + 0.2);
  });

  it('selects by non-dominated rank and crowding with several objectives', () => {
    const strategy = new MuPlusLambda<Toy>({
      ...base,
      objectives: [
        { metric: 'accuracy', direction: 'maximize' },
        { metric: 'params', direction: 'minimize' },
      ],
      populationSize: 10,
    });
    drive(strategy, 10 + 10 * 15, 10);
    const parents = strategy.parents();
    expect(parents).toHaveLength(10);
    // a spread of trade-offs, not ten copies of the most accurate genome
    expect(new Set(parents.map((p) => p.metrics['params'])).size).toBeGreaterThanOrEqual(4);
  });
});
