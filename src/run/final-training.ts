/**
 * After a search: re-train the best candidates (or the Pareto front) from scratch under a longer
 * protocol with several seeds, and hand-designed baselines under the same protocol and budget.
 * Every result is recorded in the run store's final trainings, with the trained model kept.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EpochRecord, Network } from '../engine/engine.js';
import { baselineArchitecture } from '../evaluate/baselines.js';
import { type PreparedData, prepareTrainingData } from '../evaluate/prepared-data.js';
import { type TrainingProtocol, getProtocol } from '../evaluate/protocols.js';
import { type Augmentation, trainArchitecture } from '../evaluate/train.js';
import { type Architecture, parseArchitecture } from '../space/ir.js';
import { createSpace } from '../space/registry.js';
import type { FinalTrainingRecord, RunRecord, RunStore } from '../store/index.js';
import type { SearchConfig } from './config.js';
import { datasetTarget, resolveProtocol } from './plan.js';
import { decodeRunConfig } from './stored.js';
import { paretoFront } from '../search/pareto.js';
import { sortByRanking } from '../search/ranking.js';

/** One network to train: a candidate of the run or a baseline. */
export interface FinalEntry {
  readonly name: string;
  readonly role: 'candidate' | 'baseline';
  readonly candidateId: string | null;
  readonly genome: string | null;
  readonly architecture: Architecture;
}

export interface FinalTrainingSettings {
  /** Protocol name; the run's own protocol when absent. */
  readonly protocol?: string;
  /** A complete recipe (the final stage's) instead of a named protocol. */
  readonly recipe?: TrainingProtocol;
  /** Steps per epoch at most (quick checks). */
  readonly maxStepsPerEpoch?: number;
  /** Epochs; the protocol's when absent. */
  readonly epochs?: number;
  readonly seeds: readonly number[];
  readonly threads?: number;
  readonly device?: string;
  /** Training images (all when absent) and test images. */
  readonly subset?: number;
  readonly testSubset?: number;
  readonly dataDir?: string;
  readonly augment?: Augmentation;
  /** Where model files go; `<store dir>/models/<run id>` when absent. */
  readonly modelsDir?: string;
  readonly onEpoch?: (entry: FinalEntry, seed: number, record: EpochRecord) => void;
  readonly onResult?: (record: FinalTrainingRecord) => void;
  /** Writes a trained model to `path` (the model-file format); the model is not kept when absent. */
  readonly saveModel?: (network: Network, path: string, entry: FinalEntry, meta: ModelMeta) => void;
}

export interface ModelMeta {
  readonly dataset: string;
  readonly classes: readonly string[];
  readonly protocol: string;
  readonly standardise: boolean;
  readonly testAccuracy: number;
}

/** A run's stored configuration, validated (run/stored.ts). */
export function runConfig(run: RunRecord): SearchConfig {
  return decodeRunConfig(run);
}

/**
 * The run's best `top` distinct candidates by its own objectives and constraints, or its Pareto
 * front (accuracy against parameters, or the run's objectives when it has several).
 */
export function selectCandidates(
  store: RunStore,
  runId: string,
  options: {
    top?: number;
    front?: boolean;
    ids?: readonly string[];
    /**
     * Space options that replace the run's when the chosen genomes are compiled again, e.g. a
     * larger macro network around searched cells (`{ channels: 16, cellsPerStage: 5 }`).
     */
    spaceOptions?: Readonly<Record<string, unknown>>;
  },
): FinalEntry[] {
  const entries = chooseCandidates(store, runId, options);
  if (!options.spaceOptions) return entries;
  const config = runConfig(store.getRun(runId));
  const space = createSpace({
    ...config.space,
    options: { ...config.space.options, ...options.spaceOptions },
  });
  const target = datasetTarget(config);
  // The name says the network differs from the searched one: c12-channels16-cellsPerStage5.
  const suffix = Object.entries(options.spaceOptions)
    .map(([key, value]) => `${key}${String(value)}`)
    .join('-')
    .replace(/[^A-Za-z0-9_.-]/g, '');
  return entries.map((entry) => ({
    ...entry,
    name: `${entry.name}-${suffix}`,
    architecture: space.compile(space.parse(entry.genome as string), target),
  }));
}

function chooseCandidates(
  store: RunStore,
  runId: string,
  options: { top?: number; front?: boolean; ids?: readonly string[] },
): FinalEntry[] {
  const run = store.getRun(runId);
  if (options.ids && options.ids.length > 0) {
    return options.ids.map((id) => {
      const candidate = store.getCandidate(id.includes('-c') ? id : `${run.id}-${id}`);
      if (candidate.runId !== run.id)
        throw new Error(
          `candidate ${candidate.id} belongs to run ${candidate.runId}, not ${run.id}`,
        );
      return {
        name: candidate.id,
        role: 'candidate' as const,
        candidateId: candidate.id,
        genome: candidate.genome,
        architecture: parseArchitecture(candidate.architecture),
      };
    });
  }
  const config = runConfig(run);
  const evaluated = store
    .evaluations(run.id, {})
    .filter((e) => e.status === 'ok')
    .map((e) => ({ ...e, metrics: e.metrics as Record<string, number> }));
  let chosen: typeof evaluated;
  if (options.front) {
    const objectives =
      config.objectives.length > 1
        ? config.objectives
        : [
            { metric: 'accuracy', direction: 'maximize' as const },
            { metric: 'params', direction: 'minimize' as const },
          ];
    chosen = sortByRanking(
      paretoFront(evaluated, objectives, config.constraints),
      config.objectives,
      config.constraints,
    );
  } else {
    chosen = sortByRanking(evaluated, config.objectives, config.constraints);
  }
  const seen = new Set<string>();
  const entries: FinalEntry[] = [];
  for (const evaluation of chosen) {
    const candidate = store.getCandidate(evaluation.candidateId);
    if (seen.has(candidate.hash)) continue;
    seen.add(candidate.hash);
    entries.push({
      name: candidate.id,
      role: 'candidate',
      candidateId: candidate.id,
      genome: candidate.genome,
      architecture: parseArchitecture(candidate.architecture),
    });
    if (!options.front && entries.length >= (options.top ?? 1)) break;
  }
  if (entries.length === 0)
    throw new Error(`run ${run.id} has no successfully evaluated candidate to re-train`);
  return entries;
}

export function baselineEntries(names: readonly string[], config: SearchConfig): FinalEntry[] {
  const target = datasetTarget(config);
  return names.map((name) => ({
    name,
    role: 'baseline' as const,
    candidateId: null,
    genome: null,
    architecture: baselineArchitecture(name, target),
  }));
}

/** Trains every entry with every seed, one after the other, recording each result. */
export async function trainFinal(
  store: RunStore,
  runId: string,
  entries: readonly FinalEntry[],
  settings: FinalTrainingSettings,
): Promise<FinalTrainingRecord[]> {
  const run = store.getRun(runId);
  const config = runConfig(run);
  const protocol =
    settings.recipe ??
    (settings.protocol ? getProtocol(settings.protocol) : resolveProtocol(config));
  const epochs = settings.epochs ?? protocol.training.epochs;
  const modelsDir = settings.modelsDir ?? join(dirname(store.path), 'models', run.id);
  const recorded = {
    protocol: protocol.name,
    epochs,
    dataset: config.dataset.name,
    subset: settings.subset ?? null,
    testSubset: settings.testSubset ?? null,
    augment: settings.augment ?? null,
  };
  // In model file names, so trainings of one network under other budgets never overwrite it:
  // e.g. `course-10ep`, `course-2ep-20000img`, `standard-30ep-crop4-flip`.
  const budgetTag = [
    protocol.name,
    `${epochs}ep`,
    ...(settings.subset !== undefined ? [`${settings.subset}img`] : []),
    ...(settings.augment?.cropPadding ? [`crop${settings.augment.cropPadding}`] : []),
    ...(settings.augment?.flip ? ['flip'] : []),
  ].join('-');
  // What every record of one training says, whatever its outcome.
  const common = (entry: FinalEntry, seed: number, startedAt: Date) => ({
    runId: run.id,
    candidateId: entry.candidateId,
    name: entry.name,
    role: entry.role,
    architecture: entry.architecture,
    settings: { ...recorded, genome: entry.genome },
    seed,
    startedAt,
    finishedAt: new Date(),
  });
  let data: PreparedData | undefined;
  const records: FinalTrainingRecord[] = [];
  try {
    data = await prepareTrainingData(config.dataset.name, protocol, {
      dataDir: settings.dataDir ?? config.dataset.dataDir,
      subset: settings.subset,
      testSubset: settings.testSubset,
      validationFraction: config.dataset.validationFraction,
      device: settings.device ?? config.device,
      splitSeed: config.seed,
      log: (message) => void process.stderr.write(`${message}\n`),
    });
    for (const entry of entries) {
      for (const seed of settings.seeds) {
        const startedAt = new Date();
        let record: FinalTrainingRecord;
        try {
          const { network, report } = await trainArchitecture(entry.architecture, data, {
            protocol,
            budget: {
              epochs,
              ...(settings.maxStepsPerEpoch !== undefined
                ? { maxStepsPerEpoch: settings.maxStepsPerEpoch }
                : {}),
            },
            seed,
            ...(settings.threads !== undefined ? { threads: settings.threads } : {}),
            device: settings.device ?? config.device,
            ...(settings.augment ? { augment: settings.augment } : {}),
            onProgress: (event) => {
              if (event.type === 'epoch') settings.onEpoch?.(entry, seed, event.record);
            },
          });
          let modelPath: string | null = null;
          if (settings.saveModel && report.status !== 'diverged') {
            mkdirSync(modelsDir, { recursive: true });
            modelPath = join(modelsDir, `${entry.name}-${budgetTag}-seed${seed}.safetensors`);
            settings.saveModel(network, modelPath, entry, {
              dataset: data.dataset,
              classes: data.classes,
              protocol: protocol.name,
              standardise: protocol.standardise,
              testAccuracy: report.testAccuracy,
            });
          }
          // A diverged training has no accuracy worth keeping: only its cost and the reason.
          const diverged = report.status === 'diverged';
          const metrics: Record<string, number> = {
            ...(diverged ? {} : { test_accuracy: report.testAccuracy, test_loss: report.testLoss }),
            params: report.params,
            flops: report.flops,
            train_seconds: report.trainSeconds,
            best_epoch: report.bestEpoch,
          };
          if (report.valAccuracy !== null && !diverged) metrics.accuracy = report.valAccuracy;
          record = store.addFinalTraining({
            ...common(entry, seed, startedAt),
            status: diverged ? 'failed' : 'ok',
            error: diverged ? `training diverged: ${report.reason ?? 'non-finite loss'}` : null,
            metrics,
            epochs: [...report.epochs],
            modelPath,
          });
        } catch (error) {
          record = store.addFinalTraining({
            ...common(entry, seed, startedAt),
            status: 'failed',
            error: error instanceof Error ? error.message : String(error),
            metrics: {},
            epochs: [],
            modelPath: null,
          });
        }
        records.push(record);
        settings.onResult?.(record);
      }
    }
  } finally {
    data?.release();
  }
  return records;
}

/** Mean and sample standard deviation. */
export function meanAndSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  const sd =
    values.length > 1
      ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
      : 0;
  return { mean, sd };
}
