/**
 * The evaluator a search configuration asks for: local training (the default), training-free
 * proxies, a table of known results, or BullMQ workers. The search loop only sees the {@link CandidateEvaluator} interface.
 */
import { DATASET_SHAPES, assertDatasetName } from '../data/registry.js';
import { type PreparedData, prepareData, validationSplit } from '../evaluate/prepared-data.js';
import { getProtocol } from '../evaluate/protocols.js';
import { prepareProxyImages } from '../evaluate/proxies.js';
import { loadResultTable } from '../evaluate/table.js';
import { createSpace } from '../space/registry.js';
import type { CompileTarget } from '../space/space.js';
import { QueueEvaluator } from '../distributed/queue-evaluator.js';
import { type CandidateEvaluator, LocalTrainingEvaluator } from '../evaluate/evaluator.js';
import { type SearchConfig, configuredProtocol } from './config.js';
import { ProxyEvaluator } from '../evaluate/proxy-evaluator.js';
import { TableEvaluator } from '../evaluate/table-evaluator.js';

/** Input shape and class count of the configured dataset, known without loading it. */
export function datasetTarget(config: SearchConfig): CompileTarget {
  const shape = DATASET_SHAPES[assertDatasetName(config.dataset.name)];
  return {
    input: { channels: shape.channels, height: shape.height, width: shape.width },
    classes: shape.classes,
  };
}

export async function createEvaluator(
  config: SearchConfig,
  log: (message: string) => void,
): Promise<CandidateEvaluator> {
  if (config.queue !== undefined) {
    if (config.evaluator !== 'train' && config.evaluator !== 'express')
      throw new Error(
        `--queue sends trainings to workers: it does not combine with evaluator ${config.evaluator}`,
      );
    return QueueEvaluator.fromConfig(config, log);
  }
  if (config.evaluator.startsWith('table:')) {
    const table = loadResultTable(config.evaluator.slice('table:'.length), {
      space: createSpace(config.space),
    });
    log(`answering candidates from ${table.source} (${table.size} architectures)`);
    return new TableEvaluator(table);
  }
  const protocol = getProtocol(configuredProtocol(config));
  if (config.evaluator === 'proxies') {
    const batch = await prepareProxyImages(config.dataset.name, {
      dataDir: config.dataset.dataDir,
      standardise: protocol.standardise,
      seed: config.seed,
      device: config.device,
      log,
    });
    return new ProxyEvaluator(batch);
  }
  return new LocalTrainingEvaluator(await prepareSearchData(config, log), config.pool.size);
}

/**
 * The configured dataset as the search trains on it: its subset, the protocol's validation split
 * and pixel scaling, the run's split seed. `testSubset` replaces the configured one (a DARTS
 * tournament needs no test images).
 */
export function prepareSearchData(
  config: SearchConfig,
  log: (message: string) => void,
  options: { testSubset?: number } = {},
): Promise<PreparedData> {
  const protocol = getProtocol(configuredProtocol(config));
  const dataset = config.dataset;
  const testSubset = options.testSubset ?? dataset.testSubset;
  return prepareData(dataset.name, {
    ...(dataset.dataDir !== undefined ? { dataDir: dataset.dataDir } : {}),
    ...(dataset.subset !== undefined ? { subset: dataset.subset } : {}),
    ...(testSubset !== undefined ? { testSubset } : {}),
    ...validationSplit(protocol, dataset.validationFraction),
    standardise: protocol.standardise,
    device: config.device,
    splitSeed: config.seed,
    log,
  });
}
