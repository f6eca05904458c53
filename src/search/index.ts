export type {
  Constraint,
  Direction,
  Evaluated,
  EvaluationStatus,
  Objective,
  Proposal,
  Strategy,
} from './strategy.js';
export {
  StrategyOptionsError,
  StrategySnapshotError,
  UnmatchedResultError,
  type BaseStrategyOptions,
} from './common.js';
export {
  constraintViolation,
  crowdingDistance,
  dominates,
  environmentalSelection,
  metricValue,
  nonDominatedSort,
  objectiveCost,
  paretoFront,
  rankAndCrowding,
  statusTier,
  type Scored,
} from './pareto.js';
export {
  bestByRanking,
  compareKeys,
  compareRanking,
  rankingKey,
  sortByRanking,
  type RankingKey,
} from './ranking.js';
export { RandomSearch, type RandomSearchOptions } from './random.js';
export { GeneticAlgorithm, type GeneticAlgorithmOptions } from './genetic.js';
export { RegularizedEvolution, type RegularizedEvolutionOptions } from './regularized-evolution.js';
export { MuPlusLambda, type MuPlusLambdaOptions } from './mu-plus-lambda.js';
export { NSGA2, type Nsga2Options } from './nsga2.js';
export {
  createStrategy,
  isStrategyName,
  restoreStrategy,
  snapshotStrategyName,
  STRATEGY_NAMES,
  type AnyStrategyOptions,
  type StrategyByName,
  type StrategyName,
  type StrategyOptionsByName,
} from './registry.js';
