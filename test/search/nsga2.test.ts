import { describe, expect, it } from 'vitest';
import { NSGA2 } from '../../src/search/nsga2.js';
import { dominates } from '../../src/search/pareto.js';
import type { Constraint, Evaluated, Objective } from '../../src/search/strategy.js';
import { drive, evaluate, mean, target, toySpace, type Toy } from './toy.js';

const objectives: Objective[] = [
  { metric: 'accuracy', direction: 'maximize' },
  { metric: 'params', direction: 'minimize' },
];

/** Distance below the known front accuracy = params / 8 (0 on the front). */
const gap = (e: Evaluated<Toy>): number =>
  (e.metrics['params'] ?? 0) / 8 - (e.metrics['accuracy'] ?? 0);

function nsga2(constraints: Constraint[] = [], seed = 5) {
  return new NSGA2<Toy>({
    space: toySpace,
    target,
    objectives,
    constraints,
    seed,
    populationSize: 24,
  });
}

describe('NSGA2', () => {
  it('converges toward the known accuracy/params front', () => {
    const strategy = nsga2();
    drive(strategy, 24, 24);
    const firstFront = strategy.front();
    drive(strategy, 24 * 40, 24, 24);
    const front = strategy.front();
    expect(mean(front.map(gap))).toBeLessThan(mean(firstFront.map(gap)));
    expect(mean(front.map(gap))).toBeLessThan(0.02);
    // spread along the front, not one point
    expect(new Set(front.map((e) => e.metrics['params'])).size).toBeGreaterThanOrEqual(6);
    // a front: nobody in it dominates anybody else in it
    for (const a of front) for (const b of front) expect(dominates(a, b, objectives)).toBe(false);
    expect(strategy.population()).toHaveLength(24);
  });

  it('keeps one member per network when enough distinct ones were evaluated', () => {
    // One objective: without deduplication, copies of the best network (children equal to a
    // parent, told like new results) fill the population.
    const strategy = new NSGA2<Toy>({
      space: toySpace,
      target,
      objectives: [{ metric: 'accuracy', direction: 'maximize' }],
      constraints: [],
      seed: 3,
      populationSize: 12,
    });
    const all = drive(strategy, 12 * 30, 12);
    expect(new Set(all.map((e) => toySpace.format(e.genome))).size).toBeGreaterThan(12);
    const population = strategy.population();
    expect(population).toHaveLength(12);
    expect(new Set(population.map((e) => toySpace.format(e.genome))).size).toBe(12);
  });

  it('respects a constraint: no infeasible candidate in the final front', () => {
    const constraints: Constraint[] = [{ metric: 'accuracy', op: '>=', value: 0.75 }];
    const strategy = nsga2(constraints, 9);
    const all = drive(strategy, 24 * 30, 24);
    const feasible = all.filter((e) => (e.metrics['accuracy'] ?? 0) >= 0.75);
    expect(feasible.length).toBeGreaterThan(0);
    const front = strategy.front();
    expect(front.length).toBeGreaterThan(0);
    for (const e of front) expect(e.metrics['accuracy']).toBeGreaterThanOrEqual(0.75);
    // and it pushes parameters down to the feasible minimum (6 nonzero genes)
    expect(Math.min(...front.map((e) => e.metrics['params'] ?? Infinity))).toBe(6);
  });

  it('uses binary tournaments, crossover and mutation, recording parents', () => {
    const strategy = nsga2();
    const gen0 = drive(strategy, 24, 24);
    const ids = new Set(gen0.map((e) => e.id));
    const offspring = strategy.ask(100);
    expect(offspring).toHaveLength(24);
    for (const child of offspring) {
      for (const id of child.parents) expect(ids.has(id)).toBe(true);
      expect(child.parents).toHaveLength(child.operator.startsWith('crossover') ? 2 : 1);
    }
    expect(offspring.some((c) => c.operator.startsWith('crossover'))).toBe(true);
    // the front includes offspring told so far
    const told = offspring.map((p, i) => evaluate(p, `o${String(i)}`));
    strategy.tell(told.slice(0, 5));
    const front = strategy.front();
    expect(front.length).toBeGreaterThan(0);
  });
});
