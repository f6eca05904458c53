/**
 * The `proxies` evaluator: scores every candidate with the training-free proxies instead of
 * training it, in milliseconds. Each proxy is a metric named `proxy_<name>` (with `params` and
 * `flops`), so objectives can name them, e.g. `{ metric: proxy_synflow, direction: maximize }`
 * (docs/proxies-and-predictor.md lists each proxy's direction). A proxy that fails leaves its
 * metric out, which ranks the candidate last on that objective. Nothing is trained: a result
 * spends no epochs (`fidelity` 0), so budget such runs by evaluations or generations.
 */
import type { PreparedData } from './prepared-data.js';
import { DEFAULT_PROXY_BATCH, PROXY_NAMES, computeProxies } from './proxies.js';
import {
  type CandidateEvaluator,
  type CandidateResult,
  type EvaluationRequest,
  failedCandidateResult,
  untrainedResult,
} from './evaluator.js';

export class ProxyEvaluator implements CandidateEvaluator {
  readonly description: string;
  readonly identity: Readonly<Record<string, unknown>>;
  readonly concurrency = 1;

  constructor(
    private readonly data: PreparedData,
    private readonly batchSize = DEFAULT_PROXY_BATCH,
  ) {
    this.description = `training-free proxies on a batch of ${batchSize} images (no training)`;
    // definitions 2: grad_norm and snip accumulate the two halves' gradients; AZ-NAS added.
    // definitions 3: ntk_cond holds batch norm's statistics constant.
    this.identity = { evaluator: 'proxies', batchSize, definitions: 3 };
  }

  async evaluate(request: EvaluationRequest): Promise<CandidateResult> {
    const startedAt = new Date().toISOString();
    try {
      const scores = await computeProxies(request.architecture, this.data.train, {
        names: PROXY_NAMES,
        init: request.settings.protocol.init,
        seed: request.settings.seed,
        batchSize: this.batchSize,
        ...(request.settings.threads ? { threads: request.settings.threads } : {}),
        device: request.settings.device,
      });
      const metrics: Record<string, number> = {};
      let seconds = 0;
      for (const name of PROXY_NAMES) {
        const score = scores[name];
        seconds += score?.seconds ?? 0;
        if (score?.value === null || score?.value === undefined) continue;
        if (name === 'params' || name === 'flops') metrics[name] = score.value;
        else metrics[`proxy_${name}`] = score.value;
      }
      metrics.proxy_seconds = seconds;
      return untrainedResult(metrics, startedAt);
    } catch (error) {
      return failedCandidateResult(error, startedAt);
    }
  }

  close(): Promise<void> {
    this.data.release();
    return Promise.resolve();
  }
}
