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
  tournamentOffspring,
  type BaseStrategyOptions,
} from './common.js';
import { dartsTournamentOption, generationFields, GenerationalStrategy } from './generational.js';
import { environmentalSelection, paretoFront, rankAndCrowding } from './pareto.js';
import type { Evaluated, Proposal } from './strategy.js';

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
  dartsTournament: dartsTournamentOption,
  populationSize: intOption('populationSize', 2).default(20),
  crossoverProbability: probabilityOption('crossoverProbability').default(0.9),
  mutationProbability: probabilityOption('mutationProbability').default(0.8),
};

const optionsSchema = z.strictObject(shape);

const snapshotSchema = z.object({
  ...snapshotHeader(NAME),
  ...generationFields,
  population: z.array(memberSchema),
});
type Snapshot = z.output<typeof snapshotSchema>;

export class NSGA2<G> extends GenerationalStrategy<G, Snapshot> {
  readonly name = NAME;
  private readonly populationSize: number;
  private readonly crossoverProbability: number;
  private readonly mutationProbability: number;
  private members: Evaluated<G>[] = [];

  constructor(options: Nsga2Options<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    super(options, o, optionsFingerprint(o), o.populationSize);
    this.tournamentSchedule = o.dartsTournament;
    this.populationSize = o.populationSize;
    this.crossoverProbability = o.crossoverProbability;
    this.mutationProbability = o.mutationProbability;
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
    return paretoFront([...this.members, ...this.selectable()], this.objectives, this.constraints);
  }

  protected breed(): Proposal<G>[] {
    const combined = distinctPool(
      this.space,
      [...this.members, ...this.selectable()],
      this.populationSize,
    );
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
    const offspring = tournamentOffspring(
      this.context(),
      population,
      this.populationSize,
      2,
      better,
      this.crossoverProbability,
      this.mutationProbability,
    );
    this.members = population;
    return offspring;
  }

  protected snapshotMembers(): Record<string, unknown> {
    return { population: this.members.map((m) => memberToJSON(this.space, m)) };
  }

  protected override checkRestorable(data: Snapshot): void {
    checkSnapshot(
      NAME,
      data.batch.proposals.length === this.populationSize &&
        data.population.length === (data.generation === 0 ? 0 : this.populationSize),
      `generation ${String(data.generation)} has ${String(data.batch.proposals.length)} ` +
        `proposals and a population of ${String(data.population.length)}`,
    );
  }

  protected restoreMembers(data: Snapshot): void {
    this.members = data.population.map((m) => memberFromJSON(NAME, this.space, m));
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: Nsga2Options<G>): NSGA2<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new NSGA2(options));
    strategy.restoreFrom(data);
    return strategy;
  }
}
