/**
 * The evaluator a search configuration asks for: local training (the default), training-free
 * proxies, a table of known results, or BullMQ workers. The search loop only sees the {@link CandidateEvaluator} interface.
 */
import { DATASET_SHAPES, assertDatasetName } from '../data/registry.js';
import { prepareData, validationSplit } from '../evaluate/prepared-data.js';
import { getProtocol } from '../evaluate/protocols.js';
import { prepareProxyImages } from '../evaluate/proxies.js';
import { loadResultTable } from '../evaluate/table.js';
import { createSpace } from '../space/registry.js';
import type { CompileTarget } from '../space/space.js';
import { QueueEvaluator } from '../distributed/queue-evaluator.js';
import { type CandidateEvaluator, LocalTrainingEvaluator } from './candidate-evaluator.js';
import { type SearchConfig, configuredProtocol } from './config.js';
import { ProxyEvaluator } from './proxy-evaluator.js';
import { TableEvaluator } from './table-evaluator.js';

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
  const data = await prepareData(config.dataset.name, {
    ...(config.dataset.dataDir !== undefined ? { dataDir: config.dataset.dataDir } : {}),
    ...(config.dataset.subset !== undefined ? { subset: config.dataset.subset } : {}),
    ...(config.dataset.testSubset !== undefined ? { testSubset: config.dataset.testSubset } : {}),
    ...validationSplit(protocol, config.dataset.validationFraction),
    standardise: protocol.standardise,
    device: config.device,
    splitSeed: config.seed,
    log,
  });
  return new LocalTrainingEvaluator(data, config.pool.size);
}
