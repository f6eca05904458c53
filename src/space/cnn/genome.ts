/**
 * The CNN macro space's genome and its text form, an architecture string in the style of timm's
 * EfficientNet/MobileNet block strings, one token per part, joined by `|`:
 *
 *     swish|s16|ir16e1k3|ir24e4k3s2x2|ir40e4k5s2x2se|h128
 *
 * - the activation of every block (`relu`, `swish`, ... as the IR names them);
 * - the stem `s<C>`: a 3x3 stride-1 conv with C filters, batch norm, activation;
 * - stages `<block><C>[e<E>]k<K>[s2][x<N>][se]`, N blocks (default 1) of one kind with C output
 *   channels; the first block of a stage has its stride (`s2`: a stride-2 reduction), the others
 *   stride 1. Block kinds:
 *   - `cn`: a KxK conv, batch norm, activation;
 *   - `ds`: depthwise-separable: a KxK depthwise conv, batch norm, activation, [SE], a 1x1 conv,
 *     batch norm (linear), plus the input when the shapes match (stride 1, same channels);
 *   - `ir`: MobileNetV2's inverted residual with expansion E: a 1x1 conv to E x C_in channels
 *     (left out when E is 1), batch norm, activation, a KxK depthwise conv, batch norm,
 *     activation, [SE], a 1x1 conv to C, batch norm (linear bottleneck), plus the input when the
 *     shapes match;
 *   - `se` adds squeeze-and-excitation after the depthwise conv: global average pooling, a dense
 *     layer to a quarter of the channels (at least 8), ReLU, a dense layer back, sigmoid, and the
 *     map multiplied by that gate channel by channel;
 * - the optional head `h<C>`: a 1x1 conv to C channels, batch norm, activation before pooling;
 * - then always global average pooling and one dense layer to the classes, no activation.
 *
 * Convolutions have no bias (batch norm follows each) and PyTorch's symmetric padding K / 2.
 */
import { z } from 'zod';
import { ACTIVATIONS, type Activation } from '../ir.js';

export const BLOCK_KINDS = ['cn', 'ds', 'ir'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

/** Structural limits a parsed or decoded genome must respect (options narrow them further). */
export const CNN_LIMITS = {
  maxChannels: 2048,
  maxExpansion: 8,
  maxKernel: 7,
  maxRepeat: 8,
  maxStages: 10,
} as const;

export interface CnnStage {
  readonly block: BlockKind;
  readonly channels: number;
  /** Expansion ratio of an `ir` block; 1 for `cn` and `ds`. */
  readonly expansion: number;
  readonly kernel: number;
  readonly stride: 1 | 2;
  /** Blocks in the stage. */
  readonly repeat: number;
  readonly se: boolean;
}

export interface CnnGenome {
  readonly activation: Activation;
  readonly stem: number;
  readonly stages: readonly CnnStage[];
  /** Channels of the 1x1 head conv before pooling; 0 for none. */
  readonly head: number;
}

export class CnnSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CnnSpaceError';
  }
}

const channelsSchema = z.number().int().min(1).max(CNN_LIMITS.maxChannels);

export const cnnStageSchema = z
  .object({
    block: z.enum(BLOCK_KINDS),
    channels: channelsSchema,
    expansion: z.number().int().min(1).max(CNN_LIMITS.maxExpansion),
    kernel: z
      .number()
      .int()
      .min(1)
      .max(CNN_LIMITS.maxKernel)
      .refine((k) => k % 2 === 1, 'kernels are odd (1, 3, 5, 7)'),
    stride: z.union([z.literal(1), z.literal(2)]),
    repeat: z.number().int().min(1).max(CNN_LIMITS.maxRepeat),
    se: z.boolean(),
  })
  .strict()
  .refine((s) => s.block === 'ir' || s.expansion === 1, 'only ir blocks have an expansion ratio');

export const cnnGenomeSchema = z
  .object({
    activation: z.enum(ACTIVATIONS),
    stem: channelsSchema,
    stages: z.array(cnnStageSchema).min(1).max(CNN_LIMITS.maxStages),
    head: z.number().int().min(0).max(CNN_LIMITS.maxChannels),
  })
  .strict();

function formatStage(stage: CnnStage): string {
  return [
    `${stage.block}${stage.channels}`,
    stage.block === 'ir' ? `e${stage.expansion}` : '',
    `k${stage.kernel}`,
    stage.stride === 2 ? 's2' : '',
    stage.repeat > 1 ? `x${stage.repeat}` : '',
    stage.se ? 'se' : '',
  ].join('');
}

/** The canonical text: equal texts mean the same network. */
export function formatCnn(genome: CnnGenome): string {
  return [
    genome.activation,
    `s${genome.stem}`,
    ...genome.stages.map(formatStage),
    ...(genome.head > 0 ? [`h${genome.head}`] : []),
  ].join('|');
}

const STAGE_PATTERN = /^(cn|ds|ir)(\d+)(?:e(\d+))?(?:k(\d+))?(?:s(\d+))?(?:x(\d+))?(se)?$/;

const EXAMPLE = 'swish|s16|ir16e1k3|ir24e4k3s2x2|ir40e4k5s2x2se|h128';

function parseStage(token: string, position: number): CnnStage {
  const match = STAGE_PATTERN.exec(token);
  if (!match) {
    throw new CnnSpaceError(
      `token ${position} "${token}" is not a stage: write <block><channels>[e<expansion>]k<kernel>[s2][x<repeat>][se] with block cn, ds or ir, e.g. ir24e6k3s2x2`,
    );
  }
  const [, block, channels, expansion, kernel, stride, repeat, se] = match;
  if (expansion !== undefined && block !== 'ir') {
    throw new CnnSpaceError(
      `token ${position} "${token}": only ir blocks have an expansion ratio (e${expansion})`,
    );
  }
  if (block === 'ir' && expansion === undefined) {
    throw new CnnSpaceError(
      `token ${position} "${token}": an ir block needs its expansion ratio, e.g. ${block}${channels}e6k3`,
    );
  }
  if (stride !== undefined && stride !== '2' && stride !== '1') {
    throw new CnnSpaceError(`token ${position} "${token}": the stride is s1 or s2, got s${stride}`);
  }
  const stage = {
    block: block as BlockKind,
    channels: Number(channels),
    expansion: expansion === undefined ? 1 : Number(expansion),
    kernel: kernel === undefined ? 3 : Number(kernel),
    stride: stride === '2' ? 2 : 1,
    repeat: repeat === undefined ? 1 : Number(repeat),
    se: se !== undefined,
  };
  const checked = cnnStageSchema.safeParse(stage);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new CnnSpaceError(
      `token ${position} "${token}": ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return checked.data;
}

/** Parses an architecture string; the error names the token and shows the expected form. */
export function parseCnn(text: string): CnnGenome {
  const tokens = text
    .trim()
    .split('|')
    .map((token) => token.trim());
  if (tokens.length < 3 || tokens.some((token) => token.length === 0)) {
    throw new CnnSpaceError(
      `"${text}" is not a CNN architecture string: write activation|stem|stages...[|head], e.g. ${EXAMPLE}`,
    );
  }
  const [activation, stem, ...rest] = tokens as [string, string, ...string[]];
  if (!(ACTIVATIONS as readonly string[]).includes(activation)) {
    throw new CnnSpaceError(
      `token 1 "${activation}" is not an activation; known: ${ACTIVATIONS.join(', ')} (e.g. ${EXAMPLE})`,
    );
  }
  const stemMatch = /^s(\d+)$/.exec(stem);
  if (!stemMatch) {
    throw new CnnSpaceError(`token 2 "${stem}" is not a stem: write s<channels>, e.g. s16`);
  }
  let head = 0;
  const last = rest[rest.length - 1];
  const headMatch = last === undefined ? null : /^h(\d+)$/.exec(last);
  if (headMatch) {
    head = Number(headMatch[1]);
    if (head < 1) throw new CnnSpaceError(`the head "${last}" needs at least 1 channel`);
    rest.pop();
  }
  if (rest.length === 0) {
    throw new CnnSpaceError(`"${text}" has no stage; e.g. ${EXAMPLE}`);
  }
  const stages = rest.map((token, index) => parseStage(token, index + 3));
  const genome = cnnGenomeSchema.safeParse({
    activation,
    stem: Number(stemMatch[1]),
    stages,
    head,
  });
  if (!genome.success) {
    const issue = genome.error.issues[0];
    throw new CnnSpaceError(
      `"${text}": ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    );
  }
  return genome.data;
}

/** Decodes the JSON form (as {@link cnnGenomeSchema}), with a message naming the field. */
export function decodeCnn(value: unknown): CnnGenome {
  const result = cnnGenomeSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new CnnSpaceError(`invalid CNN genome: ${issues}`);
  }
  return result.data;
}
