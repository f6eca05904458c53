/**
 * A predictor-guided search in the style of BANANAS (White et al. 2021, "BANANAS: Bayesian
 * optimization with neural architectures for neural architecture search"):
 *
 * 1. The first `populationSize` proposals are samples.
 * 2. Then, batch after batch: an ensemble of `ensembleSize` surrogates is fitted on every result
 *    told so far (the first objective, as a cost; failed results and results without it left
 *    out); `candidates` candidates are made by mutating (1 to `maxMutations` times) architectures
 *    drawn from the `parents` best so far, those already proposed dropped; each candidate gets an
 *    acquisition value from the ensemble's mean and spread, and the `batchSize` best are proposed.
 *    The ensemble is refitted once the batch is told.
 *
 * Acquisitions: `its` (independent Thompson sampling, BANANAS's default: one draw per candidate
 * from a normal with the ensemble's mean and standard deviation) or `ucb` (mean minus `ucbBeta`
 * standard deviations, on the cost).
 *
 * The surrogate and the encoding may be injected (the benchmark gives NAS-Bench-201 cells their
 * path and graph features from evaluate/predictor/); by default the encoding is the one-hot of
 * each (position, token) of the canonical text (for a cell, the op on each edge) and each member
 * of the ensemble is gradient-boosted trees (src/util/gbdt.ts) with its own seed and row and
 * feature subsamples, fitted to the ranks of the costs. An injected function is not part of the
 * snapshot: restore with the same one.
 */
import { z } from 'zod';
import { fitBoostedTrees } from '../util/gbdt.js';
import {
  baseOptionsShape,
  checkCount,
  constructForRestore,
  intOption,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  PendingProposals,
  proposalSchema,
  SeededStrategy,
  snapshotHeader,
  type BaseStrategyOptions,
} from './common.js';
import { objectiveCost } from './pareto.js';
import type { Evaluated, Objective, Proposal } from './strategy.js';

/** A fitted surrogate: predicted costs (lower is better) of encoded architectures. */
export interface FittedSurrogate {
  predict(rows: readonly (readonly number[])[]): number[];
}

/** Fits one member of the ensemble; `seed` differs per member and per refit. */
export type SurrogateFactory = (
  rows: readonly (readonly number[])[],
  targets: readonly number[],
  seed: number,
) => FittedSurrogate;

export interface BananasOptions<G> extends BaseStrategyOptions<G> {
  /** Samples before the first fit (default 10, at least 2). */
  readonly populationSize?: number;
  /** Proposals per fit (default 5). */
  readonly batchSize?: number;
  /** Members of the ensemble (default 5, at least 2 for a spread). */
  readonly ensembleSize?: number;
  /** Candidates scored per batch (default 100). */
  readonly candidates?: number;
  /** Best architectures the candidates are mutated from (default 3). */
  readonly parents?: number;
  /** Most mutations per candidate (default 2). */
  readonly maxMutations?: number;
  readonly acquisition?: 'its' | 'ucb';
  /** Standard deviations subtracted from the mean cost by `ucb` (default 1). */
  readonly ucbBeta?: number;
  /** Features of an architecture; default: one-hot (position, token) of its canonical text. */
  readonly encode?: (genome: G) => number[];
  /** Default: gradient-boosted trees. */
  readonly surrogate?: SurrogateFactory;
}

export const BANANAS_NAME = 'bananas';
const NAME = BANANAS_NAME;

const shape = {
  ...baseOptionsShape,
  populationSize: intOption('populationSize', 2).default(10),
  batchSize: intOption('batchSize', 1).default(5),
  ensembleSize: intOption('ensembleSize', 2).default(5),
  candidates: intOption('candidates', 1).default(100),
  parents: intOption('parents', 1).default(3),
  maxMutations: intOption('maxMutations', 1).default(2),
  acquisition: z
    .enum(['its', 'ucb'], { error: 'acquisition is "its" (Thompson sampling) or "ucb"' })
    .default('its'),
  ucbBeta: z
    .number({ error: 'ucbBeta must be a number' })
    .min(0, 'ucbBeta must be at least 0')
    .default(1),
};
const optionsSchema = z
  .strictObject({
    ...shape,
    encode: z
      .custom<(genome: unknown) => number[]>((v) => typeof v === 'function', {
        error: 'encode must be a function from a genome to numbers',
      })
      .optional(),
    surrogate: z
      .custom<SurrogateFactory>((v) => typeof v === 'function', {
        error: 'surrogate must be a function (rows, targets, seed) => { predict }',
      })
      .optional(),
  })
  .refine((o) => o.constraints.length === 0, {
    error: 'constraints are not modelled by bananas; leave them out',
    path: ['constraints'],
  });

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  sampled: z.number().int().min(0),
  fits: z.number().int().min(0),
  proposed: z.array(z.string()),
  observations: z.array(z.object({ text: z.string(), cost: z.number(), id: z.string() })),
  queue: z.array(z.object({ text: z.string(), parents: z.array(z.string()) })),
  pending: z.array(proposalSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

/** The default surrogate: boosted trees, small enough to refit after every batch. */
export const boostedTreesSurrogate: SurrogateFactory = (rows, targets, seed) =>
  fitBoostedTrees(rows, targets, {
    trees: 60,
    depth: 3,
    learningRate: 0.1,
    minLeaf: 2,
    subsample: 0.8,
    colsample: 0.7,
    seed,
  });

const TOKEN_SPLIT = /[\s|+;,]+/;

/** One-hot (position, token) features over a vocabulary grown from the texts given. */
class TokenEncoder {
  private readonly ids = new Map<string, number>();

  constructor(texts: Iterable<string>) {
    for (const text of texts) {
      text
        .split(TOKEN_SPLIT)
        .filter((t) => t !== '')
        .forEach((token, position) => {
          const key = `${position}\u0000${token}`;
          if (!this.ids.has(key)) this.ids.set(key, this.ids.size);
        });
    }
  }

  encode(text: string): number[] {
    const row = new Array<number>(this.ids.size).fill(0);
    text
      .split(TOKEN_SPLIT)
      .filter((t) => t !== '')
      .forEach((token, position) => {
        const id = this.ids.get(`${position}\u0000${token}`);
        if (id !== undefined) row[id] = 1;
      });
    return row;
  }
}

/** Each value's rank as a fraction in [0, 1] (ties share their mean rank). */
function rankFractions(values: readonly number[]): number[] {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => (values[i] as number) - (values[j] as number),
  );
  const out = new Array<number>(n);
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && values[order[end + 1] as number] === values[order[start] as number])
      end++;
    for (let k = start; k <= end; k++)
      out[order[k] as number] = n > 1 ? (start + end) / 2 / (n - 1) : 0;
    start = end + 1;
  }
  return out;
}

interface Observation {
  readonly text: string;
  readonly cost: number;
  readonly id: string;
}

export class Bananas<G> extends SeededStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly o: z.output<typeof optionsSchema>;
  private readonly objective: Objective;
  private readonly encodeGenome: ((genome: G) => number[]) | undefined;
  private readonly surrogate: SurrogateFactory;
  private observations: Observation[] = [];
  private proposed = new Set<string>();
  private queue: { text: string; parents: string[] }[] = [];
  private sampled = 0;
  private fits = 0;
  private pending = new PendingProposals<G>();

  constructor(options: BananasOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, [
      ...Object.keys(shape),
      'encode',
      'surrogate',
    ]);
    super(options, o, optionsFingerprint(o));
    this.o = o;
    this.objective = o.objectives[0] as Objective;
    this.encodeGenome = options.encode;
    this.surrogate = options.surrogate ?? boostedTreesSurrogate;
  }

  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const proposals: Proposal<G>[] = [];
    while (proposals.length < count) {
      let proposal: Proposal<G> | undefined;
      if (this.sampled < this.o.populationSize) {
        proposal = {
          genome: this.space.sample(this.random, this.target),
          parents: [],
          operator: 'sample',
        };
        this.sampled += 1;
      } else {
        if (this.queue.length === 0 && this.pending.size === 0) this.queue = this.nextBatch();
        const next = this.queue.shift();
        if (next === undefined) break;
        proposal = {
          genome: this.space.parse(next.text),
          parents: next.parents,
          operator: next.parents.length > 0 ? 'mutate' : 'sample',
        };
      }
      this.proposed.add(this.space.format(proposal.genome));
      this.pending.add(this.space, proposal);
      proposals.push(proposal);
    }
    this.askedCount += proposals.length;
    return proposals;
  }

  /** The next batch: candidates by mutation of the best, ranked by the acquisition. */
  private nextBatch(): { text: string; parents: string[] }[] {
    const observed = this.observations;
    if (observed.length < 2) {
      const genome = this.space.sample(this.random, this.target);
      return [{ text: this.space.format(genome), parents: [] }];
    }
    const best = [...observed].sort((a, b) => a.cost - b.cost).slice(0, this.o.parents);
    const candidates = new Map<string, { genome: G; parents: string[] }>();
    const tries = this.o.candidates * 20;
    for (let t = 0; t < tries && candidates.size < this.o.candidates; t++) {
      const parent = best[this.random.int(0, best.length - 1)] as Observation;
      let genome = this.space.parse(parent.text);
      const mutations = this.random.int(1, this.o.maxMutations);
      for (let m = 0; m < mutations; m++)
        genome = this.space.mutate(genome, this.random, this.target);
      const text = this.space.format(genome);
      if (this.proposed.has(text) || candidates.has(text)) continue;
      candidates.set(text, { genome, parents: [parent.id] });
    }
    if (candidates.size === 0) {
      // Every neighbour of the best is known: sample instead.
      for (let t = 0; t < tries && candidates.size < this.o.batchSize; t++) {
        const genome = this.space.sample(this.random, this.target);
        const text = this.space.format(genome);
        if (!this.proposed.has(text)) candidates.set(text, { genome, parents: [] });
      }
      if (candidates.size === 0) {
        const genome = this.space.sample(this.random, this.target);
        return [{ text: this.space.format(genome), parents: [] }];
      }
    }
    const texts = [...candidates.keys()];
    const tokens =
      this.encodeGenome === undefined ? new TokenEncoder(observed.map((o) => o.text)) : undefined;
    const encode = (text: string, genome?: G): number[] =>
      tokens !== undefined
        ? tokens.encode(text)
        : (this.encodeGenome as (g: G) => number[])(genome ?? this.space.parse(text));
    const rows = observed.map((o) => encode(o.text));
    const targets = rankFractions(observed.map((o) => o.cost));
    const candidateRows = texts.map((text) => encode(text, candidates.get(text)?.genome));
    const predictions: number[][] = [];
    for (let m = 0; m < this.o.ensembleSize; m++) {
      const member = this.surrogate(rows, targets, this.o.seed * 1_000_003 + this.fits * 101 + m);
      predictions.push(member.predict(candidateRows));
    }
    this.fits += 1;
    const scored = texts.map((text, i) => {
      const values = predictions.map((p) => p[i] as number);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(
        values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1),
      );
      const value =
        this.o.acquisition === 'its'
          ? mean + sd * this.random.normal()
          : mean - this.o.ucbBeta * sd;
      return { text, value, parents: candidates.get(text)?.parents ?? [] };
    });
    scored.sort((a, b) => a.value - b.value);
    return scored.slice(0, this.o.batchSize).map(({ text, parents }) => ({ text, parents }));
  }

  tell(results: readonly Evaluated<G>[]): void {
    const members = this.pending.resolve(NAME, this.space, results);
    for (const member of members) {
      if (member.status === 'failed') continue;
      const cost = objectiveCost(member.metrics, this.objective);
      if (!Number.isFinite(cost)) continue;
      this.observations.push({ text: this.space.format(member.genome), cost, id: member.id });
    }
    this.toldCount += results.length;
  }

  protected snapshotState(): Record<string, unknown> {
    return {
      sampled: this.sampled,
      fits: this.fits,
      proposed: [...this.proposed],
      observations: this.observations.map((o) => ({ ...o })),
      queue: this.queue.map((q) => ({ text: q.text, parents: [...q.parents] })),
      pending: this.pending.toJSON(this.space),
    };
  }

  protected restoreState(data: Snapshot): void {
    this.sampled = data.sampled;
    this.fits = data.fits;
    this.proposed = new Set(data.proposed);
    this.observations = data.observations.map((o) => ({ ...o }));
    this.queue = data.queue.map((q) => ({ text: q.text, parents: [...q.parents] }));
    this.pending = PendingProposals.fromJSON(NAME, this.space, data.pending);
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: BananasOptions<G>): Bananas<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new Bananas(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
