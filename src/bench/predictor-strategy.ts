/**
 * A predictor-screened random search, the `predictor` strategy of `nascent bench strategies`:
 *
 * 1. The first `populationSize` proposals are samples from the space.
 * 2. After that, each proposal draws `candidates` samples from the space, drops those already
 *    proposed (unless all are), scores the rest with a surrogate fitted on every result told so
 *    far, and proposes the one the surrogate ranks best (the first drawn on ties).
 *
 * The surrogate is ridge regression (penalty `ridge`, a fixed offset at the mean target) of the
 * first objective (as a cost: negated when maximised) on a generic encoding of the space's
 * canonical text: the text is cut into tokens at whitespace and `| + ; ,`, and each (position,
 * token) pair is one binary feature. For a NAS-Bench-201 arch string this is exactly the one-hot
 * encoding of the op on each of the six edges; for genome strings it is the parts' fields by
 * position. It is solved in its dual (kernel) form with a Cholesky factor extended by one row per
 * result, so a proposal costs O(n^2 + candidates * tokens) for n results.
 *
 * Failed results, and results without the first objective's metric, do not train the surrogate.
 * Constraints are not modelled and are refused. Like every strategy it is ask/tell with a JSON
 * snapshot; the surrogate is rebuilt from the snapshot's results on restore.
 */
import { z } from 'zod';
import {
  baseOptionsShape,
  constructForRestore,
  checkCount,
  intOption,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  PendingProposals,
  proposalSchema,
  SeededStrategy,
  snapshotHeader,
  type BaseStrategyOptions,
} from '../search/common.js';
import { objectiveCost } from '../search/pareto.js';
import type { Evaluated, Objective, Proposal } from '../search/strategy.js';

export interface PredictorStrategyOptions<G> extends BaseStrategyOptions<G> {
  /** Samples proposed before the surrogate is used (default 10, at least 2). */
  readonly populationSize?: number;
  /** Samples scored by the surrogate per proposal (default 100, at least 1). */
  readonly candidates?: number;
  /** Ridge penalty (default 1, positive). */
  readonly ridge?: number;
}

export const PREDICTOR_STRATEGY_NAME = 'predictor';
const NAME = PREDICTOR_STRATEGY_NAME;

const shape = {
  ...baseOptionsShape,
  populationSize: intOption('populationSize', 2).default(10),
  candidates: intOption('candidates', 1).default(100),
  ridge: z
    .number({ error: 'ridge must be a number' })
    .positive('ridge must be positive')
    .default(1),
};
const optionsSchema = z.strictObject(shape).refine((o) => o.constraints.length === 0, {
  error: 'constraints are not modelled by the predictor strategy; leave them out',
  path: ['constraints'],
});

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  sampled: z.number().int().min(0),
  /** Every text proposed so far, in order. */
  proposed: z.array(z.string()),
  /** The surrogate's training data, in the order it was told. */
  observations: z.array(z.object({ text: z.string(), cost: z.number() })),
  pending: z.array(proposalSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

/** Tokens of a canonical text: maximal runs of characters other than whitespace and `|+;,`. */
export function textTokens(text: string): string[] {
  return text.split(/[\s|+;,]+/).filter((token) => token !== '');
}

/**
 * Ridge regression on (position, token) one-hot features, in dual form: `K + ridge * I` (K the
 * Gram matrix: the number of positions two texts agree on) is kept as a Cholesky factor that
 * grows by one row per observation.
 */
export class TokenRidgeSurrogate {
  private readonly features = new Map<string, number>();
  private readonly rows: Int32Array[] = [];
  private readonly costs: number[] = [];
  private readonly factor: Float64Array[] = [];
  private weights: Float64Array | undefined;
  private offset = 0;

  constructor(private readonly ridge: number) {}

  get size(): number {
    return this.rows.length;
  }

  /** Feature ids of a text; unknown features are -1 unless `intern` adds them. */
  private encode(text: string, intern: boolean): Int32Array {
    const tokens = textTokens(text);
    const ids = new Int32Array(tokens.length);
    tokens.forEach((token, position) => {
      const key = `${position}\u0000${token}`;
      let id = this.features.get(key);
      if (id === undefined && intern) {
        id = this.features.size;
        this.features.set(key, id);
      }
      ids[position] = id ?? -1;
    });
    return ids;
  }

  /** Adds one observation (text, cost to minimise). */
  add(text: string, cost: number): void {
    const row = this.encode(text, true);
    const n = this.rows.length;
    const line = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      let sum = dot(row, this.rows[j] as Int32Array);
      const lj = this.factor[j] as Float64Array;
      for (let k = 0; k < j; k++) sum -= (line[k] as number) * (lj[k] as number);
      line[j] = sum / (lj[j] as number);
    }
    let diagonal = row.length + this.ridge;
    for (let k = 0; k < n; k++) diagonal -= (line[k] as number) ** 2;
    line[n] = Math.sqrt(Math.max(diagonal, this.ridge * 1e-9));
    this.factor.push(line);
    this.rows.push(row);
    this.costs.push(cost);
    this.weights = undefined;
  }

  /** Solves for the dual coefficients and turns them into one weight per feature. */
  private fit(): Float64Array {
    const n = this.rows.length;
    this.offset = n === 0 ? 0 : this.costs.reduce((a, b) => a + b, 0) / n;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const li = this.factor[i] as Float64Array;
      let sum = (this.costs[i] as number) - this.offset;
      for (let k = 0; k < i; k++) sum -= (li[k] as number) * (z[k] as number);
      z[i] = sum / (li[i] as number);
    }
    const alpha = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let sum = z[i] as number;
      for (let k = i + 1; k < n; k++)
        sum -= ((this.factor[k] as Float64Array)[i] as number) * (alpha[k] as number);
      alpha[i] = sum / ((this.factor[i] as Float64Array)[i] as number);
    }
    const weights = new Float64Array(this.features.size);
    for (let i = 0; i < n; i++) {
      for (const id of this.rows[i] as Int32Array)
        weights[id] = (weights[id] ?? 0) + (alpha[i] as number);
    }
    return weights;
  }

  /** Predicted cost of a text (the mean cost when nothing is known). */
  predict(text: string): number {
    this.weights ??= this.fit();
    let value = this.offset;
    for (const id of this.encode(text, false)) if (id >= 0) value += this.weights[id] as number;
    return value;
  }
}

/** Positions where two encoded texts have the same feature. */
function dot(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let count = 0;
  for (let i = 0; i < n; i++) if (a[i] === b[i]) count += 1;
  return count;
}

export class PredictorStrategy<G> extends SeededStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly populationSize: number;
  private readonly candidates: number;
  private readonly ridge: number;
  private readonly objective: Objective;
  private surrogate: TokenRidgeSurrogate;
  private observations: { text: string; cost: number }[] = [];
  private proposed: string[] = [];
  private proposedSet = new Set<string>();
  private sampled = 0;
  private pending = new PendingProposals<G>();

  constructor(options: PredictorStrategyOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    super(options, o, optionsFingerprint(o));
    this.populationSize = o.populationSize;
    this.candidates = o.candidates;
    this.ridge = o.ridge;
    this.objective = o.objectives[0] as Objective;
    this.surrogate = new TokenRidgeSurrogate(this.ridge);
  }

  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const proposals: Proposal<G>[] = [];
    for (let i = 0; i < count; i++) {
      const genome =
        this.sampled < this.populationSize || this.surrogate.size < 2
          ? this.space.sample(this.random, this.target)
          : this.screened();
      if (this.sampled < this.populationSize) this.sampled += 1;
      const proposal: Proposal<G> = { genome, parents: [], operator: 'sample' };
      this.remember(this.space.format(genome));
      this.pending.add(this.space, proposal);
      proposals.push(proposal);
    }
    this.askedCount += proposals.length;
    return proposals;
  }

  /** The best by the surrogate of `candidates` samples, preferring ones not yet proposed. */
  private screened(): G {
    let best: { genome: G; cost: number; fresh: boolean } | undefined;
    for (let i = 0; i < this.candidates; i++) {
      const genome = this.space.sample(this.random, this.target);
      const text = this.space.format(genome);
      const fresh = !this.proposedSet.has(text);
      if (best !== undefined && best.fresh && !fresh) continue;
      const cost = this.surrogate.predict(text);
      if (best === undefined || (fresh && !best.fresh) || cost < best.cost)
        best = { genome, cost, fresh };
    }
    return (best as { genome: G }).genome;
  }

  private remember(text: string): void {
    if (this.proposedSet.has(text)) return;
    this.proposedSet.add(text);
    this.proposed.push(text);
  }

  tell(results: readonly Evaluated<G>[]): void {
    const members = this.pending.resolve(NAME, this.space, results);
    for (const member of members) {
      if (member.status === 'failed') continue;
      const cost = objectiveCost(member.metrics, this.objective);
      if (!Number.isFinite(cost)) continue;
      const text = this.space.format(member.genome);
      this.observations.push({ text, cost });
      this.surrogate.add(text, cost);
    }
    this.toldCount += results.length;
  }

  protected snapshotState(): Record<string, unknown> {
    return {
      sampled: this.sampled,
      proposed: [...this.proposed],
      observations: this.observations.map((o) => ({ ...o })),
      pending: this.pending.toJSON(this.space),
    };
  }

  protected restoreState(data: Snapshot): void {
    this.sampled = data.sampled;
    this.proposed = [];
    this.proposedSet = new Set();
    for (const text of data.proposed) this.remember(text);
    this.observations = [];
    this.surrogate = new TokenRidgeSurrogate(this.ridge);
    for (const { text, cost } of data.observations) {
      this.observations.push({ text, cost });
      this.surrogate.add(text, cost);
    }
    this.pending = PendingProposals.fromJSON(NAME, this.space, data.pending);
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: PredictorStrategyOptions<G>): PredictorStrategy<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new PredictorStrategy(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
