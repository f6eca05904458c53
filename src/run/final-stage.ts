/**
 * The main job's final stage: after the search, re-train from scratch the best few networks of
 * the Pareto front that meet the run's constraints, and the configured baselines, each over
 * several seeds under one final recipe (final-recipe.ts), on the full training set; report test
 * accuracy (a test set the search never saw) as mean ± sd; and deliver the best network as a
 * model file and its ONNX export.
 *
 * The best network is chosen among the searched ones by mean *validation* accuracy over the
 * seeds, never by test accuracy, so its test figure stays an unbiased estimate; its model file
 * is the seed with the best validation accuracy.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readModelFile, trainingNormalisation, writeModelFile } from '../export/model-file.js';
import { architectureToOnnx } from '../export/onnx.js';
import type { FinalTrainingRecord, RunStore } from '../store/index.js';
import type { SearchConfig } from './config.js';
import { type FinalStageConfig, finalRecipe } from './final-recipe.js';
import {
  type FinalEntry,
  type FinalTrainingSettings,
  baselineEntries,
  meanAndSd,
  selectCandidates,
  trainFinal,
} from './final-training.js';

/** One network's results over its seeds. */
export interface FinalNetworkResult {
  readonly name: string;
  readonly role: 'candidate' | 'baseline';
  readonly genome: string | null;
  readonly params: number;
  readonly flops: number;
  readonly seeds: number;
  readonly ok: number;
  readonly testAccuracies: readonly number[];
  readonly testMean: number;
  readonly testSd: number;
  readonly valMean: number;
  /** The model file of the seed with the best validation accuracy. */
  readonly bestModelPath: string | null;
}

export interface FinalStageResult {
  readonly runId: string;
  readonly outDir: string;
  readonly recipe: string;
  readonly networks: readonly FinalNetworkResult[];
  /** The searched network chosen by mean validation accuracy; null when every training failed. */
  readonly best: FinalNetworkResult | null;
  /** `<outDir>/best-model.safetensors` and `<outDir>/best-model.onnx`. */
  readonly modelPath: string | null;
  readonly onnxPath: string | null;
  readonly records: readonly FinalTrainingRecord[];
}

export interface FinalStageOptions {
  readonly final: FinalStageConfig;
  /** Where the best model and its ONNX file go; `<store dir>/<run id>` when absent. */
  readonly outDir?: string;
  readonly threads?: number;
  readonly onEpoch?: FinalTrainingSettings['onEpoch'];
  readonly onResult?: FinalTrainingSettings['onResult'];
  /** Called once the networks are chosen, before any training. */
  readonly onStart?: (entries: readonly FinalEntry[], recipe: string) => void;
}

/** The networks the final stage trains: the front's best `networks`, then the baselines. */
export function finalStageEntries(
  store: RunStore,
  runId: string,
  config: SearchConfig,
  final: FinalStageConfig,
): FinalEntry[] {
  const front = selectCandidates(store, runId, { front: true }).slice(0, final.networks);
  return [...front, ...baselineEntries(final.baselines, config)];
}

function summarise(records: readonly FinalTrainingRecord[]): FinalNetworkResult[] {
  const groups = new Map<string, FinalTrainingRecord[]>();
  for (const record of records)
    groups.set(record.name, [...(groups.get(record.name) ?? []), record]);
  return [...groups.values()].map((group) => {
    const first = group[0] as FinalTrainingRecord;
    const ok = group.filter((r) => r.status === 'ok');
    const tests = ok.map((r) => r.metrics.test_accuracy ?? 0);
    const test = meanAndSd(tests);
    const val = meanAndSd(ok.map((r) => r.metrics.accuracy ?? 0));
    const bestSeed = [...ok].sort(
      (a, b) => (b.metrics.accuracy ?? 0) - (a.metrics.accuracy ?? 0),
    )[0];
    return {
      name: first.name,
      role: first.role,
      genome: typeof first.settings.genome === 'string' ? first.settings.genome : null,
      params: first.metrics.params ?? 0,
      flops: first.metrics.flops ?? 0,
      seeds: group.length,
      ok: ok.length,
      testAccuracies: tests,
      testMean: test.mean,
      testSd: test.sd,
      valMean: val.mean,
      bestModelPath: bestSeed?.modelPath ?? null,
    };
  });
}

/** Runs the final stage of a finished search run. */
export async function runFinalStage(
  store: RunStore,
  runId: string,
  config: SearchConfig,
  options: FinalStageOptions,
): Promise<FinalStageResult> {
  const { final } = options;
  const recipe = finalRecipe(final);
  const entries = finalStageEntries(store, runId, config, final);
  const outDir = options.outDir ?? join(dirname(store.path), runId);
  options.onStart?.(entries, recipe.description);
  const records = await trainFinal(store, runId, entries, {
    recipe,
    epochs: final.epochs,
    seeds: final.seeds,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(final.subset !== undefined ? { subset: final.subset } : {}),
    ...(final.testSubset !== undefined ? { testSubset: final.testSubset } : {}),
    ...(final.maxStepsPerEpoch !== undefined ? { maxStepsPerEpoch: final.maxStepsPerEpoch } : {}),
    augment: {
      ...(final.cropPadding > 0 ? { cropPadding: final.cropPadding } : {}),
      flip: final.flip,
    },
    modelsDir: join(outDir, 'models'),
    saveModel: (network, path, entry, meta) =>
      writeModelFile(path, {
        network,
        architecture: entry.architecture,
        ...(entry.genome !== null ? { genome: entry.genome } : {}),
        ...(entry.genome !== null ? { space: config.space.name } : {}),
        dataset: meta.dataset,
        classes: meta.classes,
        protocol: meta.protocol,
        normalisation: trainingNormalisation(meta.dataset, meta.standardise),
        testAccuracy: meta.testAccuracy,
      }),
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
    ...(options.onResult ? { onResult: options.onResult } : {}),
  });
  const networks = summarise(records);
  const best =
    networks
      .filter((n) => n.role === 'candidate' && n.ok > 0)
      .sort((a, b) => b.valMean - a.valMean)[0] ?? null;
  let modelPath: string | null = null;
  let onnxPath: string | null = null;
  if (best?.bestModelPath) {
    mkdirSync(outDir, { recursive: true });
    modelPath = join(outDir, 'best-model.safetensors');
    copyFileSync(best.bestModelPath, modelPath);
    const model = readModelFile(modelPath);
    onnxPath = join(outDir, 'best-model.onnx');
    writeFileSync(
      onnxPath,
      architectureToOnnx(model.architecture, model.weights, {
        metadata: {
          classes: JSON.stringify(model.classes ?? []),
          normalisation: JSON.stringify(model.normalisation),
          ...(model.genome !== undefined ? { genome: model.genome } : {}),
          ...(model.dataset !== undefined ? { dataset: model.dataset } : {}),
        },
      }),
    );
  }
  return {
    runId,
    outDir,
    recipe: recipe.description,
    networks,
    best,
    modelPath,
    onnxPath,
    records,
  };
}
