/**
 * NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002): many objectives at once, e.g. the whole
 * accuracy / parameters / FLOPs trade-off, with constraints by Deb's constrained dominance
 * (feasible beats infeasible, less violation beats more, then Pareto dominance).
 *
 * Generation 0 is `populationSize` samples. Each later generation is `populationSize` offspring
 * of the current population: parents by binary tournament on (front rank, then larger crowding
 * distance), the second parent from the others; crossover with probability
 * `crossoverProbability` (each child then mutated with probability `mutationProbability`),
 * otherwise both parents mutated, so no offspring is an unmodified copy. When a generation has
 * been told, the next population is the best `populationSize` of population and offspring by
 * non-dominated sorting, the last front that fits being cut by crowding distance.
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
import { environmentalSelection, paretoFront, rankAndCrowding } from './pareto.js';
import type { Constraint, Evaluated, Objective, Proposal, Strategy } from './strategy.js';

export interface Nsga2Options<G> extends BaseStrategyOptions<G> {
  /** Population and offspring per generation (default 20, at least 2). */
  readonly populationSize?: number;
  /** Probability that a pair of parents is crossed (default 0.9). */
  readonly crossoverProbability?: number;
  /** Probability that a crossover child is mutated (default 0.8); other children always are. */
  readonly mutationProbability?: number;
}

const NAME = 'nsga2';

const shape = {
  ...baseOptionsShape,
  populationSize: intOption('populationSize', 2).default(20),
  crossoverProbability: probabilityOption('crossoverProbability').default(0.9),
  mutationProbability: probabilityOption('mutationProbability').default(0.8),
};

const optionsSchema = z.strictObject(shape);

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  generation: z.number().int().min(0),
  batch: batchSchema,
  population: z.array(memberSchema),
});

export class NSGA2<G> implements Strategy<G> {
  readonly name = NAME;
  private readonly space: SearchSpace<G>;
  private readonly target: CompileTarget;
  private readonly objectives: readonly Objective[];
  private readonly constraints: readonly Constraint[];
  private readonly populationSize: number;
  private readonly crossoverProbability: number;
  private readonly mutationProbability: number;
  private readonly fingerprint: string;
  private random: Random;
  private generationIndex = 0;
  private batch: GenerationBatch<G>;
  private members: Evaluated<G>[] = [];
  private askedCount = 0;
  private toldCount = 0;

  constructor(options: Nsga2Options<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    this.space = options.space;
    this.target = options.target;
    this.objectives = o.objectives;
    this.constraints = o.constraints;
    this.populationSize = o.populationSize;
    this.crossoverProbability = o.crossoverProbability;
    this.mutationProbability = o.mutationProbability;
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

  /** The current population (the survivors of the last completed generation). */
  population(): Evaluated<G>[] {
    return [...this.members];
  }

  /**
   * The first front of the evaluated candidates held now (the population and the offspring
   * told so far): with constraints, only feasible candidates when any is feasible.
   */
  front(): Evaluated<G>[] {
    return paretoFront([...this.members, ...this.batch.told()], this.objectives, this.constraints);
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

  private nextGeneration(): void {
    const combined = [...this.members, ...this.batch.told()];
    const selected = environmentalSelection(
      combined,
      this.populationSize,
      this.objectives,
      this.constraints,
    );
    const population = selected.map((i) => combined[i] as Evaluated<G>);
    const { rank, crowding } = rankAndCrowding(population, this.objectives, this.constraints);
    const better = (i: number, j: number): boolean => {
      const ri = rank[i] ?? 0;
      const rj = rank[j] ?? 0;
      if (ri !== rj) return ri < rj;
      return (crowding[i] ?? 0) > (crowding[j] ?? 0);
    };
    const offspring: Proposal<G>[] = [];
    while (offspring.length < this.populationSize) {
      const i = tournament(this.random, population.length, 2, undefined, better);
      const j = tournament(this.random, population.length, 2, i, better);
      offspring.push(
        ...vary(
          this.context(),
          population[i] as Evaluated<G>,
          population[j] as Evaluated<G>,
          this.crossoverProbability,
          this.mutationProbability,
          this.populationSize - offspring.length,
        ),
      );
    }
    this.members = population;
    this.generationIndex += 1;
    this.batch = GenerationBatch.of(this.space, offspring);
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
      population: this.members.map((m) => memberToJSON(this.space, m)),
    };
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: Nsga2Options<G>): NSGA2<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new NSGA2(options));
    checkSnapshotOptions(NAME, data.options, strategy.fingerprint);
    checkSnapshot(
      NAME,
      data.batch.proposals.length === strategy.populationSize &&
        data.population.length === (data.generation === 0 ? 0 : strategy.populationSize),
      `generation ${String(data.generation)} has ${String(data.batch.proposals.length)} ` +
        `proposals and a population of ${String(data.population.length)}`,
    );
    strategy.random = Random.fromState(data.random);
    strategy.askedCount = data.asked;
    strategy.toldCount = data.told;
    strategy.generationIndex = data.generation;
    strategy.batch = GenerationBatch.fromJSON(NAME, strategy.space, data.batch);
    strategy.members = data.population.map((m) => memberFromJSON(NAME, strategy.space, m));
    return strategy;
  }
}
