/**
 * Pre-screening: scores a generation's candidates without training them, so that only the most
 * promising are trained. Two scores:
 * - `vote`: the rank vote of training-free proxies over the generation (relative to it);
 * - `predictor`: the accuracy a trained predictor (`nascent predictor train`) expects.
 *
 * The proxies see one seeded mini-batch of the configured dataset's training images, which the
 * screen loads itself, so screening works with every evaluator (local, queue, table).
 */
import type { Architecture } from '../space/ir.js';
import { AccuracyPredictor } from '../evaluate/predictor.js';
import type { PreparedData } from '../evaluate/prepared-data.js';
import { getProtocol } from '../evaluate/protocols.js';
import {
  type ProxyName,
  type ProxyScores,
  computeProxies,
  prepareProxyImages,
  rankVote,
} from '../evaluate/proxies.js';
import { type SearchConfig, configuredProtocol } from './config.js';

export type ScreenSettings = NonNullable<SearchConfig['evaluation']['screen']>;

/** The metric a screened candidate's score is stored under. */
export const SCREEN_METRIC = { vote: 'proxy_vote', predictor: 'predicted_accuracy' } as const;
/** Set to 1 on candidates the screen kept from training. */
export const SCREENED_OUT_METRIC = 'screened_out';

export interface ScreenedCandidate {
  readonly id: string;
  readonly architecture: Architecture;
}

export interface ScreenVerdict {
  readonly id: string;
  /** Higher is better. */
  readonly score: number;
  /** 1-based rank in the generation. */
  readonly rank: number;
  /** Proxy scores (`proxy_<name>`) and the screen's score, to store with the candidate. */
  readonly metrics: Record<string, number>;
}

export class CandidateScreen {
  private constructor(
    readonly settings: ScreenSettings,
    private readonly data: PreparedData,
    private readonly predictor: AccuracyPredictor | undefined,
    private readonly config: SearchConfig,
  ) {}

  get description(): string {
    return this.settings.by === 'vote'
      ? `rank vote of ${this.settings.proxies.join(', ')}; the best ${this.settings.keep} of each generation are trained`
      : `predictor ${this.settings.predictor ?? ''}; the best ${this.settings.keep} of each generation are trained`;
  }

  /** The proxies computed per candidate: the vote's, or those the predictor reads. */
  get proxies(): readonly ProxyName[] {
    return this.settings.by === 'vote'
      ? this.settings.proxies
      : (this.predictor?.proxyFeatures ?? []);
  }

  static async create(
    config: SearchConfig,
    log: (message: string) => void,
  ): Promise<CandidateScreen> {
    const settings = config.evaluation.screen;
    if (!settings) throw new Error('the configuration asks for no screening');
    const predictor =
      settings.by === 'predictor' && settings.predictor !== undefined
        ? AccuracyPredictor.load(settings.predictor)
        : undefined;
    const protocol = getProtocol(configuredProtocol(config));
    const data = await prepareProxyImages(config.dataset.name, {
      dataDir: config.dataset.dataDir,
      batchSize: settings.batchSize,
      standardise: protocol.standardise,
      seed: config.seed,
      log,
    });
    return new CandidateScreen(settings, data, predictor, config);
  }

  /** Scores every candidate; ranks them within the given set (best first). */
  async score(candidates: readonly ScreenedCandidate[]): Promise<ScreenVerdict[]> {
    const protocol = getProtocol(configuredProtocol(this.config));
    const proxies: ProxyScores[] = [];
    for (const candidate of candidates) {
      proxies.push(
        this.proxies.length === 0
          ? {}
          : await computeProxies(candidate.architecture, this.data.train, {
              names: this.proxies,
              init: protocol.init,
              seed: this.config.seed,
              batchSize: this.settings.batchSize,
              ...(this.config.pool.threads ? { threads: this.config.pool.threads } : {}),
            }),
      );
    }
    const values = proxies.map((scores) =>
      Object.fromEntries(this.proxies.map((name) => [name, scores[name]?.value ?? null])),
    );
    const scores = this.predictor
      ? this.predictor.predict(
          candidates.map((candidate, i) => ({
            architecture: candidate.architecture,
            proxies: values[i] ?? {},
          })),
        )
      : rankVote(values, this.proxies);
    const metric = SCREEN_METRIC[this.settings.by];
    const order = scores
      .map((score, index) => ({ score, index }))
      .sort((a, b) => b.score - a.score || a.index - b.index);
    const ranks = new Array<number>(candidates.length);
    order.forEach((entry, position) => (ranks[entry.index] = position + 1));
    return candidates.map((candidate, i) => {
      const metrics: Record<string, number> = { [metric]: scores[i] as number };
      for (const name of this.proxies) {
        const value = proxies[i]?.[name]?.value;
        if (value !== null && value !== undefined) metrics[`proxy_${name}`] = value;
      }
      return { id: candidate.id, score: scores[i] as number, rank: ranks[i] as number, metrics };
    });
  }

  close(): void {
    this.data.release();
  }
}
