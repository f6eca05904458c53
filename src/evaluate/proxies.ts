/**
 * Training-free proxies: scores of an untrained network that are meant to rank architectures
 * the way trained accuracy would, for a fraction of the cost. The engine computes them on one
 * seeded mini-batch at initialisation; parameters and FLOPs come from the IR as baselines.
 *
 * A proxy that fails numerically (a singular kernel, an overflow) scores `null` with the reason;
 * rankings put it last. It never throws.
 */
import { Network, type TensorData, type WeightInit } from '../engine/engine.js';
import type { Architecture } from '../space/ir.js';
import { type PreparedData, prepareData } from './prepared-data.js';
import { averageRanks } from '../util/stats.js';

export interface ProxyDefinition {
  readonly name: ProxyName;
  /** Whether a higher or a lower score predicts a more accurate network. */
  readonly direction: 'maximize' | 'minimize';
  /** What it computes and on which inputs. */
  readonly description: string;
  /** Computed by the engine (false: counted from the IR). */
  readonly engine: boolean;
}

export const PROXIES = {
  synflow: {
    name: 'synflow',
    direction: 'maximize',
    engine: true,
    description:
      'sum of |w * dR/dw| over conv and dense weights, with all weights made positive, double precision, one all-ones image, batch norm in eval mode (Tanaka et al. 2020)',
  },
  grad_norm: {
    name: 'grad_norm',
    direction: 'maximize',
    engine: true,
    description:
      "sum over conv and dense layers of the L2 norm of the cross-entropy gradient, accumulated over the batch's two halves (zero-cost-nas with split_data 2; the halves are ZiCo's)",
  },
  snip: {
    name: 'snip',
    direction: 'maximize',
    engine: true,
    description:
      "sum of |w * dL/dw| over conv and dense weights for the cross-entropy loss, accumulated over the batch's two halves (Lee et al. 2019; zero-cost-nas with split_data 2)",
  },
  jacob_cov: {
    name: 'jacob_cov',
    direction: 'maximize',
    engine: true,
    description:
      'correlation of the input Jacobians of the batch: -sum(log(v + 1e-5) + 1 / (v + 1e-5)) over its eigenvalues v (Mellor et al. 2020)',
  },
  naswot: {
    name: 'naswot',
    direction: 'maximize',
    engine: true,
    description:
      'log-determinant of the activation-pattern kernel (which activation inputs are positive, per image of the batch): the linear-regions score of NASWOT (Mellor et al. 2021)',
  },
  ntk_cond: {
    name: 'ntk_cond',
    direction: 'minimize',
    engine: true,
    description:
      "condition number of the empirical neural tangent kernel of the first ntkBatchSize images (per-sample gradients of the summed logits), as in TE-NAS (Chen et al. 2021) but with batch norm's batch statistics held constant, so one backward pass gives every image's gradient",
  },
  zico: {
    name: 'zico',
    direction: 'maximize',
    engine: true,
    description:
      'the batch split in two halves, the cross-entropy gradient of each; per conv and dense layer, log of the sum over its weights of mean(|g|) / std(g) over the halves; summed over layers (Li et al. 2023)',
  },
  meco: {
    name: 'meco',
    direction: 'maximize',
    engine: true,
    description:
      "per convolution, the smallest eigenvalue of the Pearson correlation matrix of the channels of the first image's feature map, summed (Jiang et al. 2023)",
  },
  swap: {
    name: 'swap',
    direction: 'maximize',
    engine: true,
    description:
      'sample-wise activation patterns: the number of distinct patterns, over the batch, of which samples make each activation input positive (Peng et al. 2024)',
  },
  az_expressivity: {
    name: 'az_expressivity',
    direction: 'maximize',
    engine: true,
    description:
      "AZ-NAS's expressivity (Lee & Ham 2024): per block output, the entropy of the normalised eigenvalues of the channels' covariance over images and positions; summed over blocks",
  },
  az_progressivity: {
    name: 'az_progressivity',
    direction: 'maximize',
    engine: true,
    description:
      "AZ-NAS's progressivity: the smallest increase of that entropy from one block's output to the next",
  },
  az_trainability: {
    name: 'az_trainability',
    direction: 'maximize',
    engine: true,
    description:
      "AZ-NAS's trainability: per block, the largest singular value s of its Jacobian's channel map estimated with random +-1 output gradients, scored -s - 1/s + 2 (best at s = 1); the mean over blocks",
  },
  params: {
    name: 'params',
    direction: 'maximize',
    engine: false,
    description: 'trainable parameters (IR count), the baseline every proxy should beat',
  },
  flops: {
    name: 'flops',
    direction: 'maximize',
    engine: false,
    description: 'floating-point operations of one forward pass (IR count), a baseline',
  },
} as const satisfies Record<string, Omit<ProxyDefinition, 'name'> & { name: string }>;

export type ProxyName = keyof typeof PROXIES;
export const PROXY_NAMES = Object.keys(PROXIES) as ProxyName[];
/** The proxies the engine computes (not the IR's counts). */
export const ENGINE_PROXY_NAMES = PROXY_NAMES.filter((name) => PROXIES[name].engine);
/**
 * AZ-NAS's components (Lee & Ham 2024): the three engine scores and the IR's FLOPs as its
 * complexity; {@link logRankAggregate} combines them.
 */
export const AZ_NAS_COMPONENTS: readonly ProxyName[] = [
  'az_expressivity',
  'az_progressivity',
  'az_trainability',
  'flops',
];
/** The defaults: one mini-batch of 64 images, the NTK on its first 32. */
export const DEFAULT_PROXY_BATCH = 64;
export const DEFAULT_NTK_BATCH = 32;

/** Training images loaded for proxies: the batch is drawn from this many (or the batch size). */
const PROXY_IMAGE_POOL = 256;

/**
 * The images proxies draw their batch from: a seeded sample of the dataset's training set, in
 * native memory (or on the device), without a validation split.
 */
export function prepareProxyImages(
  dataset: string,
  options: {
    readonly dataDir?: string | undefined;
    readonly batchSize?: number;
    readonly standardise: boolean;
    readonly seed: number;
    readonly device?: string;
    readonly log?: (message: string) => void;
  },
): Promise<PreparedData> {
  return prepareData(dataset, {
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    subset: Math.max(PROXY_IMAGE_POOL, options.batchSize ?? DEFAULT_PROXY_BATCH),
    subsetAtMost: true,
    testSubset: 1,
    validationFraction: 0,
    standardise: options.standardise,
    splitSeed: options.seed,
    ...(options.device !== undefined ? { device: options.device } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
}

export function checkProxyNames(names: readonly string[]): ProxyName[] {
  const unknown = names.filter((name) => !(name in PROXIES));
  if (unknown.length > 0) {
    throw new Error(
      `unknown proxy ${unknown.map((name) => `"${name}"`).join(', ')} (expected ${PROXY_NAMES.join(', ')})`,
    );
  }
  return [...new Set(names)] as ProxyName[];
}

export interface ProxyValue {
  /** null when the proxy failed; `failure` says why. */
  readonly value: number | null;
  readonly seconds: number;
  readonly failure?: string;
}

export type ProxyScores = Partial<Record<ProxyName, ProxyValue>>;

export interface ProxyOptions {
  readonly names: readonly ProxyName[];
  /** The initialisation the network is scored at (the protocol's). */
  readonly init: WeightInit;
  readonly seed: number;
  readonly batchSize?: number;
  readonly ntkBatchSize?: number;
  readonly threads?: number;
  readonly device?: string;
}

/** Builds the architecture with the given initialisation and scores it on a batch of `data`. */
export async function computeProxies(
  architecture: Architecture,
  data: TensorData,
  options: ProxyOptions,
): Promise<ProxyScores> {
  const network = Network.build(architecture, {
    init: options.init,
    seed: options.seed,
    ...(options.device ? { device: options.device } : {}),
  });
  const scores: ProxyScores = {};
  for (const name of options.names) {
    if (name === 'params') scores.params = { value: network.summary.params, seconds: 0 };
    if (name === 'flops') scores.flops = { value: network.summary.flops, seconds: 0 };
  }
  const engineNames = options.names.filter((name) => PROXIES[name].engine);
  if (engineNames.length === 0) return scores;
  const result = await network.proxies(data, {
    names: engineNames,
    batchSize: options.batchSize ?? DEFAULT_PROXY_BATCH,
    ntkBatchSize: options.ntkBatchSize ?? DEFAULT_NTK_BATCH,
    seed: options.seed,
    ...(options.threads ? { threads: options.threads } : {}),
  });
  for (const name of engineNames) {
    const score = result.scores[name];
    scores[name] = score
      ? {
          value: score.value,
          seconds: score.seconds,
          ...(score.failure ? { failure: score.failure } : {}),
        }
      : { value: null, seconds: 0, failure: 'the engine returned no score' };
  }
  return scores;
}

/**
 * A score turned so that higher always means better, with failures (null, NaN) at -Infinity:
 * what rankings and votes compare.
 */
export function orientedScore(name: ProxyName, value: number | null | undefined): number {
  if (value === null || value === undefined || !Number.isFinite(value)) return -Infinity;
  return PROXIES[name].direction === 'maximize' ? value : -value;
}

/**
 * One proxy's scores over a set of architectures, turned so that higher is better, with failures
 * just below the worst real score: finite numbers that rank correlations and votes can rank.
 */
export function rankableScores(
  name: ProxyName,
  values: readonly (number | null | undefined)[],
): number[] {
  const oriented = values.map((value) => orientedScore(name, value));
  const finite = oriented.filter((value) => Number.isFinite(value));
  const floor = finite.length > 0 ? Math.min(...finite) - 1 : 0;
  return oriented.map((value) => (Number.isFinite(value) ? value : floor));
}

/**
 * The rank vote of several proxies over a set of architectures (Abdelfattah et al. 2021): each
 * proxy ranks the set (1 = worst, ties share their mean rank, failures last), and an
 * architecture's vote is its mean rank over the proxies, divided by the set size so it lies in
 * (0, 1]. Higher is better. Relative to the set: add architectures and the votes change.
 */
export function rankVote(
  rows: readonly Partial<Record<ProxyName, number | null>>[],
  names: readonly ProxyName[],
): number[] {
  if (names.length === 0) throw new Error('a rank vote needs at least one proxy');
  return sumOverProxies(rows, names, (rank) => rank).map((sum) => sum / names.length / rows.length);
}

/** For each row, the sum over `names` of `term` of the row's rank by that proxy (1 = worst). */
function sumOverProxies(
  rows: readonly Partial<Record<ProxyName, number | null>>[],
  names: readonly ProxyName[],
  term: (rank: number) => number,
): number[] {
  const totals = new Array<number>(rows.length).fill(0);
  for (const name of names) {
    const ranks = averageRanks(
      rankableScores(
        name,
        rows.map((row) => row[name]),
      ),
    );
    ranks.forEach((rank, index) => {
      totals[index] = (totals[index] as number) + term(rank);
    });
  }
  return totals;
}

/**
 * AZ-NAS's non-linear rank aggregation over a set of architectures: each proxy ranks the set
 * (1 = worst, ties share their mean rank, failures last) and an architecture scores
 * sum over proxies of log(rank / set size). Higher is better; a low rank on any one proxy costs
 * much more than a high rank gains, so it favours networks good on every component. Relative to
 * the set, like {@link rankVote}; nothing in it is fitted.
 */
export function logRankAggregate(
  rows: readonly Partial<Record<ProxyName, number | null>>[],
  names: readonly ProxyName[],
): number[] {
  if (names.length === 0) throw new Error('a rank aggregation needs at least one proxy');
  return sumOverProxies(rows, names, (rank) => Math.log(rank / rows.length));
}
