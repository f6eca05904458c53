/**
 * The evaluator a run plan asks for: local training (the default), training-free proxies, a
 * table of known results, or BullMQ workers. The search loop only sees the
 * {@link CandidateEvaluator} interface.
 */
import { datasetContentIdentity } from '../data/identity.js';
import { assertDatasetSpec } from '../data/registry.js';
import { QueueEvaluator } from '../distributed/queue-evaluator.js';
import type { QueueDataset } from '../distributed/job.js';
import { type CandidateEvaluator, LocalTrainingEvaluator } from '../evaluate/evaluator.js';
import {
  type PreparedData,
  prepareTrainingData,
  trainingDataOptions,
} from '../evaluate/prepared-data.js';
import { prepareProxyImages } from '../evaluate/proxies.js';
import { ProxyEvaluator } from '../evaluate/proxy-evaluator.js';
import { TableEvaluator } from '../evaluate/table-evaluator.js';
import { loadResultTable } from '../evaluate/table.js';
import { createSpace } from '../space/registry.js';
import type { SearchConfig } from './config.js';
import { type RunPlan, resolveProtocol, searchDataSelection } from './plan.js';

export { datasetTarget } from './plan.js';

/**
 * The dataset a run's queue workers load: its images, resolved validation split and content
 * identity (the checksum of this machine's files, which a worker's must match).
 */
export async function queueDataset(config: SearchConfig): Promise<QueueDataset> {
  const selection = searchDataSelection(config);
  const options = trainingDataOptions(resolveProtocol(config), selection);
  const name = assertDatasetSpec(config.dataset.name);
  return {
    name,
    content: await datasetContentIdentity(name, { dataDir: selection.dataDir }),
    dataDir: selection.dataDir ?? null,
    subset: selection.subset ?? null,
    testSubset: selection.testSubset ?? null,
    validationFraction: options.validationFraction,
    ...(options.validationCount !== undefined ? { validationCount: options.validationCount } : {}),
    splitSeed: options.splitSeed ?? 0,
  };
}

export async function createEvaluator(
  plan: RunPlan,
  log: (message: string) => void,
  runId?: string,
): Promise<CandidateEvaluator> {
  const choice = plan.evaluator;
  if (plan.queue !== undefined) {
    if (choice.kind !== 'train' && choice.kind !== 'express')
      throw new Error(
        `--queue sends trainings to workers: it does not combine with evaluator ${plan.config.evaluator}`,
      );
    return QueueEvaluator.connect({
      url: plan.queue,
      dataset: await queueDataset(plan.config),
      // The whole generation in flight; the budget decides how many of them start.
      inFlight: plan.strategy.populationSize,
      ...(runId !== undefined ? { runId } : {}),
      log,
    });
  }
  if (choice.kind === 'table') {
    const table = loadResultTable(choice.file, { space: createSpace(plan.config.space) });
    log(`answering candidates from ${table.source} (${table.size} architectures)`);
    return new TableEvaluator(table);
  }
  if (choice.kind === 'proxies') {
    const batch = await prepareProxyImages(plan.dataset.name, {
      dataDir: plan.dataset.selection.dataDir ?? undefined,
      standardise: plan.protocol.standardise,
      seed: plan.seed,
      device: plan.device,
      log,
    });
    return new ProxyEvaluator(batch);
  }
  return new LocalTrainingEvaluator(await prepareSearchData(plan, log), plan.pool.size);
}

/**
 * The plan's dataset as the search trains on it: its subset, the protocol's validation split
 * and pixel scaling, the run's split seed. `testSubset` replaces the configured one (a DARTS
 * tournament needs no test images).
 */
export function prepareSearchData(
  plan: Pick<RunPlan, 'dataset' | 'protocol'>,
  log: (message: string) => void,
  options: { testSubset?: number } = {},
): Promise<PreparedData> {
  return prepareTrainingData(plan.dataset.name, plan.protocol, {
    ...plan.dataset.selection,
    ...(options.testSubset !== undefined ? { testSubset: options.testSubset } : {}),
    log,
  });
}
