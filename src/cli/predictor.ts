/**
 * `nascent predictor train|eval` and `nascent proxies`: the learned accuracy predictor, trained on
 * a run's evaluations or on a table of known results, and the training-free proxies of one
 * architecture.
 */
import { basename, extname, join } from 'node:path';
import { datasetShape } from '../data/registry.js';
import {
  AccuracyPredictor,
  type PredictorExample,
  type PredictorKind,
  predictionQuality,
} from '../evaluate/predictor.js';
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
    return [...table.entries()].map((entry) => {
      const values: Partial<Record<ProxyName, number | null>> = {};
      for (const name of proxies) {
        const value = entry.metrics[name];
        if (value === undefined && PROXIES[name].engine)
          throw missing(`${table.source} ${entry.where}`, name);
        values[name] = value ?? null;
      }
      return {
        architecture: space.compile(space.parse(entry.arch), target),
        accuracy: entry.metrics.accuracy as number,
        proxies: values,
      };
    });
  }
  const store = RunStore.open(source.store ?? 'runs/nascent.db');
  try {
    const run = store.getRun(source.run as string);
    const latest = new Map<string, PredictorExample>();
    for (const evaluation of store.evaluations(run.id)) {
      const accuracy = evaluation.metrics.accuracy;
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
  kind: PredictorKind;
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
  const predictor = await AccuracyPredictor.train(
    examples,
    {
      kind: options.kind,
      proxyFeatures: proxies,
      seed: options.seed,
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    },
    options.run !== undefined ? `run ${options.run}` : `table ${options.table}`,
  );
  predictor.save(out);
  const fit = predictionQuality(
    examples.map((e) => e.accuracy),
    predictor.predict(examples),
  );
  return [
    `trained a ${options.kind} predictor on ${examples.length} architectures${proxies.length > 0 ? ` with proxies ${proxies.join(', ')}` : ''}`,
    `on its own training data: R^2 ${format(fit.r2)}, Kendall tau ${format(fit.kendall)} (held-out quality: nascent predictor eval on other architectures)`,
    `saved to ${out}`,
  ].join('\n');
}

export interface PredictorEvalOptions extends ExampleSource {
  predictor: string;
  json?: boolean;
}

export function predictorEvalCommand(options: PredictorEvalOptions): string {
  const predictor = AccuracyPredictor.load(options.predictor);
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
        `  ${name.padEnd(10)} ${score?.value === null || score?.value === undefined ? `failed: ${score?.failure ?? 'no score'}` : formatScore(score.value)}  (${arrow}${PROXIES[name].engine ? `, ${((score?.seconds ?? 0) * 1000).toFixed(1)} ms` : ''})`,
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
