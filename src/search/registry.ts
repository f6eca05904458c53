/**
 * Strategies by name, for configuration files and the command line.
 */
import { StrategyOptionsError, StrategySnapshotError, type BaseStrategyOptions } from './common.js';
import { Bananas, type BananasOptions } from './bananas.js';
import { GeneticAlgorithm, type GeneticAlgorithmOptions } from './genetic.js';
import { LocalSearch, type LocalSearchOptions } from './local-search.js';
import { MuPlusLambda, type MuPlusLambdaOptions } from './mu-plus-lambda.js';
import { NSGA2, type Nsga2Options } from './nsga2.js';
import { RandomSearch, type RandomSearchOptions } from './random.js';
import { RegularizedEvolution, type RegularizedEvolutionOptions } from './regularized-evolution.js';
import type { Strategy } from './strategy.js';

export const STRATEGY_NAMES = [
  'random',
  'ga',
  're',
  'mu+lambda',
  'nsga2',
  'local-search',
  'bananas',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Each strategy's options. */
export interface StrategyOptionsByName<G> {
  random: RandomSearchOptions<G>;
  ga: GeneticAlgorithmOptions<G>;
  re: RegularizedEvolutionOptions<G>;
  'mu+lambda': MuPlusLambdaOptions<G>;
  nsga2: Nsga2Options<G>;
  'local-search': LocalSearchOptions<G>;
  bananas: BananasOptions<G>;
}

/** Each strategy's class. */
export interface StrategyByName<G> {
  random: RandomSearch<G>;
  ga: GeneticAlgorithm<G>;
  re: RegularizedEvolution<G>;
  'mu+lambda': MuPlusLambda<G>;
  nsga2: NSGA2<G>;
  'local-search': LocalSearch<G>;
  bananas: Bananas<G>;
}

/** Options of any strategy: the shared ones plus that strategy's (validated when created). */
export type AnyStrategyOptions<G> = BaseStrategyOptions<G> & Readonly<Record<string, unknown>>;

export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}

function checkName(name: string): StrategyName {
  if (!isStrategyName(name)) {
    throw new StrategyOptionsError(
      `unknown strategy ${JSON.stringify(name)} (known: ${STRATEGY_NAMES.join(', ')})`,
    );
  }
  return name;
}

/**
 * A new strategy. Options are validated (a {@link StrategyOptionsError} names the option and
 * the rule, e.g. "populationSize must be at least 2"); an unknown name lists the known ones.
 */
export function createStrategy<G, N extends StrategyName>(
  name: N,
  options: StrategyOptionsByName<G>[N] & BaseStrategyOptions<G>,
): StrategyByName<G>[N];
export function createStrategy<G>(name: string, options: AnyStrategyOptions<G>): Strategy<G>;
export function createStrategy<G>(name: string, options: AnyStrategyOptions<G>): Strategy<G> {
  switch (checkName(name)) {
    case 'random':
      return new RandomSearch<G>(options);
    case 'ga':
      return new GeneticAlgorithm<G>(options);
    case 're':
      return new RegularizedEvolution<G>(options);
    case 'mu+lambda':
      return new MuPlusLambda<G>(options);
    case 'nsga2':
      return new NSGA2<G>(options);
    case 'local-search':
      return new LocalSearch<G>(options);
    case 'bananas':
      return new Bananas<G>(options);
  }
}

/** The strategy name a snapshot records, if it looks like a strategy snapshot. */
export function snapshotStrategyName(snapshot: unknown): string | undefined {
  if (typeof snapshot !== 'object' || snapshot === null) return undefined;
  const name = (snapshot as { strategy?: unknown }).strategy;
  return typeof name === 'string' ? name : undefined;
}

/**
 * A strategy restored from `snapshot()`, continuing exactly where it was taken. Throws a
 * {@link StrategySnapshotError} when the snapshot is of another strategy, malformed, or was
 * taken with other options.
 */
export function restoreStrategy<G, N extends StrategyName>(
  name: N,
  snapshot: unknown,
  options: StrategyOptionsByName<G>[N] & BaseStrategyOptions<G>,
): StrategyByName<G>[N];
export function restoreStrategy<G>(
  name: string,
  snapshot: unknown,
  options: AnyStrategyOptions<G>,
): Strategy<G>;
export function restoreStrategy<G>(
  name: string,
  snapshot: unknown,
  options: AnyStrategyOptions<G>,
): Strategy<G> {
  const known = checkName(name);
  const recorded = snapshotStrategyName(snapshot);
  if (recorded !== undefined && recorded !== known) {
    throw new StrategySnapshotError(
      `cannot restore a "${recorded}" snapshot as a "${known}" strategy`,
    );
  }
  switch (known) {
    case 'random':
      return RandomSearch.restore<G>(snapshot, options);
    case 'ga':
      return GeneticAlgorithm.restore<G>(snapshot, options);
    case 're':
      return RegularizedEvolution.restore<G>(snapshot, options);
    case 'mu+lambda':
      return MuPlusLambda.restore<G>(snapshot, options);
    case 'nsga2':
      return NSGA2.restore<G>(snapshot, options);
    case 'local-search':
      return LocalSearch.restore<G>(snapshot, options);
    case 'bananas':
      return Bananas.restore<G>(snapshot, options);
  }
}
