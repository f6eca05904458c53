import { describe, expect, it } from 'vitest';
import { LocalSearch } from '../../src/search/local-search.js';
import type { Objective } from '../../src/search/strategy.js';
import { type Toy, drive, evaluate, target, toySpace } from './toy.js';

const single: Objective[] = [{ metric: 'accuracy', direction: 'maximize' }];

describe('LocalSearch', () => {
  it('climbs to the toy optimum (every gene 9) by evaluating neighbourhoods', () => {
    const search = new LocalSearch<Toy>({ space: toySpace, target, objectives: single, seed: 3 });
    const results = drive(search, 900, 1);
    const best = Math.max(...results.map((r) => r.metrics.accuracy as number));
    expect(best).toBe(1);
  });

  it('proposes a neighbourhood of distinct one-mutation neighbours, none evaluated before', () => {
    const search = new LocalSearch<Toy>({
      space: toySpace,
      target,
      objectives: single,
      seed: 1,
      populationSize: 5,
    });
    const samples = drive(search, 5, 5);
    const best = samples.reduce((a, b) =>
      (a.metrics.accuracy as number) >= (b.metrics.accuracy as number) ? a : b,
    );
    const neighbours = drive(search, 40, 1);
    const texts = neighbours.map((n) => toySpace.format(n.genome));
    expect(new Set(texts).size).toBe(texts.length);
    // The first neighbourhood: 8 genes x 9 other values, each one change away from the best sample.
    for (const neighbour of neighbours) {
      expect(neighbour.parents).toEqual([best.id]);
      const changed = neighbour.genome.filter((g, i) => g !== best.genome[i]).length;
      expect(changed).toBe(1);
      expect(samples.map((s) => toySpace.format(s.genome))).not.toContain(
        toySpace.format(neighbour.genome),
      );
    }
  });

  it('restarts from a fresh sample at a local optimum', () => {
    // Accuracy peaks at the all-zero genome for this objective: minimise the sum.
    const minimise: Objective[] = [{ metric: 'accuracy', direction: 'minimize' }];
    const search = new LocalSearch<Toy>({
      space: toySpace,
      target,
      objectives: minimise,
      seed: 2,
      populationSize: 1,
    });
    const results = drive(search, 1500, 1);
    expect(Math.min(...results.map((r) => r.metrics.accuracy as number))).toBe(0);
    // Once at the optimum its whole neighbourhood is worse: the search moves on to a new sample.
    expect(search.restarts).toBeGreaterThan(0);
    const restartSamples = results.slice(1).filter((r) => r.parents.length === 0);
    expect(restartSamples.length).toBe(search.restarts);
  });

  it('with first improvement, moves as soon as a told neighbour is better', () => {
    const search = new LocalSearch<Toy>({
      space: toySpace,
      target,
      objectives: single,
      seed: 4,
      populationSize: 1,
      firstImprovement: true,
    });
    const [start] = drive(search, 1, 1);
    let parent = (start as { id: string }).id;
    let moves = 0;
    let current = start?.metrics.accuracy as number;
    for (let i = 0; i < 30; i++) {
      const [proposal] = search.ask(1);
      if (proposal === undefined) throw new Error('nothing proposed');
      const result = evaluate(proposal, `n${i}`);
      search.tell([result]);
      if (proposal.parents[0] !== parent && proposal.parents.length > 0) {
        moves += 1;
        parent = proposal.parents[0] as string;
      }
      current = Math.max(current, result.metrics.accuracy as number);
    }
    expect(moves).toBeGreaterThan(1);
    expect(current).toBeGreaterThan(start?.metrics.accuracy as number);
  });

  it('hands out several neighbours at once and waits when the next step needs results', () => {
    const search = new LocalSearch<Toy>({
      space: toySpace,
      target,
      objectives: single,
      seed: 5,
      populationSize: 3,
    });
    const samples = search.ask(10);
    expect(samples).toHaveLength(3);
    expect(search.ask(1)).toEqual([]);
    search.tell(samples.map((p, i) => evaluate(p, `s${i}`)));
    const neighbours = search.ask(100);
    expect(neighbours.length).toBeGreaterThan(40);
    expect(search.ask(1)).toEqual([]);
  });
});
