import { describe, expect, it } from 'vitest';
import { StrategyOptionsError, StrategySnapshotError } from '../../src/search/common.js';
import { GeneticAlgorithm } from '../../src/search/genetic.js';
import {
  createStrategy,
  restoreStrategy,
  STRATEGY_NAMES,
  type AnyStrategyOptions,
  type StrategyName,
} from '../../src/search/registry.js';
import type { Objective, Proposal, Strategy } from '../../src/search/strategy.js';
import { describeProposals, drive, evaluate, target, toySpace, type Toy } from './toy.js';

const single: Objective[] = [{ metric: 'accuracy', direction: 'maximize' }];
const double: Objective[] = [...single, { metric: 'params', direction: 'minimize' }];

const CASES: Record<StrategyName, AnyStrategyOptions<Toy>> = {
  random: { space: toySpace, target, objectives: single, seed: 1 },
  ga: { space: toySpace, target, objectives: single, seed: 1, populationSize: 10 },
  re: { space: toySpace, target, objectives: single, seed: 1, populationSize: 8, sampleSize: 3 },
  'mu+lambda': { space: toySpace, target, objectives: double, seed: 1, mu: 4, lambda: 6 },
  nsga2: {
    space: toySpace,
    target,
    objectives: double,
    constraints: [{ metric: 'accuracy', op: '>=', value: 0.5 }],
    seed: 1,
    populationSize: 8,
  },
  'local-search': { space: toySpace, target, objectives: single, seed: 1, populationSize: 4 },
  bananas: { space: toySpace, target, objectives: single, seed: 1, populationSize: 6 },
};

/** Tells `pending`, then runs rounds of ask(3)/tell, returning what was asked. */
function continueRun(strategy: Strategy<Toy>, pending: readonly Proposal<Toy>[]): string[] {
  strategy.tell(pending.map((p, i) => evaluate(p, `p${String(i)}`)));
  const asked: string[] = [];
  for (let round = 0; round < 12; round++) {
    const proposals = strategy.ask(3);
    asked.push(...describeProposals(proposals));
    strategy.tell(proposals.map((p, i) => evaluate(p, `r${String(round)}-${String(i)}`)));
  }
  return asked;
}

describe.each(STRATEGY_NAMES)('strategy %s', (name) => {
  const options = CASES[name];

  it('restores mid-generation and continues exactly as an uninterrupted run', () => {
    const strategy = createStrategy(name, options);
    expect(strategy.name).toBe(name);
    drive(strategy, 13, 3);
    const pending = strategy.ask(3);
    expect(pending.length).toBeGreaterThan(0);
    const snapshot: unknown = JSON.parse(JSON.stringify(strategy.snapshot()));
    const restored = restoreStrategy(name, snapshot, options);
    expect(JSON.parse(JSON.stringify(restored.snapshot()))).toEqual(snapshot);
    const uninterrupted = continueRun(strategy, pending);
    const resumed = continueRun(restored, pending);
    expect(resumed).toEqual(uninterrupted);
    expect(new Set(uninterrupted).size).toBeGreaterThan(10);
  });

  it('repeats a run for the same seed and not for another', () => {
    const run = (seed: number) => {
      const strategy = createStrategy(name, { ...options, seed });
      return describeProposals(drive(strategy, 40, 5).map((e) => ({ ...e, operator: '' })));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(2)).not.toEqual(run(1));
  });

  it('refuses a snapshot of another strategy', () => {
    const other = name === 'ga' ? 're' : 'ga';
    const snapshot = createStrategy(other, CASES[other]).snapshot();
    expect(() => restoreStrategy(name, snapshot, options)).toThrow(StrategySnapshotError);
    expect(() => restoreStrategy(name, snapshot, options)).toThrow(
      `cannot restore a "${other}" snapshot as a "${name}" strategy`,
    );
  });

  it('refuses a snapshot taken with other options', () => {
    const snapshot = createStrategy(name, options).snapshot();
    expect(() => restoreStrategy(name, snapshot, { ...options, seed: 99 })).toThrow(
      /other options: seed \(snapshot 1, given 99\)/,
    );
  });
});

describe('snapshots', () => {
  const options = CASES.ga;

  it('are checked by the strategy classes too', () => {
    const reSnapshot = createStrategy('re', CASES.re).snapshot();
    expect(() => GeneticAlgorithm.restore(reSnapshot, options)).toThrow(
      'cannot restore a "re" snapshot as a "ga" strategy',
    );
    expect(() => GeneticAlgorithm.restore(42, options)).toThrow(/not a strategy snapshot/);
    expect(() => GeneticAlgorithm.restore({ strategy: 'ga' }, options)).toThrow(
      /invalid "ga" snapshot: .*version/,
    );
  });

  it('name what is wrong in a damaged snapshot', () => {
    const strategy = createStrategy('ga', options);
    drive(strategy, 12, 4);
    const snapshot = JSON.parse(JSON.stringify(strategy.snapshot())) as {
      batch: { proposals: { genome: unknown }[] };
      random: { words: number[] };
    };
    const badGenome = structuredClone(snapshot);
    (badGenome.batch.proposals[0] as { genome: unknown }).genome = 'nope';
    expect(() => restoreStrategy('ga', badGenome, options)).toThrow(
      /genome of proposal 0 cannot be read by space "toy": not a toy genome/,
    );
    const badRandom = structuredClone(snapshot);
    badRandom.random.words = [1, 2, 3];
    expect(() => restoreStrategy('ga', badRandom, options)).toThrow(/random\.words/);
    expect(() => restoreStrategy('ga', snapshot, { ...options, populationSize: 12 })).toThrow(
      /populationSize \(snapshot 10, given 12\)/,
    );
  });
});

describe('createStrategy options', () => {
  const base = CASES.ga;

  it.each([
    ['ga', { populationSize: 1 }, 'populationSize must be at least 2'],
    ['nsga2', { populationSize: 1 }, 'populationSize must be at least 2'],
    ['re', { populationSize: 1 }, 'populationSize must be at least 2'],
    ['ga', { populationSize: 2.5 }, 'populationSize must be an integer'],
    ['ga', { populationSize: '20' }, 'populationSize must be a number'],
    ['ga', { elitism: 10 }, 'elitism must be less than populationSize'],
    ['ga', { tournamentSize: 11 }, 'tournamentSize must be at most populationSize'],
    ['ga', { crossoverProbability: 1.5 }, 'crossoverProbability must be between 0 and 1'],
    ['re', { sampleSize: 30 }, 'sampleSize must be at most populationSize'],
    ['mu+lambda', { mu: 0 }, 'mu must be at least 1'],
    ['mu+lambda', { mu: 4, populationSize: 5 }, 'mu and populationSize (its alias) disagree'],
    ['ga', { objectives: [] }, 'objectives must name at least one objective'],
    ['ga', { objectives: [{ metric: 'accuracy', direction: 'up' }] }, 'objectives[0].direction'],
    ['ga', { seed: 1.5 }, 'seed must be a safe integer'],
    ['ga', { space: {} }, 'space must be a SearchSpace'],
    ['ga', { populationSzie: 10 }, 'unknown option "populationSzie" (known: space, target'],
    ['random', { sampleSize: 3 }, 'unknown option "sampleSize"'],
  ] as const)('%s with %j: %s', (name, extra, message) => {
    const options = { ...base, ...extra } as unknown as AnyStrategyOptions<Toy>;
    expect(() => createStrategy(name, options)).toThrow(StrategyOptionsError);
    expect(() => createStrategy(name, options)).toThrow(`${name} options: `);
    expect(() => createStrategy(name, options)).toThrow(message);
  });

  it('lists the known strategies for an unknown name', () => {
    expect(() => createStrategy('hill-climb', base)).toThrow(
      'unknown strategy "hill-climb" (known: random, ga, re, mu+lambda, nsga2, local-search, bananas)',
    );
    expect(() => restoreStrategy('sa', {}, base)).toThrow(/unknown strategy "sa"/);
  });

  it('applies defaults and returns the typed class', () => {
    const ga = createStrategy<Toy, 'ga'>('ga', {
      space: toySpace,
      target,
      objectives: single,
      seed: 0,
    });
    expect(ga).toBeInstanceOf(GeneticAlgorithm);
    expect(ga.ask(100)).toHaveLength(20);
  });
});
