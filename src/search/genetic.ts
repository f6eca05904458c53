/**
 * A generational genetic algorithm: tournament selection, the space's crossover (one-point,
 * uniform or whatever the space implements) and mutation, and elitism.
 *
 * Generation 0 is `populationSize` samples. Each later generation is `populationSize - elitism`
 * children bred from the previous generation's pool (its told candidates plus the elites it
 * carried), and the best `elitism` candidates of that pool are carried over without being
 * evaluated again. `ask` hands out the current generation's proposals until none are left,
 * then returns `[]` until all of them have been told; the last `tell` breeds the next one.
 *
 * Breeding: two parents by tournament (the second from the others), crossover with probability
 * `crossoverProbability` giving two children, each mutated with probability
 * `mutationProbability`; when there is no crossover both parents are mutated, so no child is an
 * unmodified copy. Candidates rank by `ranking.ts` (feasible first, then the first objective).
 *
 * With a pre-screen (the search proposes more than it trains), the candidates the screen kept
 * from training are not parents: they carry no measured fitness, and at the worst fitness they
 * would still win the tournaments drawn among themselves. Breeding draws from the trained ones
 * (unless fewer than two were trained).
 */
import { z } from 'zod';
import {
  baseOptionsShape,
  checkSnapshot,
  constructForRestore,
  intOption,
  memberFromJSON,
  memberSchema,
  memberToJSON,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  probabilityOption,
  snapshotHeader,
  tournamentOffspring,
  type BaseStrategyOptions,
} from './common.js';
import { dartsTournamentOption, generationFields, GenerationalStrategy } from './generational.js';
import { compareKeys, rankingKey, type RankingKey } from './ranking.js';
import { type Evaluated, type Proposal, SCREENED_OUT_METRIC } from './strategy.js';

export interface GeneticAlgorithmOptions<G> extends BaseStrategyOptions<G> {
  /** Candidates per generation, elites included (default 20, at least 2). */
  readonly populationSize?: number;
  /** Candidates drawn (with replacement) per tournament (default 3, or populationSize if smaller). */
  readonly tournamentSize?: number;
  /** Probability that a pair of parents is crossed (default 0.9). */
  readonly crossoverProbability?: number;
  /** Probability that a crossover child is mutated (default 0.8); other children always are. */
  readonly mutationProbability?: number;
  /** Best candidates carried into the next generation unevaluated (default 1). */
  readonly elitism?: number;
}

const NAME = 'ga';

const shape = {
  ...baseOptionsShape,
  dartsTournament: dartsTournamentOption,
  populationSize: intOption('populationSize', 2).default(20),
  tournamentSize: intOption('tournamentSize', 1).optional(),
  crossoverProbability: probabilityOption('crossoverProbability').default(0.9),
  mutationProbability: probabilityOption('mutationProbability').default(0.8),
  elitism: intOption('elitism', 0).default(1),
};

const optionsSchema = z
  .strictObject(shape)
  .refine((o) => o.populationSize < 2 || o.elitism < o.populationSize, {
    error: 'elitism must be less than populationSize',
    path: ['elitism'],
  })
  .refine(
    (o) =>
      o.tournamentSize === undefined ||
      o.populationSize < 2 ||
      o.tournamentSize <= o.populationSize,
    {
      error: 'tournamentSize must be at most populationSize',
      path: ['tournamentSize'],
    },
  );

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  ...generationFields,
  elites: z.array(memberSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

export class GeneticAlgorithm<G> extends GenerationalStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly populationSize: number;
  private readonly tournamentSize: number;
  private readonly crossoverProbability: number;
  private readonly mutationProbability: number;
  private readonly elitism: number;
  private carried: Evaluated<G>[] = [];

  constructor(options: GeneticAlgorithmOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    super(options, o, optionsFingerprint(o), o.populationSize);
    this.tournamentSchedule = o.dartsTournament;
    this.populationSize = o.populationSize;
    this.tournamentSize = o.tournamentSize ?? Math.min(3, o.populationSize);
    this.crossoverProbability = o.crossoverProbability;
    this.mutationProbability = o.mutationProbability;
    this.elitism = o.elitism;
  }

  /** Candidates carried into the current generation, best first. */
  elites(): Evaluated<G>[] {
    return [...this.carried];
  }

  /** The current generation's evaluated members: its elites, then its told candidates. */
  population(): Evaluated<G>[] {
    return [...this.carried, ...this.selectable()];
  }

  protected breed(): Proposal<G>[] {
    const everyone = this.population();
    const trained = everyone.filter((m) => m.metrics[SCREENED_OUT_METRIC] === undefined);
    const pool = trained.length >= 2 ? trained : everyone;
    const keys = pool.map((m) => rankingKey(m, this.objectives, this.constraints));
    const compare = (i: number, j: number): number =>
      compareKeys(keys[i] as RankingKey, keys[j] as RankingKey);
    const better = (i: number, j: number): boolean => compare(i, j) < 0;
    const ranked = pool.map((_, i) => i).sort((i, j) => compare(i, j) || i - j);
    const elites = ranked.slice(0, this.elitism).map((i) => pool[i] as Evaluated<G>);
    const children = tournamentOffspring(
      this.context(),
      pool,
      this.populationSize - this.elitism,
      this.tournamentSize,
      better,
      this.crossoverProbability,
      this.mutationProbability,
    );
    this.carried = elites;
    return children;
  }

  protected snapshotMembers(): Record<string, unknown> {
    return { elites: this.carried.map((m) => memberToJSON(this.space, m)) };
  }

  protected override checkRestorable(data: Snapshot): void {
    const expectedSize =
      data.generation === 0 ? this.populationSize : this.populationSize - this.elitism;
    checkSnapshot(
      NAME,
      data.batch.proposals.length === expectedSize,
      `generation ${String(data.generation)} has ${String(data.batch.proposals.length)} proposals, expected ${String(expectedSize)}`,
    );
    checkSnapshot(
      NAME,
      data.elites.length === (data.generation === 0 ? 0 : this.elitism),
      `${String(data.elites.length)} elites for elitism ${String(this.elitism)}`,
    );
  }

  protected restoreMembers(data: Snapshot): void {
    this.carried = data.elites.map((m) => memberFromJSON(NAME, this.space, m));
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: GeneticAlgorithmOptions<G>): GeneticAlgorithm<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new GeneticAlgorithm(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
