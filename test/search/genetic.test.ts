import { describe, expect, it } from 'vitest';
import { UnmatchedResultError } from '../../src/search/common.js';
import { GeneticAlgorithm } from '../../src/search/genetic.js';
import {
  type Evaluated,
  type Objective,
  type Proposal,
  SCREENED_OUT_METRIC,
} from '../../src/search/strategy.js';
import { accuracyOf, drive, evaluate, mean, target, toySpace, type Toy } from './toy.js';

const objectives: Objective[] = [{ metric: 'accuracy', direction: 'maximize' }];

function ga(options: Partial<ConstructorParameters<typeof GeneticAlgorithm<Toy>>[0]> = {}) {
  return new GeneticAlgorithm<Toy>({
    space: toySpace,
    target,
    objectives,
    seed: 7,
    populationSize: 20,
    ...options,
  });
}

/** Runs whole generations, returning each generation's told candidates. */
function generations(strategy: GeneticAlgorithm<Toy>, count: number): Evaluated<Toy>[][] {
  const out: Evaluated<Toy>[][] = [];
  let next = 0;
  for (let g = 0; g < count; g++) {
    const proposals = strategy.ask(1000);
    const told = proposals.map((p) => evaluate(p, `c${String(next++)}`));
    strategy.tell(told);
    out.push(told);
  }
  return out;
}

describe('GeneticAlgorithm', () => {
  it('improves the objective over a few generations', () => {
    const gens = generations(ga(), 12);
    const first = gens[0] as Evaluated<Toy>[];
    const last = gens.at(-1) as Evaluated<Toy>[];
    expect(mean(last.map(accuracyOf))).toBeGreaterThan(mean(first.map(accuracyOf)) + 0.2);
    expect(Math.max(...last.map(accuracyOf))).toBeGreaterThan(Math.max(...first.map(accuracyOf)));
  });

  it('samples generation 0, then hands out a generation at a time', () => {
    const strategy = ga({ elitism: 2 });
    const first = strategy.ask(25);
    expect(first).toHaveLength(20);
    expect(first.every((p) => p.operator === 'sample' && p.parents.length === 0)).toBe(true);
    expect(strategy.ask(5)).toEqual([]);
    const told = first.map((p, i) => evaluate(p, `c${String(i)}`));
    strategy.tell(told.slice(0, 19));
    expect(strategy.ask(5)).toEqual([]);
    expect(strategy.generation).toBe(0);
    strategy.tell(told.slice(19));
    expect(strategy.generation).toBe(1);
    // elites are carried over unevaluated: populationSize - elitism new proposals
    const second = strategy.ask(100);
    expect(second).toHaveLength(18);
    expect(strategy.elites()).toHaveLength(2);
  });

  it('keeps the best candidate with elitism', () => {
    const strategy = ga({ elitism: 1, mutationProbability: 1 });
    let best = -Infinity;
    let next = 0;
    for (let g = 0; g < 10; g++) {
      const told = strategy.ask(100).map((p) => evaluate(p, `c${String(next++)}`));
      best = Math.max(best, ...told.map(accuracyOf));
      strategy.tell(told);
      const elites = strategy.elites();
      expect(elites).toHaveLength(1);
      expect(accuracyOf(elites[0] as Evaluated<Toy>)).toBe(best);
      // the elite is part of the next generation's pool
      expect(strategy.population()[0]).toBe(elites[0]);
    }
  });

  it('prefers better candidates in tournament selection', () => {
    const selectionAdvantage = (tournamentSize: number): number => {
      const strategy = ga({ populationSize: 100, tournamentSize, seed: 11 });
      const told = strategy.ask(100).map((p, i) => evaluate(p, `c${String(i)}`));
      strategy.tell(told);
      const byId = new Map(told.map((e) => [e.id, accuracyOf(e)]));
      const picked = strategy.ask(1000).flatMap((p) => p.parents.map((id) => byId.get(id) ?? NaN));
      return mean(picked) - mean(told.map(accuracyOf));
    };
    const strong = selectionAdvantage(5);
    const none = selectionAdvantage(1);
    expect(strong).toBeGreaterThan(0.05);
    expect(Math.abs(none)).toBeLessThan(0.03);
    expect(strong).toBeGreaterThan(none + 0.05);
  });

  it('records both parents of a crossover child and proposes no clones', () => {
    const strategy = ga({ crossoverProbability: 0.5, mutationProbability: 0.5 });
    const gen0 = strategy.ask(100).map((p, i) => evaluate(p, `c${String(i)}`));
    strategy.tell(gen0);
    const byId = new Map(gen0.map((e) => [e.id, toySpace.format(e.genome)]));
    const children = strategy.ask(100);
    const operators = new Set(children.map((c) => c.operator));
    expect(operators).toEqual(new Set(['crossover', 'crossover+mutate', 'mutate']));
    for (const child of children) {
      const text = toySpace.format(child.genome);
      for (const id of child.parents) expect(byId.has(id)).toBe(true);
      if (child.operator.startsWith('crossover')) {
        expect(child.parents).toHaveLength(2);
        expect(child.parents[0]).not.toBe(child.parents[1]);
      } else {
        expect(child.parents).toHaveLength(1);
      }
      if (child.operator !== 'crossover+mutate') {
        for (const id of child.parents) expect(text).not.toBe(byId.get(id));
      }
    }
  });

  it('does not depend on the order results are told in', () => {
    const a = ga();
    const b = ga();
    const ask = (s: GeneticAlgorithm<Toy>) =>
      s.ask(100).map((p: Proposal<Toy>, i: number) => evaluate(p, `c${String(i)}`));
    const ta = ask(a);
    const tb = ask(b);
    a.tell(ta);
    for (const e of [...tb].reverse()) b.tell([e]);
    expect(a.ask(100).map((p) => toySpace.format(p.genome))).toEqual(
      b.ask(100).map((p) => toySpace.format(p.genome)),
    );
  });

  it('refuses results that answer no outstanding proposal, changing nothing', () => {
    const strategy = ga();
    const [p] = strategy.ask(1);
    const told = evaluate(p as Proposal<Toy>, 'c0');
    const stranger = evaluate(
      { genome: [1, 2, 3, 4, 5, 6, 7, 8], parents: [], operator: 'sample' },
      'x',
    );
    expect(() => strategy.tell([told, stranger])).toThrow(UnmatchedResultError);
    expect(() => strategy.tell([told, stranger])).toThrow(/answers no outstanding proposal/);
    strategy.tell([told]);
    expect(() => strategy.tell([told])).toThrow(UnmatchedResultError);
    expect(strategy.told).toBe(1);
  });

  it('ranks failed candidates last', () => {
    const strategy = ga({ elitism: 3 });
    const told = strategy.ask(100).map((p, i): Evaluated<Toy> => {
      const e = evaluate(p, `c${String(i)}`);
      return i < 10 ? { ...e, status: 'failed', metrics: { accuracy: 1 } } : e;
    });
    strategy.tell(told);
    for (const elite of strategy.elites()) expect(elite.status).toBe('ok');
  });

  it('breeds only from trained candidates when a screen kept most of a generation from training', () => {
    const strategy = ga({ populationSize: 24, elitism: 1, tournamentSize: 3 });
    // The screen trained 8 of 24; the other 16 are told as killed with no accuracy.
    const told = strategy.ask(100).map((p, i): Evaluated<Toy> => {
      const e = evaluate(p, `c${String(i)}`);
      return i < 8 ? e : { ...e, status: 'killed', metrics: { [SCREENED_OUT_METRIC]: 1 } };
    });
    strategy.tell(told);
    const trained = new Set(told.slice(0, 8).map((e) => e.id));
    const children = strategy.ask(100);
    expect(children).toHaveLength(23);
    const parents = children.flatMap((c) => c.parents);
    expect(parents.length).toBeGreaterThan(23);
    for (const id of parents) expect(trained.has(id)).toBe(true);
    // Without the screen's mark, killed candidates still take part (and win some tournaments).
    const unmarked = ga({ populationSize: 24, elitism: 1, tournamentSize: 3 });
    unmarked.tell(
      unmarked.ask(100).map((p, i): Evaluated<Toy> => {
        const e = evaluate(p, `c${String(i)}`);
        return i < 8 ? e : { ...e, status: 'killed', metrics: {} };
      }),
    );
    const unmarkedParents = unmarked.ask(100).flatMap((c) => c.parents);
    expect(unmarkedParents.some((id) => !trained.has(id))).toBe(true);
  });

  it('drives with the shared helper', () => {
    const strategy = ga();
    expect(drive(strategy, 45, 7)).toHaveLength(45);
    expect(strategy.generation).toBe(2);
  });
});

describe('genetic algorithm defaults', () => {
  it('shrinks the default tournament to a small population, and still refuses an explicit oversize one', () => {
    const base = {
      space: toySpace,
      target,
      objectives: [{ metric: 'accuracy', direction: 'maximize' as const }],
      seed: 1,
    };
    expect(() => new GeneticAlgorithm({ ...base, populationSize: 2 })).not.toThrow();
    expect(new GeneticAlgorithm({ ...base, populationSize: 2 }).ask(2)).toHaveLength(2);
    expect(() => new GeneticAlgorithm({ ...base, populationSize: 2, tournamentSize: 3 })).toThrow(
      /tournamentSize must be at most populationSize/,
    );
  });
});
