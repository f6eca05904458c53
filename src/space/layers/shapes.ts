/**
 * Shape rules of the layer-list space: what each layer does to the tensor, and how a skip
 * connection is fitted to the layer it joins.
 *
 * Skip rules. A skip adds the output of an earlier layer (the source) to the output of a later
 * layer (the target); the sum is the target's output, which the next layer reads. Sources and
 * targets must both be feature maps, or both flat vectors:
 * - two flat vectors must have the same width (there is no projection between flat vectors);
 * - two maps of the same shape are added as they are;
 * - same height and width, other channel count: a 1x1 convolution (no bias) to the target's
 *   channels, stride 1;
 * - a smaller target map (layers never grow a map) with the same channel count: the fitting
 *   average pool (no parameters), else the fitting strided 1x1 convolution;
 * - a smaller target map with another channel count: the fitting strided 1x1 convolution, else the
 *   fitting average pool followed by a stride-1 1x1 convolution;
 * - anything else (a map and a flat vector; widths that differ; neither fits) cannot be joined.
 * The fitting average pool has no padding, the smallest stride s and then the smallest kernel k in
 * s..2s+1 that give both target sides; the fitting 1x1 convolution (no bias, the target's channel
 * count) has the smallest stride s for which ceil(side / s) gives both target sides.
 */
import { type TensorShape, formatShape } from '../ir.js';
import type { LayerGene } from './genes.js';

export type MapShape = Extract<TensorShape, { kind: 'map' }>;

/** A layer's effect on its input shape, or why it cannot take that input. */
export type LayerStep =
  | { readonly ok: true; readonly shape: TensorShape }
  | { readonly ok: false; readonly reason: string };

/**
 * The output shape of one layer. A dense layer on a map flattens it first; pools and convs on a
 * flat vector are refused (repair moves dense layers after them).
 */
export function layerStep(gene: LayerGene, input: TensorShape): LayerStep {
  switch (gene.kind) {
    case 'conv':
      if (input.kind !== 'map') return { ok: false, reason: 'a conv needs a feature map' };
      return {
        ok: true,
        shape: {
          kind: 'map',
          channels: gene.filters,
          height: Math.ceil(input.height / gene.stride),
          width: Math.ceil(input.width / gene.stride),
        },
      };
    case 'maxpool':
    case 'avgpool': {
      if (input.kind !== 'map') return { ok: false, reason: 'a pool needs a feature map' };
      const height = Math.floor((input.height - gene.kernel) / gene.stride) + 1;
      const width = Math.floor((input.width - gene.kernel) / gene.stride) + 1;
      if (height < 1 || width < 1) {
        const reason =
          input.height === 1 && input.width === 1
            ? 'the map is already 1x1'
            : `its ${gene.kernel}x${gene.kernel} window does not fit the ${input.height}x${input.width} map`;
        return { ok: false, reason };
      }
      return { ok: true, shape: { kind: 'map', channels: input.channels, height, width } };
    }
    case 'batchnorm':
    case 'dropout':
      return { ok: true, shape: input };
    case 'dense':
      return { ok: true, shape: { kind: 'flat', features: gene.units } };
  }
}

/** How a skip's source is brought to its target's shape; neither part means a plain add. */
export interface SkipPlan {
  readonly pool?: { readonly kernel: number; readonly stride: number };
  readonly conv?: { readonly filters: number; readonly stride: number };
}

export type SkipFit =
  { readonly ok: true; readonly plan: SkipPlan } | { readonly ok: false; readonly reason: string };

function describeShape(shape: TensorShape): string {
  return shape.kind === 'map'
    ? `a ${formatShape(shape)} map`
    : `a flat vector of ${shape.features}`;
}

/** The smallest-stride average pool (no padding) that takes `source` to `target`'s sides. */
function fittingPool(source: MapShape, target: MapShape): SkipPlan['pool'] {
  for (let stride = 1; stride <= Math.max(source.height, source.width); stride += 1) {
    for (let kernel = stride; kernel <= 2 * stride + 1; kernel += 1) {
      const height = Math.floor((source.height - kernel) / stride) + 1;
      const width = Math.floor((source.width - kernel) / stride) + 1;
      if (height === target.height && width === target.width) return { kernel, stride };
    }
  }
  return undefined;
}

/** The smallest stride of a 1x1 convolution that takes `source` to `target`'s sides. */
function fittingConvStride(source: MapShape, target: MapShape): number | undefined {
  for (let stride = 1; stride <= Math.max(source.height, source.width); stride += 1) {
    if (
      Math.ceil(source.height / stride) === target.height &&
      Math.ceil(source.width / stride) === target.width
    ) {
      return stride;
    }
  }
  return undefined;
}

/** Whether (and how) a skip from a `source`-shaped output to a `target`-shaped one is built. */
export function fitSkip(source: TensorShape, target: TensorShape): SkipFit {
  if (source.kind !== target.kind) {
    return {
      ok: false,
      reason: `it would join ${describeShape(source)} to ${describeShape(target)}`,
    };
  }
  if (source.kind === 'flat' || target.kind === 'flat') {
    if (formatShape(source) === formatShape(target)) return { ok: true, plan: {} };
    return {
      ok: false,
      reason: `flat vectors of ${formatShape(source)} and ${formatShape(target)} cannot be added`,
    };
  }
  const sameSides = source.height === target.height && source.width === target.width;
  if (sameSides) {
    if (source.channels === target.channels) return { ok: true, plan: {} };
    return { ok: true, plan: { conv: { filters: target.channels, stride: 1 } } };
  }
  if (source.height >= target.height && source.width >= target.width) {
    const pool = fittingPool(source, target);
    const stride = fittingConvStride(source, target);
    const conv = (convStride: number) => ({ filters: target.channels, stride: convStride });
    if (source.channels === target.channels) {
      if (pool) return { ok: true, plan: { pool } };
      if (stride !== undefined) return { ok: true, plan: { conv: conv(stride) } };
    } else {
      if (stride !== undefined) return { ok: true, plan: { conv: conv(stride) } };
      if (pool) return { ok: true, plan: { pool, conv: conv(1) } };
    }
  }
  return {
    ok: false,
    reason: `no 1x1 projection or pooling turns ${describeShape(source)} into ${describeShape(target)}`,
  };
}
