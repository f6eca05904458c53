/**
 * Self-adaptive mutation for every space (the evolution-strategy scheme of Schwefel and Bäck):
 * each genome carries its own mutation rate, which is perturbed log-normally and inherited, so
 * rates whose offspring survive selection spread through the population without anyone tuning
 * them.
 *
 * The wrapper leaves the inner space's operators alone and decides only how far a mutation goes:
 * a child first draws its rate, rate' = clamp(rate * exp(tau * N(0, 1)), minRate, maxRate), and
 * then receives 1 + Binomial(maxSteps - 1, rate') applications of the inner space's mutation, so
 * a high rate makes large jumps and a low rate a single small step. The child keeps rate'.
 *
 * Crossover is the inner crossover; both children get the geometric mean of their parents' rates
 * (intermediate recombination on the log scale, where the perturbation lives: the arithmetic mean
 * would bias rates upward, and the geometric mean of a rate with itself is that rate).
 *
 * `format`, `parse` and `compile` see the network only: the canonical text (what deduplication
 * and result tables key on) is the inner space's, so two genomes that differ only in their rate
 * are the same network. `toJSON` keeps the rate (`{ network, rate }`), so a resumed run restores
 * every genome's rate; `fromJSON` also reads a bare inner genome (rate = initialRate), so stores
 * of runs without self-adaptation still load.
 *
 * `name` is the inner space's name: the run store, result tables (`table:` evaluator), the
 * evaluation request and strategy snapshots name the space by it, and a self-adaptive `cells`
 * space searches the same networks as the plain one, so keying on `cells` stays correct.
 */
import { z } from 'zod';
import type { Random } from '../util/random.js';
import { OptionsError, describeSchemaIssues } from '../util/unknown-keys.js';
import type { Architecture } from './ir.js';
import type { CompileTarget, SearchSpace } from './space.js';
import { compileMixture } from './mixture.js';

/** A genome with its own mutation rate, in [minRate, maxRate]. */
export interface SelfAdaptiveGenome<G> {
  readonly network: G;
  readonly rate: number;
}

/**
 * Default learning rate tau: 1/sqrt(2) (Schwefel's global tau0 = 1/sqrt(2n) with n = 1, one
 * self-adapted parameter per genome). A large value on purpose: a NAS run lasts tens of
 * generations rather than thousands, and with tau = 0.71 one standard deviation multiplies or
 * divides the rate by about 2, so selection can move rates across [0.01, 1] within a run.
 * Values of 0.1 to 0.3 suit long runs where a smoother adaptation matters more than its speed.
 */
export const DEFAULT_LEARNING_RATE = Math.SQRT1_2;

export const selfAdaptiveOptionsSchema = z
  .strictObject({
    /** Rate of sampled and parsed genomes (and of bare inner genomes read from JSON). */
    initialRate: z
      .number({ error: 'initialRate must be a number' })
      .gt(0, 'initialRate must be greater than 0')
      .max(1, 'initialRate must be at most 1'),
    /** tau: the standard deviation of the rate's log-normal perturbation per mutation. */
    learningRate: z
      .number({ error: 'learningRate must be a number' })
      .min(0, 'learningRate must be at least 0 (0 keeps every rate fixed)')
      .max(10, 'learningRate must be at most 10'),
    minRate: z
      .number({ error: 'minRate must be a number' })
      .gt(0, 'minRate must be greater than 0 (rates are perturbed on the log scale)')
      .max(1, 'minRate must be at most 1'),
    maxRate: z
      .number({ error: 'maxRate must be a number' })
      .gt(0, 'maxRate must be greater than 0')
      .max(1, 'maxRate must be at most 1 (a rate is a probability per extra step)'),
    /** The most inner mutations one mutation applies (one is always applied). */
    maxSteps: z
      .number({ error: 'maxSteps must be a number' })
      .int('maxSteps must be an integer')
      .min(1, 'maxSteps must be at least 1')
      .max(100, 'maxSteps must be at most 100'),
  })
  .superRefine((o, context) => {
    if (o.minRate > o.maxRate) {
      context.addIssue({
        code: 'custom',
        path: ['minRate'],
        message: `minRate (${o.minRate}) must not exceed maxRate (${o.maxRate})`,
      });
    } else if (o.initialRate < o.minRate || o.initialRate > o.maxRate) {
      context.addIssue({
        code: 'custom',
        path: ['initialRate'],
        message: `initialRate must lie in [minRate, maxRate] = [${o.minRate}, ${o.maxRate}], got ${o.initialRate}`,
      });
    }
  });

export type SelfAdaptiveOptions = z.infer<typeof selfAdaptiveOptionsSchema>;
export type SelfAdaptiveOptionsInput = Partial<SelfAdaptiveOptions>;

export const DEFAULT_SELF_ADAPTIVE: SelfAdaptiveOptions = {
  initialRate: 0.3,
  learningRate: DEFAULT_LEARNING_RATE,
  minRate: 0.01,
  maxRate: 1,
  maxSteps: 5,
};

/** Validates (defaults filled in); throws an error naming each bad option. */
export function parseSelfAdaptiveOptions(options: unknown = {}): SelfAdaptiveOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error('self-adaptive mutation options must be a mapping of options');
  }
  const parsed = selfAdaptiveOptionsSchema.safeParse({ ...DEFAULT_SELF_ADAPTIVE, ...options });
  if (!parsed.success) {
    throw new OptionsError(
      'invalid self-adaptive mutation options',
      describeSchemaIssues(parsed.error, selfAdaptiveOptionsSchema, 'option'),
    );
  }
  return parsed.data;
}

/** The rate clamped to [minRate, maxRate]. */
function clampRate(rate: number, minRate: number, maxRate: number): number {
  return Math.min(maxRate, Math.max(minRate, rate));
}

/** rate * exp(tau * N(0, 1)), clamped to [minRate, maxRate]: a child's rate. */
export function perturbRate(
  rate: number,
  options: Pick<SelfAdaptiveOptions, 'learningRate' | 'minRate' | 'maxRate'>,
  random: Random,
): number {
  return clampRate(
    rate * Math.exp(options.learningRate * random.normal()),
    options.minRate,
    options.maxRate,
  );
}

/**
 * How many inner mutations one mutation at `rate` applies: 1 + Binomial(maxSteps - 1, rate), so
 * between 1 and maxSteps, 1 + (maxSteps - 1) * rate on average. Deterministic for the state of
 * `random` (maxSteps - 1 draws).
 */
export function mutationSteps(rate: number, maxSteps: number, random: Random): number {
  let steps = 1;
  for (let i = 1; i < maxSteps; i++) if (random.bool(rate)) steps++;
  return steps;
}

/** The mean of {@link mutationSteps}: 1 + (maxSteps - 1) * rate. */
export function expectedMutationSteps(rate: number, maxSteps: number): number {
  return 1 + (maxSteps - 1) * rate;
}

/** The genome's own mutation rate; undefined for a genome of a space without self-adaptation. */
export function mutationRateOf(genome: SelfAdaptiveGenome<unknown>): number;
export function mutationRateOf(genome: unknown): number | undefined;
export function mutationRateOf(genome: unknown): number | undefined {
  if (typeof genome !== 'object' || genome === null) return undefined;
  const { network, rate } = genome as { network?: unknown; rate?: unknown };
  return network !== undefined && typeof rate === 'number' ? rate : undefined;
}

const storedSchema = z.strictObject({
  network: z.unknown(),
  rate: z.number({ error: 'rate must be a number' }),
});

export class SelfAdaptiveSpace<G> implements SearchSpace<SelfAdaptiveGenome<G>> {
  readonly name: string;
  readonly options: SelfAdaptiveOptions;

  constructor(
    readonly inner: SearchSpace<G>,
    options: SelfAdaptiveOptionsInput = {},
  ) {
    this.options = parseSelfAdaptiveOptions(options);
    this.name = inner.name;
  }

  private wrap(network: G, rate = this.options.initialRate): SelfAdaptiveGenome<G> {
    return { network, rate };
  }

  sample(random: Random, target: CompileTarget): SelfAdaptiveGenome<G> {
    return this.wrap(this.inner.sample(random, target));
  }

  /** Perturbs the rate, then applies the inner mutation 1 + Binomial(maxSteps - 1, rate') times. */
  mutate(
    genome: SelfAdaptiveGenome<G>,
    random: Random,
    target: CompileTarget,
  ): SelfAdaptiveGenome<G> {
    const rate = perturbRate(genome.rate, this.options, random);
    const steps = mutationSteps(rate, this.options.maxSteps, random);
    let network = genome.network;
    for (let i = 0; i < steps; i++) network = this.inner.mutate(network, random, target);
    return this.wrap(network, rate);
  }

  /** The inner crossover; both children get the geometric mean of the parents' rates. */
  crossover(
    a: SelfAdaptiveGenome<G>,
    b: SelfAdaptiveGenome<G>,
    random: Random,
    target: CompileTarget,
  ): [SelfAdaptiveGenome<G>, SelfAdaptiveGenome<G>] {
    const [first, second] = this.inner.crossover(a.network, b.network, random, target);
    const rate = clampRate(Math.sqrt(a.rate * b.rate), this.options.minRate, this.options.maxRate);
    return [this.wrap(first, rate), this.wrap(second, rate)];
  }

  format(genome: SelfAdaptiveGenome<G>): string {
    return this.inner.format(genome.network);
  }

  parse(text: string): SelfAdaptiveGenome<G> {
    return this.wrap(this.inner.parse(text));
  }

  toJSON(genome: SelfAdaptiveGenome<G>): unknown {
    return { network: this.inner.toJSON(genome.network), rate: genome.rate };
  }

  /** `{ network, rate }`, or a bare inner genome (from a run without self-adaptation). */
  fromJSON(value: unknown): SelfAdaptiveGenome<G> {
    const isWrapped =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      'network' in value &&
      'rate' in value;
    if (!isWrapped) return this.wrap(this.inner.fromJSON(value));
    const parsed = storedSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(
        `not a self-adaptive genome ({"network": ..., "rate": number}): ${parsed.error.issues
          .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
          .join('; ')}`,
      );
    }
    const { network, rate } = parsed.data;
    const { minRate, maxRate } = this.options;
    if (!Number.isFinite(rate) || rate < minRate || rate > maxRate) {
      throw new Error(
        `self-adaptive genome: rate must lie in [minRate, maxRate] = [${minRate}, ${maxRate}], got ${rate}`,
      );
    }
    return this.wrap(this.inner.fromJSON(network), rate);
  }

  compile(genome: SelfAdaptiveGenome<G>, target: CompileTarget): Architecture {
    return this.inner.compile(genome.network, target);
  }

  /** The inner space's mixture (cells mix per position), or whole networks mixed. */
  compileMixture(genomes: readonly SelfAdaptiveGenome<G>[], target: CompileTarget): Architecture {
    return compileMixture(
      this.inner,
      genomes.map((genome) => genome.network),
      target,
    );
  }
}
