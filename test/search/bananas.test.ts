import { describe, expect, it } from 'vitest';
import { Bananas, type SurrogateFactory } from '../../src/search/bananas.js';
import { StrategyOptionsError } from '../../src/search/common.js';
import { RandomSearch } from '../../src/search/random.js';
import type { Objective } from '../../src/search/strategy.js';
import { type Toy, drive, evaluate, mean, target, toySpace } from './toy.js';

const single: Objective[] = [{ metric: 'accuracy', direction: 'maximize' }];
const bestOf = (results: { metrics: Record<string, number> }[]): number =>
  Math.max(...results.map((r) => r.metrics.accuracy as number));

describe('Bananas', () => {
  it('finds better toy genomes than random search for the same number of evaluations', () => {
    const seeds = [1, 2, 3, 4, 5];
    const bananas = seeds.map((seed) =>
      bestOf(drive(new Bananas<Toy>({ space: toySpace, target, objectives: single, seed }), 60, 1)),
    );
    const random = seeds.map((seed) =>
      bestOf(
        drive(new RandomSearch<Toy>({ space: toySpace, target, objectives: single, seed }), 60, 1),
      ),
    );
    expect(mean(bananas)).toBeGreaterThan(mean(random) + 0.05);
  });

  it('never proposes an architecture twice and mutates the best after its samples', () => {
    const search = new Bananas<Toy>({
      space: toySpace,
      target,
      objectives: single,
      seed: 7,
      populationSize: 6,
      batchSize: 4,
    });
    const results = drive(search, 80, 3);
    const texts = results.map((r) => toySpace.format(r.genome));
    expect(new Set(texts).size).toBe(texts.length);
    expect(results.slice(0, 6).every((r) => r.parents.length === 0)).toBe(true);
    expect(results.slice(6).every((r) => r.parents.length === 1)).toBe(true);
  });

  it('uses an injected encoding and surrogate, one fit per batch of the ensemble', () => {
    let fits = 0;
    const encoded: number[] = [];
    const surrogate: SurrogateFactory = (rows) => {
      fits += 1;
      encoded.push(rows[0]?.length ?? 0);
      // Predicts a lower cost for a larger gene sum.
      return { predict: (query) => query.map((row) => -(row[0] as number)) };
    };
    const search = new Bananas<Toy>({
      space: toySpace,
      target,
      objectives: single,
      seed: 1,
      populationSize: 4,
      batchSize: 2,
      ensembleSize: 3,
      acquisition: 'ucb',
      encode: (genome) => [genome.reduce((a, b) => a + b, 0)],
      surrogate,
    });
    const results = drive(search, 4 + 2 * 5, 1);
    expect(fits).toBe(5 * 3);
    expect(new Set(encoded)).toEqual(new Set([1]));
    // With a perfect surrogate and no spread, each batch takes the best candidates.
    const sums = results.map((r) => r.genome.reduce((a, b) => a + b, 0));
    expect(Math.max(...sums.slice(4))).toBeGreaterThan(Math.max(...sums.slice(0, 4)));
  });

  it('waits while its batch is out and refuses constraints and bad options', () => {
    const search = new Bananas<Toy>({
      space: toySpace,
      target,
      objectives: single,
      seed: 1,
      populationSize: 3,
    });
    const first = search.ask(10);
    expect(first).toHaveLength(3);
    expect(search.ask(1)).toEqual([]);
    search.tell(first.map((p, i) => evaluate(p, `s${i}`)));
    expect(search.ask(10)).toHaveLength(5);
    expect(
      () =>
        new Bananas<Toy>({
          space: toySpace,
          target,
          objectives: single,
          seed: 1,
          constraints: [{ metric: 'params', op: '<=', value: 3 }],
        }),
    ).toThrow(/constraints are not modelled by bananas/);
    expect(
      () =>
        new Bananas<Toy>({
          space: toySpace,
          target,
          objectives: single,
          seed: 1,
          acquisition: 'ei' as 'its',
        }),
    ).toThrow(StrategyOptionsError);
  });
});
