/**
 * The CNN macro space as a SearchSpace (`--space cnn`): a stem, 2..5 stages of conv–BN–act,
 * depthwise-separable or inverted residual blocks, optional squeeze-and-excitation, stride-2
 * reductions, an optional 1x1 head conv, and a plain linear classifier (genome.ts writes the
 * text form, compile.ts the IR).
 *
 * Operators (a child that breaks the options' parameter or FLOP bound is drawn again; after 50
 * tries sample falls back to the smallest network of the options, mutate and crossover to the
 * parent):
 * - sample: a stage count, stage widths drawn from `channels` and sorted (widths never shrink),
 *   1..maxReductions stride-2 stages, and for each stage a block kind, kernel, expansion, depth
 *   and SE drawn from the options; one activation for the network;
 * - mutate: one of change a stage's block kind, width, kernel, expansion, depth, stride or SE;
 *   add or remove a stage; change the activation, the stem or the head; the child differs;
 * - crossover: one-point over the stages (independent cuts), child 1 keeping a's activation,
 *   stem and head, child 2 b's.
 */
import { z } from 'zod';
import type { Random } from '../../util/random.js';
import { OptionsError, describeSchemaIssues } from '../../util/unknown-keys.js';
import {
  ACTIVATIONS,
  type Architecture,
  type ArchitectureSummary,
  analyzeArchitecture,
  tensorElements,
} from '../ir.js';
import type { CompileTarget, SearchSpace } from '../space.js';
import { compileCnn } from './compile.js';
import {
  BLOCK_KINDS,
  CNN_LIMITS,
  type CnnGenome,
  type CnnStage,
  decodeCnn,
  formatCnn,
  parseCnn,
} from './genome.js';

export const CNN_SPACE_NAME = 'cnn';

const channelList = (fallback: number[]) =>
  z.array(z.number().int().min(1).max(CNN_LIMITS.maxChannels)).min(1).default(fallback);

export const cnnSpaceOptionsSchema = z
  .object({
    minStages: z.number().int().min(1).max(CNN_LIMITS.maxStages).default(2),
    maxStages: z.number().int().min(1).max(CNN_LIMITS.maxStages).default(5),
    stemChannels: channelList([8, 16, 24, 32]),
    /** Output channels a stage may have. */
    channels: channelList([16, 24, 32, 40, 48, 64, 80, 96, 128]),
    /** Blocks per stage. */
    depths: z.array(z.number().int().min(1).max(CNN_LIMITS.maxRepeat)).min(1).default([1, 2, 3]),
    blocks: z
      .array(z.enum(BLOCK_KINDS))
      .min(1)
      .default([...BLOCK_KINDS]),
    /** Expansion ratios of inverted residual blocks. */
    expansions: z
      .array(z.number().int().min(1).max(CNN_LIMITS.maxExpansion))
      .min(1)
      .default([2, 3, 4, 6]),
    kernels: z
      .array(
        z
          .number()
          .int()
          .min(1)
          .max(CNN_LIMITS.maxKernel)
          .refine((k) => k % 2 === 1, 'kernels are odd'),
      )
      .min(1)
      .default([3, 5]),
    activations: z.array(z.enum(ACTIVATIONS)).min(1).default(['relu', 'swish']),
    /** Squeeze-and-excitation: [false], [true], or both (the search decides). */
    se: z.array(z.boolean()).min(1).default([false, true]),
    /** Head conv channels before pooling; 0 means none. */
    headChannels: z
      .array(z.number().int().min(0).max(CNN_LIMITS.maxChannels))
      .min(1)
      .default([0, 128, 256]),
    /** At most this many stride-2 stages (each halves the map). */
    maxReductions: z.number().int().min(0).max(CNN_LIMITS.maxStages).default(3),
    maxParams: z.number().int().positive().default(1_000_000),
    maxFlops: z.number().int().positive().default(60_000_000),
    /**
     * At most this many activation values per image, summed over every layer's output. Small
     * CNNs on a CPU are bound by memory traffic, not FLOPs: a wide expansion at full resolution
     * trains many times slower than its FLOP count says. No bound by default.
     */
    maxActivations: z.number().int().positive().optional(),
  })
  .strict()
  .refine((o) => o.minStages <= o.maxStages, 'minStages must not exceed maxStages');
export type CnnSpaceOptions = z.infer<typeof cnnSpaceOptionsSchema>;
export type CnnSpaceOptionsInput = z.input<typeof cnnSpaceOptionsSchema>;

const ATTEMPTS = 50;

/** Activation values one image produces, summed over every layer's output (the input excluded). */
export function activationValues(summary: ArchitectureSummary): number {
  let total = 0;
  for (const layer of summary.layers) {
    if (layer.op === 'input') continue;
    total += tensorElements(layer.outputShape);
  }
  return total;
}

type StageField = 'block' | 'channels' | 'kernel' | 'expansion' | 'repeat' | 'stride' | 'se';

export class CnnSpace implements SearchSpace<CnnGenome> {
  readonly name = CNN_SPACE_NAME;
  readonly options: CnnSpaceOptions;

  constructor(options: CnnSpaceOptionsInput = {}) {
    const parsed = cnnSpaceOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new OptionsError(
        'invalid cnn space',
        describeSchemaIssues(parsed.error, cnnSpaceOptionsSchema, 'option'),
      );
    }
    this.options = parsed.data;
  }

  /** Why the genome does not fit the options' bounds for the target, or null when it does. */
  problem(genome: CnnGenome, target: CompileTarget): string | null {
    const reductions = genome.stages.filter((stage) => stage.stride === 2).length;
    if (reductions > this.options.maxReductions)
      return `${reductions} stride-2 stages, more than maxReductions ${this.options.maxReductions}`;
    const size = Math.min(target.input.height, target.input.width);
    if (size / 2 ** reductions < 1)
      return `${reductions} reductions shrink the ${size}-pixel input below one pixel`;
    const summary = analyzeArchitecture(compileCnn(genome, target));
    if (summary.params > this.options.maxParams)
      return `${summary.params} parameters, above maxParams ${this.options.maxParams}`;
    if (summary.flops > this.options.maxFlops)
      return `${summary.flops} FLOPs, above maxFlops ${this.options.maxFlops}`;
    const bound = this.options.maxActivations;
    if (bound !== undefined) {
      const values = activationValues(summary);
      if (values > bound)
        return `${values} activation values per image, above maxActivations ${bound}`;
    }
    return null;
  }

  private fits(genome: CnnGenome, target: CompileTarget): boolean {
    return this.problem(genome, target) === null;
  }

  private drawStage(random: Random, channels: number, stride: 1 | 2): CnnStage {
    const block = random.choice(this.options.blocks);
    return {
      block,
      channels,
      expansion: block === 'ir' ? random.choice(this.options.expansions) : 1,
      kernel: random.choice(this.options.kernels),
      stride,
      repeat: random.choice(this.options.depths),
      se: random.choice(this.options.se),
    };
  }

  private maxReductions(target: CompileTarget, stages: number): number {
    const size = Math.min(target.input.height, target.input.width);
    return Math.min(this.options.maxReductions, stages, Math.floor(Math.log2(size)));
  }

  private draw(random: Random, target: CompileTarget): CnnGenome {
    const o = this.options;
    const count = random.int(o.minStages, o.maxStages);
    const widths = Array.from({ length: count }, () => random.choice(o.channels)).sort(
      (a, b) => a - b,
    );
    const most = this.maxReductions(target, count);
    const reductions = most === 0 ? 0 : random.int(1, most);
    const strided = new Set(
      random
        .shuffle([...Array(count).keys()])
        .slice(0, reductions)
        .values(),
    );
    return {
      activation: random.choice(o.activations),
      stem: random.choice(o.stemChannels),
      stages: widths.map((width, s) => this.drawStage(random, width, strided.has(s) ? 2 : 1)),
      head: random.choice(o.headChannels),
    };
  }

  /** The smallest network the options allow: fewest stages, narrowest, shallowest. */
  private smallest(target: CompileTarget): CnnGenome {
    const o = this.options;
    const min = (values: readonly number[]): number => Math.min(...values);
    const count = o.minStages;
    const reductions = this.maxReductions(target, count);
    return {
      activation: o.activations[0] ?? 'relu',
      stem: min(o.stemChannels),
      stages: Array.from({ length: count }, (_, s) => ({
        block: o.blocks.includes('ds') ? 'ds' : (o.blocks[0] ?? 'cn'),
        channels: min(o.channels),
        expansion: o.blocks.includes('ds') || o.blocks[0] !== 'ir' ? 1 : min(o.expansions),
        kernel: min(o.kernels),
        stride: s < reductions ? 2 : 1,
        repeat: min(o.depths),
        se: false,
      })),
      head: min(o.headChannels),
    };
  }

  sample(random: Random, target: CompileTarget): CnnGenome {
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const genome = this.draw(random, target);
      if (this.fits(genome, target)) return genome;
    }
    return this.smallest(target);
  }

  private mutateOnce(genome: CnnGenome, random: Random, target: CompileTarget): CnnGenome {
    const o = this.options;
    const stages = [...genome.stages];
    const moves: string[] = ['stage', 'stage', 'stage', 'stage', 'activation', 'stem', 'head'];
    if (stages.length < o.maxStages) moves.push('add');
    if (stages.length > o.minStages) moves.push('remove');
    const move = random.choice(moves);
    switch (move) {
      case 'activation':
        return { ...genome, activation: random.choice(o.activations) };
      case 'stem':
        return { ...genome, stem: random.choice(o.stemChannels) };
      case 'head':
        return { ...genome, head: random.choice(o.headChannels) };
      case 'add': {
        const at = random.int(0, stages.length);
        const before = stages[at - 1]?.channels ?? genome.stem;
        const wider = o.channels.filter((c) => c >= before);
        const width = random.choice(wider.length > 0 ? wider : o.channels);
        const reductions = stages.filter((stage) => stage.stride === 2).length;
        const stride =
          reductions < this.maxReductions(target, stages.length + 1) && random.bool() ? 2 : 1;
        stages.splice(at, 0, this.drawStage(random, width, stride));
        return { ...genome, stages };
      }
      case 'remove':
        stages.splice(random.int(0, stages.length - 1), 1);
        return { ...genome, stages };
      default: {
        const at = random.int(0, stages.length - 1);
        const stage = stages[at] as CnnStage;
        const fields: StageField[] = ['block', 'channels', 'kernel', 'repeat', 'stride', 'se'];
        if (stage.block === 'ir') fields.push('expansion');
        const field = random.choice(fields);
        let changed: CnnStage;
        switch (field) {
          case 'block': {
            const block = random.choice(o.blocks);
            changed = {
              ...stage,
              block,
              expansion: block === 'ir' ? random.choice(o.expansions) : 1,
            };
            break;
          }
          case 'channels':
            changed = { ...stage, channels: random.choice(o.channels) };
            break;
          case 'kernel':
            changed = { ...stage, kernel: random.choice(o.kernels) };
            break;
          case 'expansion':
            changed = { ...stage, expansion: random.choice(o.expansions) };
            break;
          case 'repeat':
            changed = { ...stage, repeat: random.choice(o.depths) };
            break;
          case 'stride':
            changed = { ...stage, stride: stage.stride === 2 ? 1 : 2 };
            break;
          case 'se':
            changed = { ...stage, se: random.choice(o.se) };
            break;
        }
        stages[at] = changed;
        return { ...genome, stages };
      }
    }
  }

  mutate(genome: CnnGenome, random: Random, target: CompileTarget): CnnGenome {
    const parent = formatCnn(genome);
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const child = this.mutateOnce(genome, random, target);
      if (formatCnn(child) !== parent && this.fits(child, target)) return child;
    }
    return genome;
  }

  crossover(
    a: CnnGenome,
    b: CnnGenome,
    random: Random,
    target: CompileTarget,
  ): [CnnGenome, CnnGenome] {
    const { minStages, maxStages } = this.options;
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const cutA = random.int(0, a.stages.length);
      const cutB = random.int(0, b.stages.length);
      const first: CnnGenome = {
        ...a,
        stages: [...a.stages.slice(0, cutA), ...b.stages.slice(cutB)],
      };
      const second: CnnGenome = {
        ...b,
        stages: [...b.stages.slice(0, cutB), ...a.stages.slice(cutA)],
      };
      const ok = (g: CnnGenome): boolean =>
        g.stages.length >= minStages && g.stages.length <= maxStages && this.fits(g, target);
      if (ok(first) && ok(second)) return [first, second];
    }
    return [this.mutate(a, random, target), this.mutate(b, random, target)];
  }

  format(genome: CnnGenome): string {
    return formatCnn(genome);
  }

  parse(text: string): CnnGenome {
    return parseCnn(text);
  }

  toJSON(genome: CnnGenome): unknown {
    return genome;
  }

  fromJSON(value: unknown): CnnGenome {
    return decodeCnn(value);
  }

  compile(genome: CnnGenome, target: CompileTarget): Architecture {
    const architecture = compileCnn(genome, target);
    analyzeArchitecture(architecture);
    return architecture;
  }
}
