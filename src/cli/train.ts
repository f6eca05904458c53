import cliProgress from 'cli-progress';
import { type Network, engineInfo } from '../engine/engine.js';
import { prepareTrainingData } from '../evaluate/prepared-data.js';
import { trainingNormalisation, writeModelFile } from '../export/model-file.js';
import { getProtocol } from '../evaluate/protocols.js';
import {
  DEFAULT_MEMORY_SHARE,
  defaultMemoryLimitBytes,
  estimateTrainingMemory,
  formatBytes,
  memoryLimitMessage,
  parseByteSize,
} from '../evaluate/memory.js';
import {
  type TrainingReport,
  augmentationFromFlags,
  trainArchitecture,
} from '../evaluate/train.js';
import { type ArchitectureSource, resolveCandidate } from './architecture-input.js';
import { formatCount, formatPercent, formatSeconds, table } from '../util/format.js';

export interface TrainCommandOptions extends ArchitectureSource {
  dataset: string;
  dataDir?: string;
  download?: boolean;
  protocol: string;
  epochs?: number;
  subset?: number;
  testSubset?: number;
  threads?: number;
  seed: number;
  device: string;
  /** Augmentation: crop padding in pixels, horizontal flips. */
  cropPadding?: number;
  flip?: boolean;
  save?: string;
  json?: boolean;
  progress: boolean;
  /**
   * The training-memory limit (`8GiB`, `512MiB`, or bytes): a network whose estimate is over it
   * is refused before anything is loaded or trained. Default: a safe share of the memory
   * available (evaluate/memory.ts).
   */
  maxMemory?: string | number;
}

export class TrainingFailed extends Error {}

/** A network refused before training (over the memory limit). */
export class TrainingRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingRefused';
  }
}

/** `, crops (padding 4) and flips` and the like, for the opening line. */
function augmentationNote(options: { cropPadding?: number; flip?: boolean }): string {
  const parts = [
    ...(options.cropPadding ? [`crops (padding ${options.cropPadding})`] : []),
    ...(options.flip ? ['flips'] : []),
  ];
  return parts.length > 0 ? `, ${parts.join(' and ')}` : '';
}

/** Classes the network outputs (0 when its output is not a flat vector). */
function architectureClasses(network: Network): number {
  const shape = network.summary.outputShape;
  return shape.kind === 'flat' ? shape.features : 0;
}

/**
 * The accuracy line: a diverged training has no accuracy worth reading (its weights are whatever
 * the non-finite steps left), so it says that it diverged and why instead.
 */
function accuracyLine(report: TrainingReport): string {
  if (report.status === 'diverged')
    return `no validation or test accuracy: the training diverged (${report.reason ?? 'non-finite loss'})`;
  return `validation accuracy: ${formatPercent(report.valAccuracy)}   test accuracy: ${formatPercent(report.testAccuracy)}`;
}

export function formatReport(report: TrainingReport): string {
  const rows = report.epochs.map((epoch) => [
    epoch.epoch === report.bestEpoch ? `${epoch.epoch} *` : String(epoch.epoch),
    epoch.trainLoss.toFixed(4),
    formatPercent(epoch.trainAccuracy),
    epoch.valLoss === null ? '-' : epoch.valLoss.toFixed(4),
    formatPercent(epoch.valAccuracy),
    epoch.lr.toExponential(2),
    formatSeconds(epoch.seconds),
  ]);
  return [
    table(['epoch', 'train loss', 'train acc', 'val loss', 'val acc', 'lr', 'time'], rows),
    `status: ${report.status}${report.reason ? ` (${report.reason})` : ''}; best epoch ${report.bestEpoch} (*)`,
    `parameters: ${formatCount(report.params)}   FLOPs/image: ${formatCount(report.flops)}`,
    accuracyLine(report),
    `training time: ${formatSeconds(report.trainSeconds)} on ${report.threads} thread${report.threads === 1 ? '' : 's'} (${Math.round(report.imagesPerSecond)} images/s)`,
  ].join('\n');
}

export async function trainCommand(options: TrainCommandOptions): Promise<string> {
  const protocol = getProtocol(options.protocol);
  const candidate = resolveCandidate(options, options.dataset);
  const { architecture } = candidate;
  const limit =
    options.maxMemory === undefined
      ? defaultMemoryLimitBytes()
      : typeof options.maxMemory === 'number'
        ? options.maxMemory
        : parseByteSize(options.maxMemory, '--max-memory');
  const training = protocol.training;
  const estimate = estimateTrainingMemory(architecture, {
    batchSize: training.batchSize,
    optimizer: training.optimizer,
    ...('momentum' in training ? { momentum: training.momentum } : {}),
    ...('restoreBest' in training ? { restoreBest: training.restoreBest } : {}),
  });
  if (estimate.bytes > limit)
    throw new TrainingRefused(
      `not training: ${memoryLimitMessage(estimate, limit, training.batchSize)}${options.maxMemory === undefined ? ` (the default limit: ${Math.round(100 * DEFAULT_MEMORY_SHARE)}% of the ${formatBytes(limit / DEFAULT_MEMORY_SHARE)} available)` : ''}`,
    );
  const log = (message: string): void => void process.stderr.write(`${message}\n`);
  const started = Date.now();
  const data = await prepareTrainingData(options.dataset, protocol, {
    dataDir: options.dataDir,
    download: options.download,
    subset: options.subset,
    testSubset: options.testSubset,
    device: options.device,
    log,
  });
  const epochs = options.epochs ?? protocol.training.epochs;
  if (!options.json) {
    const info = engineInfo();
    log(
      `training on ${data.train.count} images (validation ${data.validation?.count ?? 0}, test ${data.test.count}) ` +
        `with protocol ${protocol.name}, ${epochs} epochs, seed ${options.seed}${augmentationNote(options)}, libtorch ${info.torchVersion} on ${options.device}`,
    );
  }
  const bar =
    options.progress && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format:
              'epoch {epoch}/{epochs} [{bar}] {value}/{total} batches | loss {loss} | {status}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let barStarted = false;
  try {
    const augment = augmentationFromFlags(options);
    const { network, report } = await trainArchitecture(architecture, data, {
      protocol,
      budget: { epochs },
      seed: options.seed,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(augment ? { augment } : {}),
      device: options.device,
      progressEvery: 20,
      onProgress: (event) => {
        if (event.type === 'batch') {
          if (bar && !barStarted) {
            bar.start(event.batches, 0, { epoch: event.epoch, epochs, loss: '-', status: '' });
            barStarted = true;
          }
          bar?.update(event.batch, { epoch: event.epoch, loss: event.loss.toFixed(4) });
        } else if (bar) {
          bar.update(bar.getTotal(), {
            status: `val acc ${formatPercent(event.record.valAccuracy)}`,
          });
        } else if (!options.json) {
          const r = event.record;
          log(
            `epoch ${r.epoch}/${epochs}: loss ${r.trainLoss.toFixed(4)}, val loss ${r.valLoss?.toFixed(4) ?? '-'}, val acc ${formatPercent(r.valAccuracy)} (${formatSeconds(r.seconds)})`,
          );
        }
      },
    });
    const wall = (Date.now() - started) / 1000;
    if (report.status === 'diverged') {
      throw new TrainingFailed(
        `training diverged: ${report.reason ?? 'non-finite loss'}\n${formatReport(report)}`,
      );
    }
    if (options.save) {
      writeModelFile(options.save, {
        network,
        architecture,
        ...(candidate.genome !== undefined && candidate.space !== undefined
          ? { genome: candidate.genome, space: candidate.space }
          : {}),
        dataset: data.dataset,
        ...(data.classes.length === architectureClasses(network) ? { classes: data.classes } : {}),
        normalisation: trainingNormalisation(data.dataset, protocol.standardise),
        protocol: protocol.name,
        testAccuracy: report.testAccuracy,
      });
    }
    if (options.json) return JSON.stringify({ architecture, report, wallSeconds: wall }, null, 2);
    return `${formatReport(report)}\nwall time (data loading included): ${formatSeconds(wall)}${options.save ? `\nmodel saved to ${options.save}` : ''}`;
  } finally {
    bar?.stop();
    data.release();
  }
}
