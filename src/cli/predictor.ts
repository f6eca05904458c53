/**
 * `nascent predictor train|eval` and `nascent proxies`: the learned accuracy predictor, trained on
 * a run's evaluations or on a table of known results, and the training-free proxies of one
 * architecture.
 */
import { basename, extname, join } from 'node:path';
import { datasetShape } from '../data/registry.js';
import {
  AccuracyPredictor,
  PREDICTOR_KINDS,
  type PredictorExample,
  type PredictorKind,
  predictionQuality,
} from '../evaluate/predictor.js';
import {
  FEATURE_ENCODINGS,
  FEW_SHOT_KINDS,
  type FeatureEncoding,
  type FewShotKind,
  FewShotPredictor,
} from '../evaluate/predictor/few-shot.js';
import { getProtocol } from '../evaluate/protocols.js';
import {
  DEFAULT_NTK_BATCH,
  DEFAULT_PROXY_BATCH,
  PROXIES,
  PROXY_NAMES,
  type ProxyName,
  checkProxyNames,
  computeProxies,
  prepareProxyImages,
} from '../evaluate/proxies.js';
import { loadResultTable } from '../evaluate/table.js';
import { CellCompileError, analyzeCell, parseCell } from '../space/cells/index.js';
import { type Architecture, parseArchitecture } from '../space/ir.js';
import { createSpace, parseSpaceArgument } from '../space/registry.js';
import { RunStore } from '../store/index.js';
import { type ArchitectureSource, resolveArchitecture } from './architecture-input.js';

export interface ExampleSource {
  /** A run in the store: its evaluated candidates (status ok, with a validation accuracy). */
  run?: string;
  store?: string;
  /** A table of known results (docs/tabular-benchmarks.md). */
  table?: string;
  /** The table's space (default genome) and dataset (default fashion-mnist). */
  space?: string;
  dataset?: string;
  /** The metric to learn and test on (default `accuracy`, validation; a table column such as `test_accuracy`). */
  metric?: string;
}

/** Every predictor kind: the libtorch ones and the few-shot ones. */
export const ALL_PREDICTOR_KINDS: readonly (PredictorKind | FewShotKind)[] = [
  ...PREDICTOR_KINDS,
  ...FEW_SHOT_KINDS,
];

function isFewShotKind(kind: string): kind is FewShotKind {
  return (FEW_SHOT_KINDS as readonly string[]).includes(kind);
}

/** Examples from a run or a table; proxies from `proxy_<name>` metrics (runs) or `<name>` columns (tables). */
export function loadExamples(
  source: ExampleSource,
  proxies: readonly ProxyName[],
): PredictorExample[] {
  if ((source.run === undefined) === (source.table === undefined)) {
    throw new Error('give the examples with either --run <run> or --table <file>');
  }
  const missing = (where: string, name: string): Error =>
    new Error(
      `${where} has no score for proxy "${name}"; leave --proxies out, or use examples that carry it`,
    );
  if (source.table !== undefined) {
    const spaceSpec = parseSpaceArgument(source.space ?? 'genome');
    const space = createSpace(spaceSpec);
    const table = loadResultTable(source.table, { space });
    const shape = datasetShape(source.dataset ?? 'fashion-mnist');
    const target = {
      input: { channels: shape.channels, height: shape.height, width: shape.width },
      classes: shape.classes,
    };
    const metric = source.metric ?? 'accuracy';
    return [...table.entries()].map((entry) => {
      const values: Partial<Record<ProxyName, number | null>> = {};
      for (const name of proxies) {
        const value = entry.metrics[name];
        if (value === undefined && PROXIES[name].engine)
          throw missing(`${table.source} ${entry.where}`, name);
        values[name] = value ?? null;
      }
      const accuracy = entry.metrics[metric];
      if (accuracy === undefined) {
        throw new Error(
          `${table.source} ${entry.where} has no ${metric}; give --metric one of ${table.metricNames.join(', ')}`,
        );
      }
      const genome = space.parse(entry.arch);
      let architecture: Architecture | null = null;
      try {
        architecture = space.compile(genome, target);
      } catch (error) {
        // A cell with no input-output path is a real row (its output is constant) but compiles
        // to no network: it stays an example, read as "no network" or by its cell encodings.
        if (!(error instanceof CellCompileError) || analyzeCell(parseCell(entry.arch)).hasOutput)
          throw error;
      }
      return {
        architecture,
        genome: { space: space.name, text: entry.arch },
        accuracy,
        proxies: values,
      };
    });
  }
  const store = RunStore.open(source.store ?? 'runs/nascent.db');
  try {
    const run = store.getRun(source.run as string);
    const latest = new Map<string, PredictorExample>();
    for (const evaluation of store.evaluations(run.id)) {
      const accuracy = evaluation.metrics[source.metric ?? 'accuracy'];
      if (evaluation.status !== 'ok' || accuracy === undefined) continue;
      const candidate = store.getCandidate(evaluation.candidateId);
      if (candidate.architecture === null) continue;
      const values: Partial<Record<ProxyName, number | null>> = {};
      for (const name of proxies) {
        const value = evaluation.metrics[`proxy_${name}`] ?? evaluation.metrics[name];
        if (value === undefined && PROXIES[name].engine)
          throw missing(`candidate ${candidate.id}`, name);
        values[name] = value ?? null;
      }
      latest.set(candidate.hash, {
        architecture: parseArchitecture(candidate.architecture) as Architecture,
        accuracy,
        proxies: values,
      });
    }
    return [...latest.values()];
  } finally {
    store.close();
  }
}

export interface PredictorTrainOptions extends ExampleSource {
  kind: PredictorKind | FewShotKind;
  /** Few-shot kinds: the encodings read (default: the cell's graf and path for cells, else network). */
  encodings?: string[];
  proxies?: string[];
  out?: string;
  epochs?: number;
  seed: number;
}

export async function predictorTrainCommand(options: PredictorTrainOptions): Promise<string> {
  const proxies = checkProxyNames(options.proxies ?? []);
  const examples = loadExamples(options, proxies);
  const sourceName =
    options.run ?? basename(options.table as string, extname(options.table as string));
  const out = options.out ?? join('runs', 'predictors', `${sourceName}-${options.kind}`);
  const description = options.run !== undefined ? `run ${options.run}` : `table ${options.table}`;
  const encodings = checkEncodings(options.encodings);
  if (encodings !== undefined && !isFewShotKind(options.kind)) {
    throw new Error(
      `--encodings is for the ${FEW_SHOT_KINDS.join(', ')} kinds; the ${options.kind} reads the compiled network`,
    );
  }
  const predictor = isFewShotKind(options.kind)
    ? FewShotPredictor.train(
        examples,
        {
          kind: options.kind,
          proxyFeatures: proxies,
          seed: options.seed,
          ...(encodings !== undefined ? { encodings } : {}),
        },
        description,
      )
    : await AccuracyPredictor.train(
        examples,
        {
          kind: options.kind,
          proxyFeatures: proxies,
          seed: options.seed,
          ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        },
        description,
      );
  const withoutNetwork = examples.filter((e) => e.architecture === null).length;
  predictor.save(out);
  const fit = predictionQuality(
    examples.map((e) => e.accuracy),
    predictor.predict(examples),
  );
  return [
    `trained a ${options.kind} predictor on ${examples.length} architectures${proxies.length > 0 ? ` with proxies ${proxies.join(', ')}` : ''}${options.metric !== undefined ? ` to predict ${options.metric}` : ''}`,
    ...(withoutNetwork > 0
      ? [
          `${withoutNetwork} of them have no path from input to output (constant output): ${isFewShotKind(options.kind) ? 'read by their cell encodings' : 'read as a network with no layers'}`,
        ]
      : []),
    `on its own training data: R^2 ${format(fit.r2)}, Kendall tau ${format(fit.kendall)} (held-out quality: nascent predictor eval on other architectures)`,
    `saved to ${out}`,
  ].join('\n');
}

export interface PredictorEvalOptions extends ExampleSource {
  predictor: string;
  json?: boolean;
}

function checkEncodings(encodings: readonly string[] | undefined): FeatureEncoding[] | undefined {
  if (encodings === undefined) return undefined;
  for (const encoding of encodings) {
    if (!(FEATURE_ENCODINGS as readonly string[]).includes(encoding))
      throw new Error(
        `unknown encoding ${JSON.stringify(encoding)} (known: ${FEATURE_ENCODINGS.join(', ')})`,
      );
  }
  return encodings as FeatureEncoding[];
}

export function predictorEvalCommand(options: PredictorEvalOptions): string {
  const predictor = FewShotPredictor.isSavedIn(options.predictor)
    ? FewShotPredictor.load(options.predictor)
    : AccuracyPredictor.load(options.predictor);
  const examples = loadExamples(options, predictor.proxyFeatures);
  const quality = predictionQuality(
    examples.map((e) => e.accuracy),
    predictor.predict(examples),
  );
  if (options.json) return JSON.stringify(quality, null, 2);
  return [
    `${predictor.kind} predictor (trained on ${predictor.trainedOn}) on ${quality.count} architectures:`,
    `  R^2        ${format(quality.r2)}`,
    `  Kendall    ${format(quality.kendall)}`,
    `  Spearman   ${format(quality.spearman)}`,
  ].join('\n');
}

export interface ProxiesCommandOptions extends ArchitectureSource {
  dataset: string;
  dataDir?: string;
  names?: string[];
  protocol: string;
  seed: number;
  batchSize?: number;
  threads?: number;
  json?: boolean;
}

export async function proxiesCommand(options: ProxiesCommandOptions): Promise<string> {
  const names = checkProxyNames(options.names ?? PROXY_NAMES);
  const architecture = resolveArchitecture(options, options.dataset);
  const protocol = getProtocol(options.protocol);
  const batchSize = options.batchSize ?? DEFAULT_PROXY_BATCH;
  const data = await prepareProxyImages(options.dataset, {
    dataDir: options.dataDir,
    batchSize,
    standardise: protocol.standardise,
    seed: options.seed,
  });
  try {
    const scores = await computeProxies(architecture, data.train, {
      names,
      init: protocol.init,
      seed: options.seed,
      batchSize,
      ...(options.threads ? { threads: options.threads } : {}),
    });
    if (options.json) return JSON.stringify(scores, null, 2);
    const lines = [
      `proxies at ${protocol.init} initialisation (protocol ${protocol.name}), seed ${options.seed}, batch of ${batchSize} ${options.dataset} images (NTK: ${Math.min(batchSize, DEFAULT_NTK_BATCH)})`,
    ];
    for (const name of names) {
      const score = scores[name];
      const arrow = PROXIES[name].direction === 'maximize' ? 'higher is better' : 'lower is better';
      lines.push(
        `  ${name.padEnd(16)} ${score?.value === null || score?.value === undefined ? `failed: ${score?.failure ?? 'no score'}` : formatScore(score.value)}  (${arrow}${PROXIES[name].engine ? `, ${((score?.seconds ?? 0) * 1000).toFixed(1)} ms` : ''})`,
      );
    }
    return lines.join('\n');
  } finally {
    data.release();
  }
}

function format(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(4);
}

function formatScore(value: number): string {
  return Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-3 && value !== 0)
    ? value.toExponential(4)
    : value.toFixed(4);
}
