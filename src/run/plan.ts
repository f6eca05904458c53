/**
 * The run plan: a search configuration resolved once, before anything runs, into the typed
 * settings every layer of a run receives. The space is built, the dataset's shape known, the
 * protocol looked up with every hyperparameter, the evaluation settings and the strategy's
 * options assembled, the pruners and the budget stated. Nothing after this reads the raw
 * configuration to work out a setting again.
 */
import { assertDatasetSpec, datasetShape } from '../data/registry.js';
import { engineInfo } from '../engine/engine.js';
import type { EvaluationSettings } from '../evaluate/evaluator.js';
import { AccuracyPredictor } from '../evaluate/predictor.js';
import type { DataSelection } from '../evaluate/prepared-data.js';
import { type TrainingProtocol, getProtocol } from '../evaluate/protocols.js';
import type { AnyStrategyOptions } from '../search/registry.js';
import type { Constraint, Objective } from '../search/strategy.js';
import { createSpace } from '../space/registry.js';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { type SearchConfig, configuredProtocol } from './config.js';
import { PredictorScreenedSpace } from './screened-space.js';

/** Genomes as a run handles them: whatever the configured space uses. */
export type SpaceGenome = unknown;

/** How candidates are evaluated. */
export type EvaluatorChoice =
  | { readonly kind: 'train' }
  | { readonly kind: 'express' }
  | { readonly kind: 'proxies' }
  | { readonly kind: 'table'; readonly file: string };

/** The metrics known from the architecture alone, before any training. */
export const PRE_TRAINING_METRICS = ['params', 'flops'] as const;

/** What refuses a candidate before it is trained, and what stops or promotes it while it trains. */
export interface PrunerPlan {
  /** Stop a candidate whose validation accuracy after `epoch` epochs is below `accuracy`. */
  readonly killBelow?: { readonly epoch: number; readonly accuracy: number };
  /** Successive halving of each batch (rungs minEpochs, minEpochs * eta, ... up to the epochs). */
  readonly successiveHalving?: { readonly minEpochs: number; readonly eta: number };
  /** Hyperband: each batch over brackets of successive halving (run/pruners/rungs.ts). */
  readonly hyperband?: { readonly minEpochs: number; readonly eta: number };
  /** Pre-screening by proxies or a predictor. */
  readonly screen?: NonNullable<SearchConfig['evaluation']['screen']>;
  /** The constraints on {@link PRE_TRAINING_METRICS}, checked before any training. */
  readonly preTrainingConstraints: readonly Constraint[];
  /**
   * The training-memory limit a candidate's estimate is checked against before it is trained;
   * null where nothing is trained here (proxies, a table; the queue, unless `maxMemory` is
   * set, since the workers' memory is not this machine's).
   */
  readonly memoryLimitBytes: number | null;
}

export interface RunPlan {
  /** The validated configuration, as the store keeps it. */
  readonly config: SearchConfig;
  readonly seed: number;
  readonly device: string;
  readonly store: string;
  readonly space: SearchSpace<SpaceGenome>;
  /** Input shape and classes of the dataset, known without loading it. */
  readonly target: CompileTarget;
  readonly dataset: { readonly name: string; readonly selection: DataSelection };
  /** The protocol candidates train under, every hyperparameter resolved. */
  readonly protocol: TrainingProtocol;
  /** What each candidate's evaluation is given (protocol, epochs, truncation, seed, threads). */
  readonly evaluation: EvaluationSettings;
  readonly inheritWeights: boolean;
  readonly evaluator: EvaluatorChoice;
  /** Redis URL when evaluations go to queue workers. */
  readonly queue?: string;
  readonly strategy: {
    readonly name: SearchConfig['strategy']['name'];
    readonly populationSize: number;
    /** What the strategy is constructed with. */
    readonly options: AnyStrategyOptions<SpaceGenome>;
    readonly dartsTournament?: NonNullable<SearchConfig['strategy']['dartsTournament']>;
  };
  readonly objectives: readonly Objective[];
  readonly constraints: readonly Constraint[];
  readonly pruners: PrunerPlan;
  readonly budget: SearchConfig['budget'];
  readonly pool: { readonly size: number; readonly threads: number };
}

/** The protocol a configuration trains under (`express` for the express evaluator), resolved. */
export function resolveProtocol(
  config: Pick<SearchConfig, 'evaluator' | 'evaluation'>,
): TrainingProtocol {
  return getProtocol(configuredProtocol(config));
}

/** Input shape and class count of the configured dataset, known without loading it. */
export function datasetTarget(config: Pick<SearchConfig, 'dataset'>): CompileTarget {
  const shape = datasetShape(config.dataset.name);
  return {
    input: { channels: shape.channels, height: shape.height, width: shape.width },
    classes: shape.classes,
  };
}

/** The images a configuration's search trains on (its subset, split fraction and split seed). */
export function searchDataSelection(
  config: Pick<SearchConfig, 'dataset' | 'seed' | 'device'>,
): DataSelection {
  const d = config.dataset;
  return {
    dataDir: d.dataDir,
    subset: d.subset,
    testSubset: d.testSubset,
    validationFraction: d.validationFraction,
    splitSeed: config.seed,
    device: config.device,
  };
}

function evaluatorChoice(evaluator: string): EvaluatorChoice {
  if (evaluator.startsWith('table:'))
    return { kind: 'table', file: evaluator.slice('table:'.length) };
  if (evaluator === 'train' || evaluator === 'express' || evaluator === 'proxies')
    return { kind: evaluator };
  throw new Error(`unknown evaluator ${evaluator}: write train, express, proxies or table:<file>`);
}

/** The memory limit a run checks candidates against (see {@link PrunerPlan.memoryLimitBytes}). */
function memoryLimit(
  config: SearchConfig,
  evaluator: EvaluatorChoice,
  defaultLimit: (() => number) | undefined,
): number | null {
  const configured = config.evaluation.maxMemory;
  if (configured !== undefined) return configured;
  if (config.queue !== undefined || defaultLimit === undefined) return null;
  return evaluator.kind === 'train' || evaluator.kind === 'express' ? defaultLimit() : null;
}

/**
 * Resolves a validated configuration into its {@link RunPlan}. `defaultMemoryLimitBytes` gives the
 * training-memory limit when the configuration sets none (evaluate/memory.ts's safe share of this
 * machine's memory); without it, only a configured `maxMemory` is checked.
 */
export function resolveRunPlan(
  config: SearchConfig,
  options: { readonly defaultMemoryLimitBytes?: () => number } = {},
): RunPlan {
  if (config.evaluation.successiveHalving && config.evaluation.hyperband)
    throw new Error(
      'evaluation: give successiveHalving or hyperband, not both (hyperband runs successive halving in each of its brackets)',
    );
  const screenOperators = config.evaluation.screenOperators;
  const space: SearchSpace<SpaceGenome> = screenOperators
    ? new PredictorScreenedSpace(
        createSpace(config.space),
        AccuracyPredictor.load(screenOperators.predictor),
        screenOperators.candidates,
      )
    : createSpace(config.space);
  const target = datasetTarget(config);
  const protocol = resolveProtocol(config);
  const evaluator = evaluatorChoice(config.evaluator);
  const threads =
    config.pool.threads ?? Math.max(1, Math.floor(engineInfo().hardwareCores / config.pool.size));
  const e = config.evaluation;
  const evaluation: EvaluationSettings = {
    protocol,
    epochs: e.epochs ?? protocol.training.epochs,
    ...(e.maxStepsPerEpoch ? { maxStepsPerEpoch: e.maxStepsPerEpoch } : {}),
    ...(e.killBelow ? { killBelow: e.killBelow } : {}),
    ...(e.augment ? { augment: e.augment } : {}),
    seed: config.seed,
    threads,
    device: config.device,
  };
  const s = config.strategy;
  const strategyOptions: AnyStrategyOptions<SpaceGenome> = {
    space,
    target,
    objectives: config.objectives,
    constraints: config.constraints,
    seed: config.seed,
    populationSize: s.populationSize,
    ...s.options,
    ...(s.dartsTournament
      ? { dartsTournament: { every: s.dartsTournament.every, size: s.dartsTournament.size } }
      : {}),
  };
  return {
    config,
    seed: config.seed,
    device: config.device,
    store: config.store,
    space,
    target,
    dataset: {
      name: assertDatasetSpec(config.dataset.name),
      selection: searchDataSelection(config),
    },
    protocol,
    evaluation,
    inheritWeights: e.inheritWeights,
    evaluator,
    ...(config.queue !== undefined ? { queue: config.queue } : {}),
    strategy: {
      name: s.name,
      populationSize: s.populationSize,
      options: strategyOptions,
      ...(s.dartsTournament ? { dartsTournament: s.dartsTournament } : {}),
    },
    objectives: config.objectives,
    constraints: config.constraints,
    pruners: {
      ...(e.killBelow ? { killBelow: e.killBelow } : {}),
      ...(e.successiveHalving ? { successiveHalving: e.successiveHalving } : {}),
      ...(e.hyperband ? { hyperband: e.hyperband } : {}),
      ...(e.screen ? { screen: e.screen } : {}),
      preTrainingConstraints: config.constraints.filter((c) =>
        (PRE_TRAINING_METRICS as readonly string[]).includes(c.metric),
      ),
      memoryLimitBytes: memoryLimit(config, evaluator, options.defaultMemoryLimitBytes),
    },
    budget: config.budget,
    pool: { size: config.pool.size, threads },
  };
}
