/**
 * The genes of the layer-list space: one gene per layer, each with a stable id, plus skip
 * connections that name their two layers by id.
 *
 * Channel and feature counts are not stored in the genes: every layer takes them from the layer
 * before it when the list is compiled, so a gene never carries a count that a mutation or a
 * crossover could make stale.
 */
import type { Activation } from '../ir.js';

/** The layer kinds, as their text form names them. */
export const LAYER_KINDS = ['conv', 'maxpool', 'avgpool', 'batchnorm', 'dropout', 'dense'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

/** What any layer list may hold, whatever the space's options (text and JSON are checked against these). */
export const LAYER_LIMITS = {
  maxFilters: 4096,
  maxKernel: 11,
  maxStride: 4,
  maxUnits: 16384,
  maxLayers: 64,
} as const;

/** Gene ids: `g` and base-36 digits; compiled node ids add `_suffixes`, so they never collide. */
export const GENE_ID_PATTERN = /^g[0-9a-z]+$/;

/**
 * A convolution with same padding (output side ceil(in / stride)), then its activation. With
 * `norm`, batch norm comes between the two (conv, batch norm, activation, as in ResNet) and the
 * convolution has no bias; without it, the convolution has a bias. `norm` is absent rather than
 * false on a plain convolution, so a genome has one form.
 */
export interface ConvGene {
  readonly id: string;
  readonly kind: 'conv';
  readonly filters: number;
  readonly kernel: number;
  readonly stride: number;
  readonly norm?: true;
  readonly activation: Activation;
}

/** A max or average pool without padding (output side floor((in - kernel) / stride) + 1). */
export interface PoolGene {
  readonly id: string;
  readonly kind: 'maxpool' | 'avgpool';
  readonly kernel: number;
  readonly stride: number;
}

export interface BatchNormGene {
  readonly id: string;
  readonly kind: 'batchnorm';
}

export interface DropoutGene {
  readonly id: string;
  readonly kind: 'dropout';
  /** In (0, 1). */
  readonly rate: number;
}

/** A dense layer with bias, then its activation; the map is flattened before the first one. */
export interface DenseGene {
  readonly id: string;
  readonly kind: 'dense';
  readonly units: number;
  readonly activation: Activation;
}

export type LayerGene = ConvGene | PoolGene | BatchNormGene | DropoutGene | DenseGene;

/** The output of layer `from` is added to the output of the later layer `to` (ids). */
export interface SkipGene {
  readonly from: string;
  readonly to: string;
}

export interface LayerGenome {
  readonly layers: readonly LayerGene[];
  readonly skips: readonly SkipGene[];
}

/** A layer's line in the text form, e.g. `conv 32 k3 s1 relu` or `conv 32 k3 s1 bn relu`. */
export function formatLayer(gene: LayerGene): string {
  switch (gene.kind) {
    case 'conv':
      return `conv ${gene.filters} k${gene.kernel} s${gene.stride}${gene.norm ? ' bn' : ''} ${gene.activation}`;
    case 'maxpool':
    case 'avgpool':
      return `${gene.kind} k${gene.kernel} s${gene.stride}`;
    case 'batchnorm':
      return 'batchnorm';
    case 'dropout':
      return `dropout ${gene.rate}`;
    case 'dense':
      return `dense ${gene.units} ${gene.activation}`;
  }
}

/** Layers that need a feature map (and so come before the flatten). */
export function needsMap(gene: LayerGene): boolean {
  return gene.kind === 'conv' || gene.kind === 'maxpool' || gene.kind === 'avgpool';
}
