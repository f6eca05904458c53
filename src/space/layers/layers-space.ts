/**
 * The layer-list space as a SearchSpace: a sequence of layer genes (conv, max and average pool,
 * batch norm, dropout, dense) plus skip connections, compiled with the head described in
 * compile.ts, repaired as described in repair.ts, written as described in text.ts.
 *
 * Operators (each child is repaired, then checked against the options; a child that still does
 * not fit is drawn again, and after 50 tries the space falls back to a fresh sample or, in
 * crossover, to a mutation of the parent):
 * - sample: a random length in minLayers..maxLayers, layer types drawn with the weights
 *   conv 4, maxpool 1.5, avgpool 0.5, batchnorm 1, dropout 1, dense 1.5 (among `layerTypes`),
 *   values drawn from the options, then 0..maxSkips skips among the pairs that can be joined;
 * - mutate: one of add a layer, remove a layer, change one parameter of a layer (for a conv, also
 *   its batch norm where `convNorms` allows both forms), toggle a skip
 *   (remove one, or add one that can be joined); the child always differs from its parent;
 * - crossover: one-point with independent cut points (child 1 is a's layers before its cut and
 *   b's from its cut; child 2 the reverse), keeping each parent's skips that lie within the part
 *   it gives; a gene id that both parts hold (shared ancestry) gets a fresh id in the second part.
 */
import { z } from 'zod';
import type { Random } from '../../util/random.js';
import { OptionsError, describeSchemaIssues } from '../../util/unknown-keys.js';
import { ACTIVATIONS, type Architecture, type TensorShape, analyzeArchitecture } from '../ir.js';
import type { CompileTarget, SearchSpace } from '../space.js';
import { compileLayers } from './compile.js';
import {
  type ConvGene,
  GENE_ID_PATTERN,
  LAYER_KINDS,
  LAYER_LIMITS,
  type LayerGene,
  type LayerGenome,
  type LayerKind,
  type SkipGene,
} from './genes.js';
import { LayerSpaceError, diagnose, repair } from './repair.js';
import { fitSkip } from './shapes.js';
import { formatLayers, parseLayers } from './text.js';

/** The name configs and the command line use (`--space layers`). */
export const LAYER_SPACE_NAME = 'layers';

const int = (max: number) => z.number().int().min(1).max(max);
const choices = <T>(item: z.ZodType<T>, fallback: T[]) => z.array(item).min(1).default(fallback);

/**
 * The space's options; every field is optional. The defaults keep networks small enough to train
 * on two CPU cores for 28x28x1 and 32x32x3 inputs: at most 1.5 M parameters and 100 M FLOPs per
 * image (forward), which sampling and the operators enforce by drawing again.
 */
export const layerSpaceOptionsSchema = z
  .object({
    minLayers: int(LAYER_LIMITS.maxLayers).default(2),
    maxLayers: int(LAYER_LIMITS.maxLayers).default(10),
    /** Layer types that sampling and mutation may add. */
    layerTypes: choices(z.enum(LAYER_KINDS), [...LAYER_KINDS]),
    filters: choices(int(LAYER_LIMITS.maxFilters), [8, 16, 32, 64]),
    kernels: choices(int(LAYER_LIMITS.maxKernel), [1, 3, 5]),
    strides: choices(int(LAYER_LIMITS.maxStride), [1, 2]),
    poolKernels: choices(int(LAYER_LIMITS.maxKernel), [2, 3]),
    poolStrides: choices(int(LAYER_LIMITS.maxStride), [2]),
    denseUnits: choices(int(LAYER_LIMITS.maxUnits), [32, 64, 128, 256]),
    dropoutRates: choices(z.number().gt(0).lt(1), [0.1, 0.25, 0.5]),
    activations: choices(z.enum(ACTIVATIONS), [...ACTIVATIONS]),
    /**
     * Whether convolutions have batch norm before their activation (`conv ... bn relu`): [false]
     * (the default: never), [true] (always) or [false, true] (the search decides, and a mutation
     * may toggle it). A separate `batchnorm` layer (in `layerTypes`) follows an activation.
     * Under SGD at the standard protocol's rate, normalized maps flattened whole into the logits
     * can blow the first steps up; end such networks on a small map (BENCHMARKS.md measures it).
     */
    convNorms: choices(z.boolean(), [false]),
    maxSkips: z.number().int().min(0).max(16).default(2),
    maxParams: z.number().int().positive().default(1_500_000),
    maxFlops: z.number().int().positive().default(100_000_000),
  })
  .strict()
  .refine((o) => o.minLayers <= o.maxLayers, 'minLayers must not exceed maxLayers');
export type LayerSpaceOptions = z.infer<typeof layerSpaceOptionsSchema>;
export type LayerSpaceOptionsInput = z.input<typeof layerSpaceOptionsSchema>;

const ATTEMPTS = 50;
const SAMPLE_ATTEMPTS = 200;
const KIND_WEIGHTS: Readonly<Record<LayerKind, number>> = {
  conv: 4,
  maxpool: 1.5,
  avgpool: 0.5,
  batchnorm: 1,
  dropout: 1,
  dense: 1.5,
};

/** The conv gene with or without batch norm (`norm` left out when false: one form per genome). */
function withNorm(gene: ConvGene, norm: boolean): ConvGene {
  const { id, kind, filters, kernel, stride, activation } = gene;
  return { id, kind, filters, kernel, stride, ...(norm ? { norm: true } : {}), activation };
}

const geneId = z
  .string()
  .regex(GENE_ID_PATTERN, 'gene ids are "g" followed by lower-case letters and digits');
const activation = z.enum(ACTIVATIONS);
const layerGeneSchema = z.discriminatedUnion('kind', [
  z
    .object({
      id: geneId,
      kind: z.literal('conv'),
      filters: int(LAYER_LIMITS.maxFilters),
      kernel: int(LAYER_LIMITS.maxKernel),
      stride: int(LAYER_LIMITS.maxStride),
      norm: z.literal(true, { message: 'norm is true or left out' }).optional(),
      activation,
    })
    .strict(),
  z
    .object({
      id: geneId,
      kind: z.enum(['maxpool', 'avgpool']),
      kernel: int(LAYER_LIMITS.maxKernel),
      stride: int(LAYER_LIMITS.maxStride),
    })
    .strict(),
  z.object({ id: geneId, kind: z.literal('batchnorm') }).strict(),
  z.object({ id: geneId, kind: z.literal('dropout'), rate: z.number().gt(0).lt(1) }).strict(),
  z
    .object({ id: geneId, kind: z.literal('dense'), units: int(LAYER_LIMITS.maxUnits), activation })
    .strict(),
]);
const layerGenomeSchema = z
  .object({
    layers: z.array(layerGeneSchema).min(1).max(LAYER_LIMITS.maxLayers),
    skips: z.array(z.object({ from: geneId, to: geneId }).strict()),
  })
  .strict()
  .superRefine((genome, context) => {
    const position = new Map<string, number>();
    genome.layers.forEach((gene, index) => {
      if (position.has(gene.id)) {
        context.addIssue({
          code: 'custom',
          path: ['layers', index, 'id'],
          message: `repeats the id "${gene.id}" of an earlier layer`,
        });
      }
      position.set(gene.id, index);
    });
    const seen = new Set<string>();
    genome.skips.forEach((skip, index) => {
      const from = position.get(skip.from);
      const to = position.get(skip.to);
      const problem =
        from === undefined || to === undefined
          ? `names a layer id that is not in the list ("${from === undefined ? skip.from : skip.to}")`
          : from >= to
            ? 'a skip goes forward, from an earlier layer to a later one'
            : seen.has(`${skip.from} ${skip.to}`)
              ? 'repeats an earlier skip'
              : undefined;
      seen.add(`${skip.from} ${skip.to}`);
      if (problem) context.addIssue({ code: 'custom', path: ['skips', index], message: problem });
    });
  });

export class LayerListSpace implements SearchSpace<LayerGenome> {
  readonly name = LAYER_SPACE_NAME;
  readonly options: LayerSpaceOptions;

  /** @param options validated by {@link layerSpaceOptionsSchema}; unknown fields are refused. */
  constructor(options: LayerSpaceOptionsInput = {}) {
    const parsed = layerSpaceOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new OptionsError(
        'invalid layers space',
        describeSchemaIssues(parsed.error, layerSpaceOptionsSchema, 'option'),
      );
    }
    this.options = parsed.data;
  }

  format(genome: LayerGenome): string {
    return formatLayers(genome);
  }

  parse(text: string): LayerGenome {
    return parseLayers(text);
  }

  toJSON(genome: LayerGenome): unknown {
    return {
      layers: genome.layers.map((gene) => ({ ...gene })),
      skips: genome.skips.map((skip) => ({ from: skip.from, to: skip.to })),
    };
  }

  fromJSON(value: unknown): LayerGenome {
    const parsed = layerGenomeSchema.safeParse(value);
    if (!parsed.success) {
      throw new LayerSpaceError(
        `not a layers-space genome: ${parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}`,
      );
    }
    return parsed.data;
  }

  compile(genome: LayerGenome, target: CompileTarget): Architecture {
    return compileLayers(genome, target);
  }

  /** Whether a genome builds as it is and keeps within the options' bounds. */
  fits(genome: LayerGenome, target: CompileTarget): boolean {
    const { minLayers, maxLayers, maxSkips, maxParams, maxFlops } = this.options;
    const count = genome.layers.length;
    if (count < minLayers || count > maxLayers || genome.skips.length > maxSkips) return false;
    let summary;
    try {
      summary = analyzeArchitecture(this.compile(genome, target));
    } catch (error) {
      if (error instanceof LayerSpaceError) return false;
      throw error;
    }
    return summary.params <= maxParams && summary.flops <= maxFlops;
  }

  sample(random: Random, target: CompileTarget): LayerGenome {
    for (let attempt = 0; attempt < SAMPLE_ATTEMPTS; attempt += 1) {
      const taken = new Set<string>();
      const count = random.int(this.options.minLayers, this.options.maxLayers);
      const layers = Array.from({ length: count }, () => this.randomLayer(random, taken));
      let genome = repair({ layers, skips: [] }, target).genome;
      const skips = random.int(0, this.options.maxSkips);
      for (let s = 0; s < skips; s += 1) {
        const candidates = this.skipCandidates(genome, target);
        if (candidates.length === 0) break;
        genome = { layers: genome.layers, skips: [...genome.skips, random.choice(candidates)] };
      }
      genome = repair(genome, target).genome; // sorts the skips into canonical order
      if (this.fits(genome, target)) return genome;
    }
    const { channels, height, width } = target.input;
    throw new LayerSpaceError(
      `the layers space found no network for a ${channels}x${height}x${width} input within ${this.options.maxParams} parameters and ${this.options.maxFlops} FLOPs in ${SAMPLE_ATTEMPTS} draws: allow more parameters or FLOPs, or fewer filters and units`,
    );
  }

  /** One random mutation, repaired, drawn again until the child differs and fits. */
  mutate(genome: LayerGenome, random: Random, target: CompileTarget): LayerGenome {
    const parentText = this.format(genome);
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const mutated = this.mutateOnce(genome, random, target);
      if (!mutated) continue;
      const child = repair(mutated, target).genome;
      if (this.format(child) !== parentText && this.fits(child, target)) return child;
    }
    return this.sample(random, target);
  }

  crossover(
    a: LayerGenome,
    b: LayerGenome,
    random: Random,
    target: CompileTarget,
  ): [LayerGenome, LayerGenome] {
    let first: LayerGenome | undefined;
    let second: LayerGenome | undefined;
    for (let attempt = 0; attempt < ATTEMPTS && !(first && second); attempt += 1) {
      const cutA = random.int(0, a.layers.length);
      const cutB = random.int(0, b.layers.length);
      if (!first) {
        const child = repair(this.join(a, cutA, b, cutB, random), target).genome;
        if (this.fits(child, target)) first = child;
      }
      if (!second) {
        const child = repair(this.join(b, cutB, a, cutA, random), target).genome;
        if (this.fits(child, target)) second = child;
      }
    }
    return [first ?? this.mutate(a, random, target), second ?? this.mutate(b, random, target)];
  }

  /** `head`'s layers before `headCut`, then `tail`'s from `tailCut`, with the skips within each part. */
  private join(
    head: LayerGenome,
    headCut: number,
    tail: LayerGenome,
    tailCut: number,
    random: Random,
  ): LayerGenome {
    const front = head.layers.slice(0, headCut);
    const back = tail.layers.slice(tailCut);
    const taken = new Set([...front, ...back].map((gene) => gene.id));
    const frontIds = new Set(front.map((gene) => gene.id));
    const renamed = new Map<string, string>();
    const backLayers = back.map((gene) => {
      if (!frontIds.has(gene.id)) return gene;
      const id = this.newId(random, taken);
      renamed.set(gene.id, id);
      return { ...gene, id };
    });
    const backIds = new Set(back.map((gene) => gene.id));
    const rename = (id: string): string => renamed.get(id) ?? id;
    const skips: SkipGene[] = [
      ...head.skips.filter((skip) => frontIds.has(skip.from) && frontIds.has(skip.to)),
      ...tail.skips
        .filter((skip) => backIds.has(skip.from) && backIds.has(skip.to))
        .map((skip) => ({ from: rename(skip.from), to: rename(skip.to) })),
    ];
    return { layers: [...front, ...backLayers], skips };
  }

  /** Add, remove, change a parameter or toggle a skip; undefined when the drawn change is void. */
  private mutateOnce(
    genome: LayerGenome,
    random: Random,
    target: CompileTarget,
  ): LayerGenome | undefined {
    const layers = [...genome.layers];
    switch (random.choice(['add', 'remove', 'change', 'skip'] as const)) {
      case 'add': {
        if (layers.length >= this.options.maxLayers) return undefined;
        const taken = new Set(layers.map((gene) => gene.id));
        layers.splice(random.int(0, layers.length), 0, this.randomLayer(random, taken));
        return { layers, skips: genome.skips };
      }
      case 'remove': {
        if (layers.length <= this.options.minLayers) return undefined;
        const [removed] = layers.splice(random.int(0, layers.length - 1), 1);
        const id = (removed as LayerGene).id;
        return { layers, skips: genome.skips.filter((s) => s.from !== id && s.to !== id) };
      }
      case 'change': {
        const tunable = layers.flatMap((gene, index) => (gene.kind === 'batchnorm' ? [] : [index]));
        if (tunable.length === 0) return undefined;
        const index = random.choice(tunable);
        const changed = this.changeParameter(layers[index] as LayerGene, random);
        if (!changed) return undefined;
        layers[index] = changed;
        return { layers, skips: genome.skips };
      }
      case 'skip': {
        const candidates = this.skipCandidates(genome, target);
        const canAdd = candidates.length > 0 && genome.skips.length < this.options.maxSkips;
        if (genome.skips.length > 0 && (!canAdd || random.bool())) {
          const drop = random.int(0, genome.skips.length - 1);
          return { layers, skips: genome.skips.filter((_, i) => i !== drop) };
        }
        if (!canAdd) return undefined;
        return { layers, skips: [...genome.skips, random.choice(candidates)] };
      }
    }
  }

  /** The gene with one parameter set to another allowed value (same id). */
  private changeParameter(gene: LayerGene, random: Random): LayerGene | undefined {
    const o = this.options;
    const other = <T>(values: readonly T[], current: T): T | undefined => {
      const rest = values.filter((value) => value !== current);
      return rest.length > 0 ? random.choice(rest) : undefined;
    };
    const pick = <T extends LayerGene>(
      options: Array<(g: T) => T | undefined>,
      g: T,
    ): T | undefined => {
      for (const change of random.shuffle([...options])) {
        const result = change(g);
        if (result) return result;
      }
      return undefined;
    };
    const set = <T extends LayerGene, K extends keyof T>(g: T, key: K, value: T[K] | undefined) =>
      value === undefined ? undefined : { ...g, [key]: value };
    switch (gene.kind) {
      case 'conv':
        return pick(
          [
            (g) => set(g, 'filters', other(o.filters, g.filters)),
            (g) => set(g, 'kernel', other(o.kernels, g.kernel)),
            (g) => set(g, 'stride', other(o.strides, g.stride)),
            (g) => set(g, 'activation', other(o.activations, g.activation)),
            // Only where both forms are allowed, so a space without the choice draws as before.
            ...(o.convNorms.length > 1
              ? [
                  (g: ConvGene) => {
                    const norm = other(o.convNorms, g.norm === true);
                    return norm === undefined ? undefined : withNorm(g, norm);
                  },
                ]
              : []),
          ],
          gene,
        );
      case 'maxpool':
      case 'avgpool': {
        const pools = o.layerTypes.filter(
          (kind): kind is 'maxpool' | 'avgpool' => kind === 'maxpool' || kind === 'avgpool',
        );
        return pick(
          [
            (g) => set(g, 'kernel', other(o.poolKernels, g.kernel)),
            (g) => set(g, 'stride', other(o.poolStrides, g.stride)),
            (g) => set(g, 'kind', other(pools, g.kind)),
          ],
          gene,
        );
      }
      case 'dropout':
        return set(gene, 'rate', other(o.dropoutRates, gene.rate));
      case 'dense':
        return pick(
          [
            (g) => set(g, 'units', other(o.denseUnits, g.units)),
            (g) => set(g, 'activation', other(o.activations, g.activation)),
          ],
          gene,
        );
      case 'batchnorm':
        return undefined;
    }
  }

  /** Skips not in the genome that could be added to it as it is (it must build). */
  private skipCandidates(genome: LayerGenome, target: CompileTarget): SkipGene[] {
    const { issues, shapes } = diagnose(genome, target);
    if (issues.length > 0) return [];
    const existing = new Set(genome.skips.map((skip) => `${skip.from} ${skip.to}`));
    const candidates: SkipGene[] = [];
    genome.layers.forEach((source, i) => {
      genome.layers.forEach((targetGene, j) => {
        if (j <= i || existing.has(`${source.id} ${targetGene.id}`)) return;
        const fit = fitSkip(shapes[i] as TensorShape, shapes[j] as TensorShape);
        if (fit.ok) candidates.push({ from: source.id, to: targetGene.id });
      });
    });
    return candidates;
  }

  private newId(random: Random, taken: Set<string>): string {
    for (;;) {
      const id = `g${random.nextUint32().toString(36)}`;
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
  }

  private randomLayer(random: Random, taken: Set<string>): LayerGene {
    const o = this.options;
    const id = this.newId(random, taken);
    const total = o.layerTypes.reduce((sum, kind) => sum + KIND_WEIGHTS[kind], 0);
    let draw = random.uniform(0, total);
    const kind =
      o.layerTypes.find((k) => (draw -= KIND_WEIGHTS[k]) < 0) ?? (o.layerTypes.at(-1) as LayerKind);
    switch (kind) {
      case 'conv':
        return withNorm(
          {
            id,
            kind,
            filters: random.choice(o.filters),
            kernel: random.choice(o.kernels),
            stride: random.choice(o.strides),
            activation: random.choice(o.activations),
          },
          // Drawn only where both forms are allowed, so a space without the choice draws as before.
          o.convNorms.length > 1 ? random.choice(o.convNorms) : (o.convNorms[0] as boolean),
        );
      case 'maxpool':
      case 'avgpool':
        return {
          id,
          kind,
          kernel: random.choice(o.poolKernels),
          stride: random.choice(o.poolStrides),
        };
      case 'batchnorm':
        return { id, kind };
      case 'dropout':
        return { id, kind, rate: random.choice(o.dropoutRates) };
      case 'dense':
        return {
          id,
          kind,
          units: random.choice(o.denseUnits),
          activation: random.choice(o.activations),
        };
    }
  }
}
