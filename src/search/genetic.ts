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
 */
import { z } from 'zod';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { Random } from '../util/random.js';
import {
  baseOptionsShape,
  batchSchema,
  checkCount,
  checkSnapshot,
  checkSnapshotOptions,
  constructForRestore,
  GenerationBatch,
  intOption,
  isRestoring,
  memberFromJSON,
  memberSchema,
  memberToJSON,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  probabilityOption,
  sampleProposals,
  snapshotHeader,
  SNAPSHOT_VERSION,
  tournament,
  vary,
  type BaseStrategyOptions,
  type VariationContext,
} from './common.js';
import { compareKeys, rankingKey, type RankingKey } from './ranking.js';
import type { Constraint, Evaluated, Objective, Proposal, Strategy } from './strategy.js';

export interface GeneticAlgorithmOptions<G> extends BaseStrategyOptions<G> {
  /** Candidates per generation, elites included (default 20, at least 2). */
  readonly populationSize?: number;
  /** Candidates drawn (with replacement) per tournament (default 3, 1 to populationSize). */
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
  populationSize: intOption('populationSize', 2).default(20),
  tournamentSize: intOption('tournamentSize', 1).default(3),
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
  .refine((o) => o.populationSize < 2 || o.tournamentSize <= o.populationSize, {
    error: 'tournamentSize must be at most populationSize',
    path: ['tournamentSize'],
  });

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  generation: z.number().int().min(0),
  batch: batchSchema,
  elites: z.array(memberSchema),
});

export class GeneticAlgorithm<G> implements Strategy<G> {
  readonly name = NAME;
  private readonly space: SearchSpace<G>;
  private readonly target: CompileTarget;
  private readonly objectives: readonly Objective[];
  private readonly constraints: readonly Constraint[];
  private readonly populationSize: number;
  private readonly tournamentSize: number;
  private readonly crossoverProbability: number;
  private readonly mutationProbability: number;
  private readonly elitism: number;
  private readonly fingerprint: string;
  private random: Random;
  private generationIndex = 0;
  private batch: GenerationBatch<G>;
  private carried: Evaluated<G>[] = [];
  private askedCount = 0;
  private toldCount = 0;

  constructor(options: GeneticAlgorithmOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    this.space = options.space;
    this.target = options.target;
    this.objectives = o.objectives;
    this.constraints = o.constraints;
    this.populationSize = o.populationSize;
    this.tournamentSize = o.tournamentSize;
    this.crossoverProbability = o.crossoverProbability;
    this.mutationProbability = o.mutationProbability;
    this.elitism = o.elitism;
    this.fingerprint = optionsFingerprint(o);
    this.random = new Random(o.seed);
    this.batch = GenerationBatch.of(
      this.space,
      isRestoring() ? [] : sampleProposals(this.context(), this.populationSize),
    );
  }

  /** The generation being evaluated (0 = the sampled one). */
  get generation(): number {
    return this.generationIndex;
  }

  /** Proposals handed out so far. */
  get asked(): number {
    return this.askedCount;
  }

  /** Results told so far. */
  get told(): number {
    return this.toldCount;
  }

  /** Candidates carried into the current generation, best first. */
  elites(): Evaluated<G>[] {
    return [...this.carried];
  }

  /** The current generation's evaluated members: its elites, then its told candidates. */
  population(): Evaluated<G>[] {
    return [...this.carried, ...this.batch.told()];
  }

  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const proposals = this.batch.take(count);
    this.askedCount += proposals.length;
    return proposals;
  }

  tell(results: readonly Evaluated<G>[]): void {
    this.batch.record(NAME, this.space, results);
    this.toldCount += results.length;
    if (results.length > 0 && this.batch.complete) this.breed();
  }

  private context(): VariationContext<G> {
    return { space: this.space, target: this.target, random: this.random };
  }

  private breed(): void {
    const pool = this.population();
    const keys = pool.map((m) => rankingKey(m, this.objectives, this.constraints));
    const compare = (i: number, j: number): number =>
      compareKeys(keys[i] as RankingKey, keys[j] as RankingKey);
    const better = (i: number, j: number): boolean => compare(i, j) < 0;
    const ranked = pool.map((_, i) => i).sort((i, j) => compare(i, j) || i - j);
    const elites = ranked.slice(0, this.elitism).map((i) => pool[i] as Evaluated<G>);
    const needed = this.populationSize - this.elitism;
    const children: Proposal<G>[] = [];
    while (children.length < needed) {
      const i = tournament(this.random, pool.length, this.tournamentSize, undefined, better);
      const j = tournament(this.random, pool.length, this.tournamentSize, i, better);
      children.push(
        ...vary(
          this.context(),
          pool[i] as Evaluated<G>,
          pool[j] as Evaluated<G>,
          this.crossoverProbability,
          this.mutationProbability,
          needed - children.length,
        ),
      );
    }
    this.carried = elites;
    this.generationIndex += 1;
    this.batch = GenerationBatch.of(this.space, children);
  }

  snapshot(): unknown {
    return {
      strategy: NAME,
      version: SNAPSHOT_VERSION,
      options: JSON.parse(this.fingerprint) as unknown,
      random: this.random.state,
      asked: this.askedCount,
      told: this.toldCount,
      generation: this.generationIndex,
      batch: this.batch.toJSON(this.space),
      elites: this.carried.map((m) => memberToJSON(this.space, m)),
    };
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: GeneticAlgorithmOptions<G>): GeneticAlgorithm<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new GeneticAlgorithm(options));
    checkSnapshotOptions(NAME, data.options, strategy.fingerprint);
    const expectedSize =
      data.generation === 0 ? strategy.populationSize : strategy.populationSize - strategy.elitism;
    checkSnapshot(
      NAME,
      data.batch.proposals.length === expectedSize,
      `generation ${String(data.generation)} has ${String(data.batch.proposals.length)} proposals, expected ${String(expectedSize)}`,
    );
    checkSnapshot(
      NAME,
      data.elites.length === (data.generation === 0 ? 0 : strategy.elitism),
      `${String(data.elites.length)} elites for elitism ${String(strategy.elitism)}`,
    );
    strategy.random = Random.fromState(data.random);
    strategy.askedCount = data.asked;
    strategy.toldCount = data.told;
    strategy.generationIndex = data.generation;
    strategy.batch = GenerationBatch.fromJSON(NAME, strategy.space, data.batch);
    strategy.carried = data.elites.map((m) => memberFromJSON(NAME, strategy.space, m));
    return strategy;
  }
}
