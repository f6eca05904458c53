/**
 * Local search, as White et al. (2020, "Local search is state of the art for neural architecture
 * search benchmarks") run it:
 *
 * 1. The first `populationSize` proposals are samples; the best of them (by `ranking.ts`) is the
 *    current architecture.
 * 2. Its neighbourhood is every architecture one mutation away: the distinct results of up to
 *    `neighbourDraws` calls of the space's `mutate` (for a NAS-Bench-201 cell, which changes one
 *    edge to another op, the 24 cells one edge away). Each neighbour not evaluated yet is
 *    proposed, in the order drawn.
 * 3. Once the whole neighbourhood is known, the best neighbour becomes the current architecture if
 *    it is better than it (best improvement); with `firstImprovement`, the first told neighbour
 *    that is better does, and the rest of the neighbourhood is dropped.
 * 4. When no neighbour is better (a local optimum), the search restarts from a fresh sample.
 *
 * A neighbour already evaluated (by this search) is not proposed again; its result counts. Several
 * proposals may be outstanding: `ask` hands out the queued neighbours and returns fewer (or none)
 * while the next step waits for results. Like every strategy its whole state is a JSON snapshot.
 */
import { z } from 'zod';
import {
  baseOptionsShape,
  checkCount,
  constructForRestore,
  intOption,
  memberFromJSON,
  memberSchema,
  memberToJSON,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  PendingProposals,
  proposalSchema,
  SeededStrategy,
  snapshotHeader,
  type BaseStrategyOptions,
} from './common.js';
import { compareKeys, rankingKey } from './ranking.js';
import type { Evaluated, Proposal } from './strategy.js';

export interface LocalSearchOptions<G> extends BaseStrategyOptions<G> {
  /** Samples before the first climb (default 10, at least 1). */
  readonly populationSize?: number;
  /** Mutations drawn to find a neighbourhood (default 200, at least 1). */
  readonly neighbourDraws?: number;
  /** Move to the first better neighbour instead of the best of the whole neighbourhood. */
  readonly firstImprovement?: boolean;
}

export const LOCAL_SEARCH_NAME = 'local-search';
const NAME = LOCAL_SEARCH_NAME;

const shape = {
  ...baseOptionsShape,
  populationSize: intOption('populationSize', 1).default(10),
  neighbourDraws: intOption('neighbourDraws', 1).default(200),
  firstImprovement: z.boolean({ error: 'firstImprovement must be true or false' }).default(false),
};
const optionsSchema = z.strictObject(shape);

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  sampled: z.number().int().min(0),
  known: z.array(memberSchema),
  current: z.string().nullable(),
  centre: z.string().nullable(),
  neighbours: z.array(z.string()),
  queue: z.array(z.string()),
  restarting: z.boolean(),
  restarts: z.number().int().min(0),
  pending: z.array(proposalSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

export class LocalSearch<G> extends SeededStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly populationSize: number;
  private readonly neighbourDraws: number;
  private readonly firstImprovement: boolean;
  /** The latest result of every architecture told, by canonical text. */
  private known = new Map<string, Evaluated<G>>();
  /** The text of the current architecture (undefined before the first climb or while restarting). */
  private current: string | undefined;
  /** The architecture whose neighbourhood `neighbours` is. */
  private centre: string | undefined;
  private neighbours: string[] = [];
  /** Neighbours still to propose. */
  private queue: string[] = [];
  /** A restart sample is out: its result becomes the current architecture. */
  private restarting = false;
  private restartCount = 0;
  private sampled = 0;
  private pending = new PendingProposals<G>();

  constructor(options: LocalSearchOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    super(options, o, optionsFingerprint(o));
    this.populationSize = o.populationSize;
    this.neighbourDraws = o.neighbourDraws;
    this.firstImprovement = o.firstImprovement;
  }

  /** Restarts from a fresh sample so far (local optima left). */
  get restarts(): number {
    return this.restartCount;
  }

  private better(a: string, b: string): boolean {
    const ra = this.known.get(a);
    const rb = this.known.get(b);
    if (ra === undefined) return false;
    if (rb === undefined) return true;
    return (
      compareKeys(
        rankingKey(ra, this.objectives, this.constraints),
        rankingKey(rb, this.objectives, this.constraints),
      ) < 0
    );
  }

  private bestOf(texts: readonly string[]): string | undefined {
    let best: string | undefined;
    for (const text of texts) {
      if (!this.known.has(text)) continue;
      if (best === undefined || this.better(text, best)) best = text;
    }
    return best;
  }

  private sampleProposal(): Proposal<G> {
    return { genome: this.space.sample(this.random, this.target), parents: [], operator: 'sample' };
  }

  /** The distinct architectures one mutation away from `text`, in the order first drawn. */
  private neighbourhood(text: string): string[] {
    const genome = this.space.parse(text);
    const seen = new Set<string>([text]);
    const out: string[] = [];
    for (let draw = 0; draw < this.neighbourDraws; draw++) {
      const neighbour = this.space.format(this.space.mutate(genome, this.random, this.target));
      if (seen.has(neighbour)) continue;
      seen.add(neighbour);
      out.push(neighbour);
    }
    return out;
  }

  /**
   * The next proposal when no neighbour is queued and nothing is outstanding: moves, restarts or
   * queues a new neighbourhood. Undefined only while waiting for results.
   */
  private step(): Proposal<G> | undefined {
    for (;;) {
      if (this.current === undefined) {
        if (this.restarting) return undefined;
        if (this.centre === undefined && this.known.size > 0 && this.restartCount === 0) {
          this.current = this.bestOf([...this.known.keys()]);
        } else {
          this.restarting = true;
          this.restartCount += 1;
          return this.sampleProposal();
        }
        if (this.current === undefined) return undefined;
      }
      if (this.centre !== this.current) {
        this.centre = this.current;
        this.neighbours = this.neighbourhood(this.current);
        this.queue = this.neighbours.filter((text) => !this.known.has(text));
        if (this.queue.length > 0) return undefined;
      }
      const best = this.bestOf(this.neighbours);
      if (best !== undefined && this.better(best, this.current)) {
        this.current = best;
      } else {
        this.current = undefined;
        this.centre = undefined;
        this.neighbours = [];
        this.restarting = true;
        this.restartCount += 1;
        return this.sampleProposal();
      }
    }
  }

  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const proposals: Proposal<G>[] = [];
    const parents = (): string[] => {
      const id = this.current === undefined ? undefined : this.known.get(this.current)?.id;
      return id === undefined ? [] : [id];
    };
    while (proposals.length < count) {
      let proposal: Proposal<G> | undefined;
      if (this.sampled < this.populationSize) {
        proposal = this.sampleProposal();
        this.sampled += 1;
      } else {
        while (this.queue.length > 0 && this.known.has(this.queue[0] as string)) this.queue.shift();
        const next = this.queue.shift();
        if (next !== undefined) {
          proposal = { genome: this.space.parse(next), parents: parents(), operator: 'mutate' };
        } else if (this.pending.size === 0 && proposals.length === 0) {
          proposal = this.step();
          if (proposal === undefined && this.queue.length > 0) continue;
        }
      }
      if (proposal === undefined) break;
      this.pending.add(this.space, proposal);
      proposals.push(proposal);
    }
    this.askedCount += proposals.length;
    return proposals;
  }

  tell(results: readonly Evaluated<G>[]): void {
    const members = this.pending.resolve(NAME, this.space, results);
    for (const member of members) {
      const text = this.space.format(member.genome);
      this.known.set(text, member);
      if (this.restarting && member.parents.length === 0 && this.sampled >= this.populationSize) {
        this.restarting = false;
        this.current = text;
      } else if (
        this.firstImprovement &&
        this.current !== undefined &&
        this.centre === this.current &&
        this.neighbours.includes(text) &&
        this.better(text, this.current)
      ) {
        this.current = text;
        this.queue = [];
      }
    }
    this.toldCount += results.length;
  }

  protected snapshotState(): Record<string, unknown> {
    return {
      sampled: this.sampled,
      known: [...this.known.values()].map((m) => memberToJSON(this.space, m)),
      current: this.current ?? null,
      centre: this.centre ?? null,
      neighbours: [...this.neighbours],
      queue: [...this.queue],
      restarting: this.restarting,
      restarts: this.restartCount,
      pending: this.pending.toJSON(this.space),
    };
  }

  protected restoreState(data: Snapshot): void {
    this.sampled = data.sampled;
    this.known = new Map();
    for (const json of data.known) {
      const member = memberFromJSON(NAME, this.space, json);
      this.known.set(this.space.format(member.genome), member);
    }
    this.current = data.current ?? undefined;
    this.centre = data.centre ?? undefined;
    this.neighbours = [...data.neighbours];
    this.queue = [...data.queue];
    this.restarting = data.restarting;
    this.restartCount = data.restarts;
    this.pending = PendingProposals.fromJSON(NAME, this.space, data.pending);
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: LocalSearchOptions<G>): LocalSearch<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new LocalSearch(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
