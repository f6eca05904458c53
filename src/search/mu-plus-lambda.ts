/**
 * The (mu+lambda) evolution strategy: `mu` parents breed `lambda` offspring per generation, and
 * the next parents are the best `mu` of parents and offspring together, so a parent survives
 * for as long as nothing better turns up.
 *
 * Generation 0 is `initialSize` samples (default `mu`): a larger one makes a random stage whose
 * best `mu` seed the evolution (the express workflow). Each offspring is, with probability `crossoverProbability`, a
 * child of the space's crossover of two distinct parents drawn uniformly, then mutated
 * (`crossover+mutate`, both parents recorded); otherwise a mutation of one parent drawn
 * uniformly (`mutate`). Survivors are chosen by `ranking.ts` with one objective, and by NSGA-II
 * rank and crowding distance with several (constraints per Deb in both cases); on ties
 * offspring are preferred to parents, so the search can drift across plateaus.
 */
import { z } from 'zod';
import {
  baseOptionsShape,
  distinctPool,
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
  type BaseStrategyOptions,
} from './common.js';
import { dartsTournamentOption, generationFields, GenerationalStrategy } from './generational.js';
import { environmentalSelection } from './pareto.js';
import { sortByRanking } from './ranking.js';
import type { Evaluated, Proposal } from './strategy.js';

export interface MuPlusLambdaOptions<G> extends BaseStrategyOptions<G> {
  /** Parents kept per generation, and initial samples (default: populationSize, else 10). */
  readonly mu?: number;
  /** Offspring per generation (default: mu). */
  readonly lambda?: number;
  /** Alias of `mu`, so every strategy takes the same settings. */
  readonly populationSize?: number;
  /** Probability that an offspring comes from crossover and mutation rather than mutation only (default 0.5). */
  readonly crossoverProbability?: number;
  /** Random samples in generation 0, at least mu (default mu); its best mu become the parents. */
  readonly initialSize?: number;
}

const NAME = 'mu+lambda';
const DEFAULT_MU = 10;

const shape = {
  ...baseOptionsShape,
  dartsTournament: dartsTournamentOption,
  mu: intOption('mu', 1).optional(),
  lambda: intOption('lambda', 1).optional(),
  populationSize: intOption('populationSize', 1).optional(),
  crossoverProbability: probabilityOption('crossoverProbability').default(0.5),
  initialSize: intOption('initialSize', 1).optional(),
};

const optionsSchema = z
  .strictObject(shape)
  .refine(
    (o) => o.mu === undefined || o.populationSize === undefined || o.mu === o.populationSize,
    {
      error: 'mu and populationSize (its alias) disagree: give one of them',
      path: ['mu'],
    },
  )
  .refine(
    (o) => o.initialSize === undefined || o.initialSize >= (o.mu ?? o.populationSize ?? DEFAULT_MU),
    { error: 'initialSize must be at least mu', path: ['initialSize'] },
  );

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  ...generationFields,
  parents: z.array(memberSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

export class MuPlusLambda<G> extends GenerationalStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly mu: number;
  private readonly lambda: number;
  private readonly crossoverProbability: number;
  private readonly initialSize: number;
  private survivors: Evaluated<G>[] = [];

  constructor(options: MuPlusLambdaOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    const mu = o.mu ?? o.populationSize ?? DEFAULT_MU;
    const lambda = o.lambda ?? mu;
    const initialSize = o.initialSize ?? mu;
    const fingerprint = optionsFingerprint({
      space: o.space,
      target: o.target,
      objectives: o.objectives,
      constraints: o.constraints,
      seed: o.seed,
      mu,
      lambda,
      crossoverProbability: o.crossoverProbability,
      ...(initialSize !== mu ? { initialSize } : {}),
      ...(o.dartsTournament ? { dartsTournament: o.dartsTournament } : {}),
    });
    super(options, o, fingerprint, initialSize);
    this.tournamentSchedule = o.dartsTournament;
    this.mu = mu;
    this.lambda = lambda;
    this.initialSize = initialSize;
    this.crossoverProbability = o.crossoverProbability;
  }

  /** The current `mu` parents, best first (empty during generation 0). */
  parents(): Evaluated<G>[] {
    return [...this.survivors];
  }

  private select(candidates: readonly Evaluated<G>[]): Evaluated<G>[] {
    if (this.objectives.length === 1) {
      return sortByRanking(candidates, this.objectives, this.constraints).slice(0, this.mu);
    }
    return environmentalSelection(candidates, this.mu, this.objectives, this.constraints).map(
      (i) => candidates[i] as Evaluated<G>,
    );
  }

  protected breed(): Proposal<G>[] {
    // After a DARTS tournament its winners survive, and the selection fills the other places.
    // Winners go first into the pool, so a parent that is the same network as a winner is the
    // duplicate dropped.
    const winners = this.tournamentWinners().slice(0, this.mu);
    const pool = distinctPool(
      this.space,
      [...winners, ...this.selectable(), ...this.survivors],
      this.mu,
    );
    this.survivors = [
      ...winners,
      ...this.select(pool.filter((member) => !winners.includes(member))).slice(
        0,
        this.mu - winners.length,
      ),
    ];
    const parents = this.survivors;
    const { space, target, random } = this.context();
    const offspring: Proposal<G>[] = [];
    while (offspring.length < this.lambda) {
      if (parents.length >= 2 && random.bool(this.crossoverProbability)) {
        const i = random.int(0, parents.length - 1);
        let j = random.int(0, parents.length - 2);
        if (j >= i) j += 1;
        const a = parents[i] as Evaluated<G>;
        const b = parents[j] as Evaluated<G>;
        const children = space.crossover(a.genome, b.genome, random, target);
        for (const child of children.slice(0, this.lambda - offspring.length)) {
          offspring.push({
            genome: space.mutate(child, random, target),
            parents: [a.id, b.id],
            operator: 'crossover+mutate',
          });
        }
      } else {
        const parent = parents[random.int(0, parents.length - 1)] as Evaluated<G>;
        offspring.push({
          genome: space.mutate(parent.genome, random, target),
          parents: [parent.id],
          operator: 'mutate',
        });
      }
    }
    return offspring;
  }

  protected snapshotMembers(): Record<string, unknown> {
    return { parents: this.survivors.map((m) => memberToJSON(this.space, m)) };
  }

  protected override checkRestorable(data: Snapshot): void {
    const first = data.generation === 0;
    checkSnapshot(
      NAME,
      data.batch.proposals.length === (first ? this.initialSize : this.lambda) &&
        data.parents.length === (first ? 0 : this.mu),
      `generation ${String(data.generation)} has ${String(data.batch.proposals.length)} ` +
        `proposals and ${String(data.parents.length)} parents`,
    );
  }

  protected restoreMembers(data: Snapshot): void {
    this.survivors = data.parents.map((m) => memberFromJSON(NAME, this.space, m));
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: MuPlusLambdaOptions<G>): MuPlusLambda<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new MuPlusLambda(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
