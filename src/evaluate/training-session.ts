/**
 * One candidate's training, in segments: `start` builds the network (inheriting the parents'
 * weights), `advance(toEpoch)` trains up to an epoch and pauses there, `finish()` ends the
 * training where it is and returns the candidate's result, `release()` frees it. Between
 * segments the engine keeps the optimizer state, step count, data order and early-stopping
 * state, so advancing to 2 and then to 4 trains exactly what advancing to 4 at once does.
 *
 * Stop rules (evaluate/stop-rules.ts) are checked at the epochs they name: the session pauses the
 * engine there and takes the verdict before any further batch, so a candidate killed after
 * epoch k has fidelity k and the metrics of epoch k, and the same seed repeats it. Pruners
 * (run/pruners/) use the same sessions to continue promoted candidates from their rung.
 */
import {
  type EpochRecord,
  Network,
  type ProgressEvent,
  type TrainResult,
  type WeightMap,
} from '../engine/engine.js';
import type { Architecture } from '../space/ir.js';
import type { CandidateResult, EvaluationSettings } from './evaluation-types.js';
import type { PreparedData } from './prepared-data.js';
import {
  type StopRule,
  type StopVerdict,
  checkStopRules,
  decisionEpochs,
  stopRulesOf,
} from './stop-rules.js';
import { engineTrainOptions, trainingReport } from './train.js';

/**
 * What a session trains under: an evaluation's settings (evaluate/evaluation-types.ts), with
 * optional stop rules besides `killBelow`. `epochs` is the full fidelity: the schedule's length
 * and the furthest a session advances.
 */
export type SessionSettings = EvaluationSettings & { readonly stopRules?: readonly StopRule[] };

/** A session's result: an evaluation's result (evaluate/evaluation-types.ts). */
export type SessionResult = CandidateResult;

/**
 * Copies the parents' trained tensors into the child wherever the child has a tensor of the same
 * name (the node id, i.e. the layer's identity) and the same shape. The first parent wins.
 */
export function inheritWeights(network: Network, parents: readonly WeightMap[]): number {
  if (parents.length === 0) return 0;
  const own = network.getWeights();
  const chosen: WeightMap = {};
  for (const [name, tensor] of Object.entries(own)) {
    for (const parent of parents) {
      const source = parent[name];
      if (
        source &&
        source.shape.length === tensor.shape.length &&
        source.shape.every((d, i) => d === tensor.shape[i])
      ) {
        chosen[name] = source;
        break;
      }
    }
  }
  return Object.keys(chosen).length === 0 ? 0 : network.setWeights(chosen);
}

export interface TrainingSessionOptions {
  /** Trained weights of the parents to start from (tensors matched by name and shape). */
  readonly parentWeights?: readonly WeightMap[];
  /** Called with each epoch's record as the epoch ends. */
  readonly onEpoch?: (record: EpochRecord) => void;
  /**
   * The epoch count the learning-rate schedule is defined over (default: `settings.epochs`, the
   * full fidelity), so a training stopped at a pruner's rung follows the full training's schedule.
   */
  readonly scheduleEpochs?: number;
}

/** Where a session stands after {@link TrainingSession.advance}. */
export interface SessionProgress {
  /** Epochs trained so far. */
  readonly epoch: number;
  /**
   * `paused`: it can advance further; `ended`: the training ended on its own (its last epoch,
   * early stopping, divergence, a stop request); `killed`: a stop rule stopped it.
   */
  readonly state: 'paused' | 'ended' | 'killed';
  readonly records: readonly EpochRecord[];
}

export class TrainingSession {
  private result: TrainResult | null = null;
  private verdict: StopVerdict | null = null;
  private released = false;
  private readonly rules: readonly StopRule[];

  private constructor(
    readonly network: Network,
    private readonly data: PreparedData,
    readonly settings: SessionSettings,
    private readonly options: TrainingSessionOptions,
    /** Tensors copied from the parents. */
    readonly inheritedTensors: number,
    readonly startedAt: string,
  ) {
    this.rules = stopRulesOf(settings);
  }

  /** Builds the network (seeded by the settings) and copies the parents' tensors into it. */
  static start(
    architecture: Architecture,
    data: PreparedData,
    settings: SessionSettings,
    options: TrainingSessionOptions = {},
  ): TrainingSession {
    const startedAt = new Date().toISOString();
    const network = Network.build(architecture, {
      init: settings.protocol.init,
      seed: settings.seed,
      device: settings.device,
    });
    const inherited = inheritWeights(network, options.parentWeights ?? []);
    return new TrainingSession(network, data, settings, options, inherited, startedAt);
  }

  /** Epochs trained so far. */
  get epoch(): number {
    return this.result?.epochs.length ?? 0;
  }

  get records(): readonly EpochRecord[] {
    return this.result?.epochs ?? [];
  }

  /** The stop rule's verdict when one stopped the training. */
  get stopVerdict(): StopVerdict | null {
    return this.verdict;
  }

  /** Where it stands: `paused` until a rule or the training itself ends it. */
  get state(): SessionProgress['state'] {
    if (this.verdict) return 'killed';
    if (this.result && this.result.status !== 'paused') return 'ended';
    return 'paused';
  }

  private progress(): SessionProgress {
    return { epoch: this.epoch, state: this.state, records: this.records };
  }

  /**
   * Trains up to epoch `toEpoch` (at most the settings' epochs), pausing at every epoch a stop
   * rule names to take its verdict. Returns at once when the training has ended or been killed.
   */
  async advance(toEpoch: number): Promise<SessionProgress> {
    if (this.released) throw new Error('advance: the training session was released');
    const target = Math.min(Math.floor(toEpoch), this.settings.epochs);
    const boundaries = [
      ...decisionEpochs(this.rules).filter((epoch) => epoch > this.epoch && epoch < target),
      target,
    ];
    for (const boundary of boundaries) {
      if (this.state !== 'paused' || boundary <= this.epoch) break;
      const onProgress = this.options.onEpoch
        ? (event: ProgressEvent) => {
            if (event.type === 'epoch') this.options.onEpoch?.(event.record);
          }
        : undefined;
      this.result =
        this.result === null
          ? await this.network.train(
              this.data.train,
              this.data.validation,
              {
                ...engineTrainOptions(this.settings.protocol, this.data, {
                  budget: {
                    epochs: this.settings.epochs,
                    ...(this.settings.maxStepsPerEpoch
                      ? { maxStepsPerEpoch: this.settings.maxStepsPerEpoch }
                      : {}),
                  },
                  seed: this.settings.seed,
                  ...(this.settings.threads ? { threads: this.settings.threads } : {}),
                  ...(this.settings.augment ? { augment: this.settings.augment } : {}),
                  scheduleEpochs: this.options.scheduleEpochs ?? this.settings.epochs,
                }),
                untilEpoch: boundary,
              },
              onProgress,
            )
          : await this.network.continueTraining(
              this.data.train,
              this.data.validation,
              { untilEpoch: boundary },
              onProgress,
            );
      const status = this.result.status;
      if (status === 'diverged' || status === 'stopped') break;
      this.verdict = checkStopRules(this.rules, this.result.epochs);
    }
    return this.progress();
  }

  /**
   * Metrics of the training so far, without ending it (for a pruner's ranking at a rung): params,
   * flops, accuracy and val_loss of the best epoch so far, train_images, inherited_tensors. No
   * test accuracy: the test set is evaluated only by {@link TrainingSession.finish}.
   */
  interimMetrics(): Record<string, number> {
    const metrics: Record<string, number> = {
      params: this.network.summary.params,
      flops: this.network.summary.flops,
      train_images: this.result?.images ?? 0,
      inherited_tensors: this.inheritedTensors,
    };
    const records = this.records;
    const best = records.find((e) => e.epoch === this.result?.bestEpoch) ?? records.at(-1);
    if (best?.valAccuracy !== null && best?.valAccuracy !== undefined)
      metrics.accuracy = best.valAccuracy;
    if (best?.valLoss !== null && best?.valLoss !== undefined) metrics.val_loss = best.valLoss;
    return metrics;
  }

  /** Asks a running segment to stop after its current batch (the training then ends). */
  stop(): void {
    this.network.stop();
  }

  /**
   * Ends the training where it is (restoring the best epoch's weights when the protocol says
   * so), evaluates the test set and returns the candidate's result: `failed` when the loss
   * diverged, `killed` when a stop rule stopped it, `ok` otherwise, with fidelity the epochs
   * trained. Engine errors become `failed` results.
   */
  async finish(options: { keepWeights?: boolean } = {}): Promise<SessionResult> {
    try {
      if (this.result === null) throw new Error('finish: the session has not trained any epoch');
      if (this.result.status === 'paused') {
        this.result = await this.network.continueTraining(this.data.train, this.data.validation, {
          epochs: this.epoch,
        });
      }
      const test = await this.network.evaluate(
        this.data.test,
        this.settings.threads ? { threads: this.settings.threads } : {},
      );
      const report = trainingReport(this.network, this.result, test);
      const metrics: Record<string, number> = {
        params: report.params,
        flops: report.flops,
        test_accuracy: report.testAccuracy,
        train_seconds: report.trainSeconds,
        train_images: report.trainedImages,
        inherited_tensors: this.inheritedTensors,
      };
      if (report.valAccuracy !== null) metrics.accuracy = report.valAccuracy;
      if (report.valLoss !== null) metrics.val_loss = report.valLoss;
      const finishedAt = new Date().toISOString();
      const common = {
        fidelity: report.epochs.length,
        metrics,
        epochs: report.epochs,
        startedAt: this.startedAt,
        finishedAt,
      };
      if (report.status === 'diverged') {
        return { status: 'failed', error: report.reason ?? 'the loss diverged', ...common };
      }
      return {
        status: this.verdict ? 'killed' : 'ok',
        ...(this.verdict ? { error: this.verdict.reason } : {}),
        ...common,
        ...(options.keepWeights ? { weights: this.network.getWeights() } : {}),
      };
    } catch (error) {
      return {
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
        fidelity: 0,
        metrics: {},
        epochs: [],
        startedAt: this.startedAt,
        finishedAt: new Date().toISOString(),
      };
    }
  }

  /** Frees a paused training's optimizer state; the session cannot advance afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (this.network.pausedEpoch !== null) this.network.discardTraining();
    } catch {
      // busy with a segment: its state is freed when the network is collected
    }
  }
}
