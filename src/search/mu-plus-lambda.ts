/**
 * The (mu+lambda) evolution strategy: `mu` parents breed `lambda` offspring per generation, and
 * the next parents are the best `mu` of parents and offspring together, so a parent survives
 * for as long as nothing better turns up.
 *
 * Generation 0 is `mu` samples. Each offspring is, with probability `crossoverProbability`, a
 * child of the space's crossover of two distinct parents drawn uniformly, then mutated
 * (`crossover+mutate`, both parents recorded); otherwise a mutation of one parent drawn
 * uniformly (`mutate`). Survivors are chosen by `ranking.ts` with one objective, and by NSGA-II
 * rank and crowding distance with several (constraints per Deb in both cases); on ties
 * offspring are preferred to parents, so the search can drift across plateaus.
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
  type BaseStrategyOptions,
  type VariationContext,
} from './common.js';
import { environmentalSelection } from './pareto.js';
import { sortByRanking } from './ranking.js';
import type { Constraint, Evaluated, Objective, Proposal, Strategy } from './strategy.js';

export interface MuPlusLambdaOptions<G> extends BaseStrategyOptions<G> {
  /** Parents kept per generation, and initial samples (default: populationSize, else 10). */
  readonly mu?: number;
  /** Offspring per generation (default: mu). */
  readonly lambda?: number;
  /** Alias of `mu`, so every strategy takes the same settings. */
  readonly populationSize?: number;
  /** Probability that an offspring comes from crossover and mutation rather than mutation only (default 0.5). */
  readonly crossoverProbability?: number;
}

const NAME = 'mu+lambda';
const DEFAULT_MU = 10;

const shape = {
  ...baseOptionsShape,
  mu: intOption('mu', 1).optional(),
  lambda: intOption('lambda', 1).optional(),
  populationSize: intOption('populationSize', 1).optional(),
  crossoverProbability: probabilityOption('crossoverProbability').default(0.5),
};

const optionsSchema = z
  .strictObject(shape)
  .refine(
    (o) => o.mu === undefined || o.populationSize === undefined || o.mu === o.populationSize,
    {
      error: 'mu and populationSize (its alias) disagree: give one of them',
      path: ['mu'],
    },
  );

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  generation: z.number().int().min(0),
  batch: batchSchema,
  parents: z.array(memberSchema),
});

export class MuPlusLambda<G> implements Strategy<G> {
  readonly name = NAME;
  private readonly space: SearchSpace<G>;
  private readonly target: CompileTarget;
  private readonly objectives: readonly Objective[];
  private readonly constraints: readonly Constraint[];
  private readonly mu: number;
  private readonly lambda: number;
  private readonly crossoverProbability: number;
  private readonly fingerprint: string;
  private random: Random;
  private generationIndex = 0;
  private batch: GenerationBatch<G>;
  private survivors: Evaluated<G>[] = [];
  private askedCount = 0;
  private toldCount = 0;

  constructor(options: MuPlusLambdaOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    this.space = options.space;
    this.target = options.target;
    this.objectives = o.objectives;
    this.constraints = o.constraints;
    this.mu = o.mu ?? o.populationSize ?? DEFAULT_MU;
    this.lambda = o.lambda ?? this.mu;
    this.crossoverProbability = o.crossoverProbability;
    this.fingerprint = optionsFingerprint({
      space: o.space,
      target: o.target,
      objectives: o.objectives,
      constraints: o.constraints,
      seed: o.seed,
      mu: this.mu,
      lambda: this.lambda,
      crossoverProbability: o.crossoverProbability,
    });
    this.random = new Random(o.seed);
    this.batch = GenerationBatch.of(
      this.space,
      isRestoring() ? [] : sampleProposals(this.context(), this.mu),
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

  /** The current `mu` parents, best first (empty during generation 0). */
  parents(): Evaluated<G>[] {
    return [...this.survivors];
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
    if (results.length > 0 && this.batch.complete) this.nextGeneration();
  }

  private context(): VariationContext<G> {
    return { space: this.space, target: this.target, random: this.random };
  }

  private select(candidates: readonly Evaluated<G>[]): Evaluated<G>[] {
    if (this.objectives.length === 1) {
      return sortByRanking(candidates, this.objectives, this.constraints).slice(0, this.mu);
    }
    return environmentalSelection(candidates, this.mu, this.objectives, this.constraints).map(
      (i) => candidates[i] as Evaluated<G>,
    );
  }

  private nextGeneration(): void {
    this.survivors = this.select([...this.batch.told(), ...this.survivors]);
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
    this.generationIndex += 1;
    this.batch = GenerationBatch.of(space, offspring);
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
      parents: this.survivors.map((m) => memberToJSON(this.space, m)),
    };
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: MuPlusLambdaOptions<G>): MuPlusLambda<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new MuPlusLambda(options));
    checkSnapshotOptions(NAME, data.options, strategy.fingerprint);
    const first = data.generation === 0;
    checkSnapshot(
      NAME,
      data.batch.proposals.length === (first ? strategy.mu : strategy.lambda) &&
        data.parents.length === (first ? 0 : strategy.mu),
      `generation ${String(data.generation)} has ${String(data.batch.proposals.length)} ` +
        `proposals and ${String(data.parents.length)} parents`,
    );
    strategy.random = Random.fromState(data.random);
    strategy.askedCount = data.asked;
    strategy.toldCount = data.told;
    strategy.generationIndex = data.generation;
    strategy.batch = GenerationBatch.fromJSON(NAME, strategy.space, data.batch);
    strategy.survivors = data.parents.map((m) => memberFromJSON(NAME, strategy.space, m));
    return strategy;
  }
}
