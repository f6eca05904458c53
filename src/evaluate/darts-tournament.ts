/**
 * One DARTS tournament: k candidates in one mixture network (src/space/mixture.ts), its weights
 * trained on training batches and its architecture weights alpha on validation batches, in
 * alternation (first-order DARTS: one SGD step on the weights, then one Adam step on alpha), for
 * a short budget. The candidate whose alpha is largest wins. All of it runs in the engine's
 * training worker: no JavaScript per batch.
 */
import { Network, type TensorData, type WeightInit } from '../engine/engine.js';
import type { Architecture } from '../space/ir.js';
import { softmax } from '../util/stats.js';

export interface DartsTournamentSettings {
  /** Weight steps (each followed by one alpha step). */
  readonly steps: number;
  readonly batchSize: number;
  /** SGD (momentum 0.9, weight decay 3e-4, cosine) learning rate of the network's weights. */
  readonly lr: number;
  /** Adam learning rate of alpha (DARTS: 3e-4 over 50 epochs; a short tournament needs more). */
  readonly architectureLr: number;
  readonly init: WeightInit;
  readonly seed: number;
  readonly threads?: number;
  readonly device?: string;
}

export const DEFAULT_DARTS_TOURNAMENT: Omit<DartsTournamentSettings, 'init' | 'seed'> = {
  steps: 100,
  batchSize: 64,
  lr: 0.025,
  architectureLr: 0.01,
};

export interface DartsTournamentResult {
  /** Alpha after training, one per candidate, in the mixture's order. */
  readonly alpha: number[];
  /** softmax(alpha): each candidate's weight in the mixture. */
  readonly weights: number[];
  /** Index of the largest alpha. */
  readonly winner: number;
  /** The mixture's validation accuracy after training (a sanity check that it learned). */
  readonly validationAccuracy: number | null;
  readonly seconds: number;
}

/** Trains the mixture network and ranks its candidates by alpha. */
export async function runDartsTournament(
  mixture: Architecture,
  data: { readonly train: TensorData; readonly validation: TensorData },
  settings: DartsTournamentSettings,
): Promise<DartsTournamentResult> {
  const network = Network.build(mixture, {
    init: settings.init,
    seed: settings.seed,
    ...(settings.device ? { device: settings.device } : {}),
  });
  const result = await network.train(data.train, data.validation, {
    epochs: 1,
    maxStepsPerEpoch: settings.steps,
    batchSize: settings.batchSize,
    optimizer: 'sgd',
    lr: settings.lr,
    momentum: 0.9,
    weightDecay: 3e-4,
    schedule: 'cosine',
    architectureLr: settings.architectureLr,
    seed: settings.seed,
    ...(settings.threads ? { threads: settings.threads } : {}),
  });
  if (result.status === 'diverged')
    throw new Error(`the tournament network diverged: ${result.reason ?? 'loss not finite'}`);
  const alpha = result.alpha;
  if (!alpha) throw new Error('internal: the tournament network reported no alpha');
  let winner = 0;
  alpha.forEach((value, i) => {
    if (value > (alpha[winner] as number)) winner = i;
  });
  return {
    alpha,
    weights: softmax(alpha),
    winner,
    validationAccuracy: result.epochs.at(-1)?.valAccuracy ?? null,
    seconds: result.seconds,
  };
}
