/**
 * The genome-string space as a SearchSpace: sampling within bounds, mutations and crossover that
 * keep exactly two RC parts, and stable layer identities (each conv gene carries an id that
 * survives mutation and crossover, so a child can inherit its parents' trained weights by layer).
 */
import { z } from 'zod';
import type { Random } from '../util/random.js';
import { OptionsError, describeSchemaIssues } from '../util/unknown-keys.js';
import {
  type ConvGene,
  GENOME_LIMITS,
  type Genome,
  compileGenome,
  formatGenome,
  parseGenome,
} from './genome.js';
import { ACTIVATIONS, type Activation, type Architecture } from './ir.js';
import type { CompileTarget, SearchSpace } from './space.js';

export interface IdentifiedGene extends ConvGene {
  readonly id: string;
}

export interface SpaceGenome {
  readonly convs: readonly IdentifiedGene[];
  readonly finalActivation: Activation;
}

/** The options' fields, without the cross-field check (so configs can take a partial). */
export const genomeSpaceFieldsSchema = z
  .object({
    filters: z.array(z.number().int().min(1).max(GENOME_LIMITS.maxFilters)).min(1),
    kernels: z.array(z.number().int().min(1).max(GENOME_LIMITS.maxKernel)).min(1),
    activations: z.array(z.enum(ACTIVATIONS)).min(1),
    finalActivations: z.array(z.enum(ACTIVATIONS)).min(1),
    minNormal: z.number().int().min(0),
    maxNormal: z.number().int().min(0).max(16),
    crossover: z.enum(['one-point', 'uniform']),
  })
  .strict();
export const genomeSpaceOptionsSchema = genomeSpaceFieldsSchema.refine(
  (o) => o.minNormal <= o.maxNormal,
  'minNormal must not exceed maxNormal',
);
export type GenomeSpaceOptions = z.infer<typeof genomeSpaceOptionsSchema>;

export const DEFAULT_GENOME_SPACE: GenomeSpaceOptions = {
  filters: [2, 4, 8, 16, 24, 32, 48, 64],
  kernels: [1, 2, 3, 4, 5, 6, 7],
  activations: ['relu', 'sigmoid', 'tanh', 'swish', 'gelu', 'elu', 'leaky_relu'],
  finalActivations: ['relu', 'sigmoid', 'tanh', 'swish', 'gelu', 'elu', 'leaky_relu'],
  minNormal: 0,
  maxNormal: 4,
  crossover: 'one-point',
};

const ATTEMPTS = 50;

const geneSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['NC', 'RC']),
  filters: z.number().int(),
  kernel: z.number().int(),
  activation: z.enum(ACTIVATIONS),
});
const spaceGenomeSchema = z.object({
  convs: z.array(geneSchema),
  finalActivation: z.enum(ACTIVATIONS),
});

/** The five slots of a genome: NC run, RC, NC run, RC, NC run. */
type Slots = [IdentifiedGene[], IdentifiedGene, IdentifiedGene[], IdentifiedGene, IdentifiedGene[]];

function toSlots(genome: SpaceGenome): Slots {
  const runs: IdentifiedGene[][] = [[], [], []];
  const reductions: IdentifiedGene[] = [];
  for (const gene of genome.convs) {
    if (gene.kind === 'RC') reductions.push(gene);
    else (runs[reductions.length] as IdentifiedGene[]).push(gene);
  }
  const [first, second] = reductions;
  if (!first || !second || reductions.length !== 2)
    throw new Error('internal: genome without two RC');
  return [
    runs[0] as IdentifiedGene[],
    first,
    runs[1] as IdentifiedGene[],
    second,
    runs[2] as IdentifiedGene[],
  ];
}

function fromSlots(slots: Slots): IdentifiedGene[] {
  return [...slots[0], slots[1], ...slots[2], slots[3], ...slots[4]];
}

export class GenomeSpace implements SearchSpace<SpaceGenome> {
  readonly name = 'genome';
  readonly options: GenomeSpaceOptions;

  constructor(options: Partial<GenomeSpaceOptions> = {}) {
    const parsed = genomeSpaceOptionsSchema.safeParse({ ...DEFAULT_GENOME_SPACE, ...options });
    if (!parsed.success) {
      throw new OptionsError(
        'invalid genome space',
        describeSchemaIssues(parsed.error, genomeSpaceOptionsSchema, 'option'),
      );
    }
    this.options = parsed.data;
  }

  format(genome: SpaceGenome): string {
    return formatGenome(genome);
  }

  parse(text: string): SpaceGenome {
    const parsed = parseGenome(text);
    return {
      convs: parsed.convs.map((gene, index) => ({ ...gene, id: `g${index + 1}` })),
      finalActivation: parsed.finalActivation,
    };
  }

  toJSON(genome: SpaceGenome): unknown {
    return {
      convs: genome.convs.map((gene) => ({ ...gene })),
      finalActivation: genome.finalActivation,
    };
  }

  fromJSON(value: unknown): SpaceGenome {
    const parsed = spaceGenomeSchema.safeParse(value);
    if (!parsed.success)
      throw new Error(`not a genome-space genome: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  compile(genome: SpaceGenome, target: CompileTarget): Architecture {
    const plain: Genome = genome;
    return compileGenome(plain, { ...target, convIds: genome.convs.map((gene) => gene.id) });
  }

  private fits(genome: SpaceGenome, target: CompileTarget): boolean {
    const ids = new Set(genome.convs.map((gene) => gene.id));
    if (ids.size !== genome.convs.length) return false;
    const normal = genome.convs.length - 2;
    if (normal < this.options.minNormal || normal > this.options.maxNormal) return false;
    try {
      this.compile(genome, target);
      return true;
    } catch {
      return false;
    }
  }

  private newId(random: Random, taken: ReadonlySet<string>): string {
    for (;;) {
      const id = `g${random.nextUint32().toString(36)}`;
      if (!taken.has(id)) return id;
    }
  }

  private randomGene(kind: 'NC' | 'RC', random: Random, taken: Set<string>): IdentifiedGene {
    const id = this.newId(random, taken);
    taken.add(id);
    return {
      id,
      kind,
      filters: random.choice(this.options.filters),
      kernel: random.choice(this.options.kernels),
      activation: random.choice(this.options.activations),
    };
  }

  sample(random: Random, target: CompileTarget): SpaceGenome {
    for (let attempt = 0; attempt < ATTEMPTS * 4; attempt += 1) {
      const taken = new Set<string>();
      const normal = random.int(this.options.minNormal, this.options.maxNormal);
      const convs = Array.from({ length: normal }, () => this.randomGene('NC', random, taken));
      for (let r = 0; r < 2; r += 1) {
        convs.splice(random.int(0, convs.length), 0, this.randomGene('RC', random, taken));
      }
      const genome = { convs, finalActivation: random.choice(this.options.finalActivations) };
      if (this.fits(genome, target)) return genome;
    }
    throw new Error(
      `the genome space cannot produce a network for a ${target.input.height}x${target.input.width} input: kernels ${this.options.kernels.join(',')} are too large for two stride-2 reductions`,
    );
  }

  /** One random mutation, retried until the child differs from its parent and compiles. */
  mutate(genome: SpaceGenome, random: Random, target: CompileTarget): SpaceGenome {
    const parentText = this.format(genome);
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const child = this.mutateOnce(genome, random);
      if (this.format(child) !== parentText && this.fits(child, target)) return child;
    }
    return this.sample(random, target);
  }

  private mutateOnce(genome: SpaceGenome, random: Random): SpaceGenome {
    const convs = [...genome.convs];
    const taken = new Set(convs.map((gene) => gene.id));
    const index = random.int(0, convs.length - 1);
    const gene = convs[index] as IdentifiedGene;
    const normalIndices = convs.flatMap((g, i) => (g.kind === 'NC' ? [i] : []));
    const operators = [
      'filters',
      'kernel',
      'activation',
      'final',
      'insert',
      'remove',
      'move-rc',
      'swap',
    ] as const;
    switch (random.choice(operators)) {
      case 'filters':
        convs[index] = { ...gene, filters: random.choice(this.options.filters) };
        break;
      case 'kernel':
        convs[index] = { ...gene, kernel: random.choice(this.options.kernels) };
        break;
      case 'activation':
        convs[index] = { ...gene, activation: random.choice(this.options.activations) };
        break;
      case 'final':
        return { convs, finalActivation: random.choice(this.options.finalActivations) };
      case 'insert':
        convs.splice(random.int(0, convs.length), 0, this.randomGene('NC', random, taken));
        break;
      case 'remove':
        if (normalIndices.length > 0) convs.splice(random.choice(normalIndices), 1);
        break;
      case 'move-rc': {
        const rcIndices = convs.flatMap((g, i) => (g.kind === 'RC' ? [i] : []));
        const [moved] = convs.splice(random.choice(rcIndices), 1);
        convs.splice(random.int(0, convs.length), 0, moved as IdentifiedGene);
        break;
      }
      case 'swap': {
        if (convs.length < 2) break;
        const at = random.int(0, convs.length - 2);
        const [left, right] = [convs[at] as IdentifiedGene, convs[at + 1] as IdentifiedGene];
        convs[at] = right;
        convs[at + 1] = left;
        break;
      }
    }
    return { convs, finalActivation: genome.finalActivation };
  }

  /**
   * Crossover over the five slots (NC run, RC, NC run, RC, NC run), so each child has exactly two
   * RC: one-point cuts between slots; uniform takes each slot (and the FL activation) from either
   * parent. Children that do not compile are replaced by their parent, mutated.
   */
  crossover(
    a: SpaceGenome,
    b: SpaceGenome,
    random: Random,
    target: CompileTarget,
  ): [SpaceGenome, SpaceGenome] {
    const slotsA = toSlots(a);
    const slotsB = toSlots(b);
    const fromA: boolean[] =
      this.options.crossover === 'one-point'
        ? ((cut) => [0, 1, 2, 3, 4].map((slot) => slot < cut))(random.int(1, 4))
        : [0, 1, 2, 3, 4].map(() => random.bool());
    const build = (
      first: Slots,
      second: Slots,
      takeFirst: boolean[],
      final: Activation,
    ): SpaceGenome => {
      const slots = first.map((slot, i) => (takeFirst[i] ? slot : second[i])) as Slots;
      // Parents that share an ancestor share gene ids: a repeated id is a new layer in the child.
      const taken = new Set<string>();
      const convs = fromSlots(slots).map((gene) => {
        const id = taken.has(gene.id) ? this.newId(random, taken) : gene.id;
        taken.add(id);
        return id === gene.id ? gene : { ...gene, id };
      });
      return { convs, finalActivation: final };
    };
    const swapFinal = random.bool();
    const child1 = build(slotsA, slotsB, fromA, swapFinal ? b.finalActivation : a.finalActivation);
    const child2 = build(slotsB, slotsA, fromA, swapFinal ? a.finalActivation : b.finalActivation);
    return [
      this.fits(child1, target) ? child1 : this.mutate(a, random, target),
      this.fits(child2, target) ? child2 : this.mutate(b, random, target),
    ];
  }
}
