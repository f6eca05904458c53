/**
 * `nascent train-best` and `nascent compare`: re-train a run's best candidates from scratch with
 * several seeds, and compare them with hand-designed baselines under the same protocol and budget.
 */
import { BASELINE_NAMES } from '../evaluate/baselines.js';
import { augmentationFromFlags } from '../evaluate/train.js';
import { trainingNormalisation, writeModelFile } from '../export/model-file.js';
import {
  type FinalEntry,
  type FinalTrainingSettings,
  baselineEntries,
  meanAndSd,
  runConfig,
  selectCandidates,
  trainFinal,
} from '../run/final-training.js';
import { configuredProtocol } from '../run/config.js';
import { type FinalTrainingRecord, RunStore } from '../store/index.js';
import { formatCount, formatPercent, formatSeconds, table } from '../util/format.js';

export interface FinalCommandOptions {
  run: string;
  store: string;
  top?: number;
  front?: boolean;
  /** Exactly these candidates (ids, or `c12` short forms). */
  candidates?: string[];
  protocol?: string;
  epochs?: number;
  seeds: number[];
  threads?: number;
  device?: string;
  subset?: number;
  testSubset?: number;
  dataDir?: string;
  /** Space options replacing the run's when the chosen genomes are compiled (JSON on the CLI). */
  spaceOptions?: Record<string, unknown>;
  /** Augmentation: crop padding in pixels, horizontal flips. */
  cropPadding?: number;
  flip?: boolean;
  progress: boolean;
}

/** Writes a final training's model in the model-file format. */
const saveModel: NonNullable<FinalTrainingSettings['saveModel']> = (network, path, entry, meta) =>
  writeModelFile(path, {
    network,
    architecture: entry.architecture,
    ...(entry.genome !== null ? { genome: entry.genome } : {}),
    dataset: meta.dataset,
    classes: meta.classes,
    protocol: meta.protocol,
    normalisation: trainingNormalisation(meta.dataset, meta.standardise),
    testAccuracy: meta.testAccuracy,
  });

/** `1,2,3` -> [1, 2, 3]. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((part) => part.trim());
  if (seeds.length === 0 || seeds.some((s) => !/^\d+$/.test(s)))
    throw new Error(`--seeds takes whole numbers separated by commas, e.g. 1,2,3 (got "${text}")`);
  return seeds.map(Number);
}

/** One row per network: the seeds' mean and spread. */
export function summariseFinal(records: readonly FinalTrainingRecord[]): string {
  const groups = new Map<string, FinalTrainingRecord[]>();
  for (const record of records) {
    const group = groups.get(record.name) ?? [];
    group.push(record);
    groups.set(record.name, group);
  }
  const rows = [...groups.entries()].map(([name, group]) => {
    const ok = group.filter((r) => r.status === 'ok');
    const test = meanAndSd(ok.map((r) => r.metrics.test_accuracy ?? 0));
    const val = meanAndSd(ok.map((r) => r.metrics.accuracy ?? 0));
    const seconds = meanAndSd(ok.map((r) => r.metrics.train_seconds ?? 0));
    const first = group[0] as FinalTrainingRecord;
    const genome = typeof first.settings.genome === 'string' ? first.settings.genome : '';
    return [
      first.role === 'baseline' ? `${name} (baseline)` : name,
      `${ok.length}/${group.length}`,
      ok.length ? formatPercent(val.mean) : '-',
      ok.length ? `${formatPercent(test.mean)} ± ${(100 * test.sd).toFixed(2)}` : '-',
      ok.map((r) => formatPercent(r.metrics.test_accuracy)).join(' '),
      formatCount(first.metrics.params ?? 0),
      formatCount(first.metrics.flops ?? 0),
      ok.length ? formatSeconds(seconds.mean) : '-',
      genome,
    ];
  });
  const failures = records
    .filter((r) => r.status === 'failed')
    .map((r) => `${r.name} seed ${r.seed} failed: ${r.error ?? ''}`);
  return [
    table(
      [
        'network',
        'ok',
        'val acc',
        'test acc (mean ± sd)',
        'test acc per seed',
        'params',
        'FLOPs',
        'time/seed',
        'genome',
      ],
      rows,
    ),
    ...failures,
  ].join('\n');
}

async function runFinal(
  options: FinalCommandOptions,
  choose: (store: RunStore, runId: string) => FinalEntry[],
): Promise<string> {
  const store = RunStore.open(options.store);
  try {
    const run = store.getRun(options.run);
    const entries = choose(store, run.id);
    const config = runConfig(run);
    const protocol = options.protocol ?? configuredProtocol(config);
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    log(
      `training ${entries.length} network${entries.length === 1 ? '' : 's'} x ${options.seeds.length} seed${options.seeds.length === 1 ? '' : 's'} on ${config.dataset.name} under protocol ${protocol}${options.epochs ? `, ${options.epochs} epoch${options.epochs === 1 ? '' : 's'}` : ''}`,
    );
    const augment = augmentationFromFlags(options);
    const records = await trainFinal(store, run.id, entries, {
      ...(options.protocol !== undefined ? { protocol: options.protocol } : {}),
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      seeds: options.seeds,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
      ...(options.subset !== undefined ? { subset: options.subset } : {}),
      ...(options.testSubset !== undefined ? { testSubset: options.testSubset } : {}),
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(augment ? { augment } : {}),
      saveModel,
      ...(options.progress
        ? {
            onEpoch: (entry, seed, record) =>
              log(
                `  ${entry.name} seed ${seed} epoch ${record.epoch}: val acc ${formatPercent(record.valAccuracy)}`,
              ),
          }
        : {}),
      onResult: (record) =>
        log(
          `${record.name} seed ${record.seed}: ${record.status === 'ok' ? `val acc ${formatPercent(record.metrics.accuracy)}, test acc ${formatPercent(record.metrics.test_accuracy)}${record.modelPath ? `, model ${record.modelPath}` : ''}` : `failed: ${record.error ?? ''}`}`,
        ),
    });
    return summariseFinal(records);
  } finally {
    store.close();
  }
}

export function trainBestCommand(options: FinalCommandOptions): Promise<string> {
  return runFinal(options, (store, runId) =>
    selectCandidates(store, runId, {
      ...(options.top !== undefined ? { top: options.top } : {}),
      ...(options.front ? { front: true } : {}),
      ...(options.candidates ? { ids: options.candidates } : {}),
      ...(options.spaceOptions ? { spaceOptions: options.spaceOptions } : {}),
    }),
  );
}

export function compareCommand(
  options: FinalCommandOptions & { baselines?: string[] },
): Promise<string> {
  return runFinal(options, (store, runId) => [
    ...selectCandidates(store, runId, {
      top: options.top ?? 1,
      ...(options.candidates ? { ids: options.candidates } : {}),
      ...(options.spaceOptions ? { spaceOptions: options.spaceOptions } : {}),
    }),
    ...baselineEntries(options.baselines ?? [...BASELINE_NAMES], runConfig(store.getRun(runId))),
  ]);
}
