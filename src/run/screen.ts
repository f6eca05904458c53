/**
 * Pre-screening: scores a generation's candidates without training them, so that only the most
 * promising are trained. Two scores:
 * - `vote`: the rank vote of training-free proxies over the generation (relative to it);
 * - `predictor`: the accuracy a trained predictor (`nascent predictor train`) expects;
 * - `online`: the accuracy an LSTM predictor expects that the search refits on its own trained
 *   candidates ({@link CandidateScreen.refit}), once it has `minExamples` of them and then
 *   whenever they have grown by `refitGrowth`; before the first fit, every candidate is kept.
 *
 * The proxies see one seeded mini-batch of the configured dataset's training images, which the
 * screen loads itself, so screening works with every evaluator (local, queue, table).
 */
import type { Architecture } from '../space/ir.js';
import { AccuracyPredictor, type PredictorExample } from '../evaluate/predictor.js';
import type { PreparedData } from '../evaluate/prepared-data.js';
import {
  type ProxyName,
  type ProxyScores,
  computeProxies,
  prepareProxyImages,
  rankVote,
} from '../evaluate/proxies.js';
import type { SearchConfig } from './config.js';
import type { RunPlan } from './plan.js';

export type ScreenSettings = NonNullable<SearchConfig['evaluation']['screen']>;

/** The metric a screened candidate's score is stored under. */
export const SCREEN_METRIC = {
  vote: 'proxy_vote',
  predictor: 'predicted_accuracy',
  online: 'predicted_accuracy',
} as const;
/** Set to 1 on candidates the screen kept from training. */
export { SCREENED_OUT_METRIC } from '../search/strategy.js';

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
  /** Examples the online predictor was last fitted on. */
  private fittedOn = 0;

  private constructor(
    readonly settings: ScreenSettings,
    /** The proxies' images; none for an online predictor, which reads layers only. */
    private readonly data: PreparedData | undefined,
    private predictor: AccuracyPredictor | undefined,
    private readonly plan: Pick<RunPlan, 'seed' | 'config' | 'protocol'>,
  ) {}

  get description(): string {
    const kept = `the best ${this.settings.keep} of each generation are trained`;
    switch (this.settings.by) {
      case 'vote':
        return `rank vote of ${this.settings.proxies.join(', ')}; ${kept}`;
      case 'predictor':
        return `predictor ${this.settings.predictor ?? ''}; ${kept}`;
      case 'online':
        return `LSTM predictor refitted on this run's trained candidates (from ${this.settings.minExamples}); ${kept}`;
    }
  }

  /** Whether the screen scores yet (an online predictor waits for its first examples). */
  get ready(): boolean {
    return this.settings.by !== 'online' || this.predictor !== undefined;
  }

  /**
   * The online predictor: refits an LSTM on the run's trained candidates, when there are at least
   * `minExamples` and, since the last fit, more of them by at least `refitGrowth` (a fraction).
   * Returns whether it refitted.
   */
  async refit(examples: readonly PredictorExample[]): Promise<boolean> {
    if (this.settings.by !== 'online') return false;
    if (examples.length < this.settings.minExamples || examples.length <= this.fittedOn)
      return false;
    if (
      this.predictor !== undefined &&
      examples.length < this.fittedOn * (1 + this.settings.refitGrowth)
    )
      return false;
    this.predictor = await AccuracyPredictor.train(examples, {
      kind: 'lstm',
      seed: this.plan.seed,
      ...(this.plan.config.pool.threads ? { threads: this.plan.config.pool.threads } : {}),
    });
    this.fittedOn = examples.length;
    return true;
  }

  /** The proxies computed per candidate: the vote's, or those the predictor reads. */
  get proxies(): readonly ProxyName[] {
    return this.settings.by === 'vote'
      ? this.settings.proxies
      : (this.predictor?.proxyFeatures ?? []);
  }

  static async create(plan: RunPlan, log: (message: string) => void): Promise<CandidateScreen> {
    const settings = plan.pruners.screen;
    if (!settings) throw new Error('the configuration asks for no screening');
    const predictor =
      settings.by === 'predictor' && settings.predictor !== undefined
        ? AccuracyPredictor.load(settings.predictor)
        : undefined;
    const needsImages = settings.by === 'vote' || (predictor?.proxyFeatures.length ?? 0) > 0;
    const data = needsImages
      ? await prepareProxyImages(plan.dataset.name, {
          dataDir: plan.dataset.selection.dataDir ?? undefined,
          batchSize: settings.batchSize,
          standardise: plan.protocol.standardise,
          seed: plan.seed,
          log,
        })
      : undefined;
    return new CandidateScreen(settings, data, predictor, plan);
  }

  /**
   * Scores every candidate; ranks them within the given set (best first). An online screen that
   * is not {@link ready} ranks every candidate first, with no score, so all are trained.
   */
  async score(candidates: readonly ScreenedCandidate[]): Promise<ScreenVerdict[]> {
    if (!this.ready)
      return candidates.map((candidate) => ({
        id: candidate.id,
        score: Number.NaN,
        rank: 1,
        metrics: {},
      }));
    const proxies: ProxyScores[] = [];
    for (const candidate of candidates) {
      proxies.push(
        this.proxies.length === 0 || !this.data
          ? {}
          : await computeProxies(candidate.architecture, this.data.train, {
              names: this.proxies,
              init: this.plan.protocol.init,
              seed: this.plan.seed,
              batchSize: this.settings.batchSize,
              ...(this.plan.config.pool.threads ? { threads: this.plan.config.pool.threads } : {}),
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
    this.data?.release();
  }
}
