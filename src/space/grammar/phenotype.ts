/**
 * What a grammar genome maps to: a sequence of layers. This file gives the layers their text form
 * (the space's canonical text, one `;`-separated part per layer), parses it back, checks that the
 * sequence makes sense (feature-map layers before the network is flattened, dense after), and
 * compiles it to the IR with a head for the target's classes.
 */
import { ACTIVATIONS, type Activation, type Architecture, IR_FORMAT, type IrNode } from '../ir.js';
import type { CompileTarget } from '../space.js';
import { LAYER_PARAMS, type LayerType, type ParamValue } from './grammar.js';

export type Padding = 'same' | 'valid' | number;

export type Layer =
  | {
      readonly type: 'conv';
      readonly filters: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: Padding;
      readonly activation?: Activation;
    }
  | { readonly type: 'dense'; readonly units: number; readonly activation?: Activation }
  | { readonly type: 'dropout'; readonly rate: number }
  | { readonly type: 'activation'; readonly fn: Activation }
  | {
      readonly type: 'maxpool' | 'avgpool';
      readonly kernel: number;
      readonly stride: number;
      readonly padding: Padding;
    }
  | { readonly type: 'batchnorm' | 'globalpool' | 'flatten' };

/** The text of a network without layers. */
export const EMPTY_NETWORK = 'empty';

/**
 * A layer from its parameter values (decided by codons or written in the grammar); parameters
 * left out take their defaults. Values are assumed checked against the layer catalog.
 */
export function buildLayer(type: LayerType, values: ReadonlyMap<string, ParamValue>): Layer {
  const resolved = new Map<string, ParamValue>();
  for (const def of LAYER_PARAMS[type]) {
    const value =
      values.get(def.name) ??
      def.default ??
      (def.defaultFrom === undefined ? undefined : resolved.get(def.defaultFrom));
    if (value === undefined) throw new Error(`internal: ${type} has no value for ${def.name}`);
    resolved.set(def.name, value);
  }
  const num = (name: string): number => resolved.get(name) as number;
  const pad = (): Padding => {
    const value = resolved.get('padding') as Padding;
    return value === 0 ? 'valid' : value;
  };
  const act = (): { activation?: Activation } => {
    const value = resolved.get('activation');
    return value === undefined || value === 'none' ? {} : { activation: value as Activation };
  };
  switch (type) {
    case 'conv':
      return {
        type,
        filters: num('filters'),
        kernel: num('kernel'),
        stride: num('stride'),
        padding: pad(),
        ...act(),
      };
    case 'dense':
      return { type, units: num('units'), ...act() };
    case 'dropout':
      return { type, rate: num('rate') };
    case 'activation':
      return { type, fn: resolved.get('fn') as Activation };
    case 'maxpool':
    case 'avgpool':
      return { type, kernel: num('kernel'), stride: num('stride'), padding: pad() };
    case 'batchnorm':
    case 'globalpool':
    case 'flatten':
      return { type };
  }
}

/** `same` is a convolution's default and `valid` a pool's: only the other forms are written. */
function paddingText(padding: Padding, fallback: 'same' | 'valid'): string {
  if (padding === fallback) return '';
  return typeof padding === 'number' ? ` p${padding}` : ` ${padding}`;
}

/** A layer's canonical text, e.g. `conv 32 k3 s2 valid relu`, `dense 128 tanh`, `dropout 0.25`. */
export function formatLayer(layer: Layer): string {
  switch (layer.type) {
    case 'conv':
      return (
        `conv ${layer.filters} k${layer.kernel}` +
        (layer.stride === 1 ? '' : ` s${layer.stride}`) +
        paddingText(layer.padding, 'same') +
        (layer.activation ? ` ${layer.activation}` : '')
      );
    case 'dense':
      return `dense ${layer.units}` + (layer.activation ? ` ${layer.activation}` : '');
    case 'dropout':
      return `dropout ${layer.rate}`;
    case 'activation':
      return layer.fn;
    case 'maxpool':
    case 'avgpool':
      return (
        `${layer.type} k${layer.kernel} s${layer.stride}` + paddingText(layer.padding, 'valid')
      );
    default:
      return layer.type;
  }
}

/** The canonical text of a network: its layers' texts joined by `; ` (`empty` for none). */
export function formatLayers(layers: readonly Layer[]): string {
  return layers.length === 0 ? EMPTY_NETWORK : layers.map(formatLayer).join('; ');
}

const isActivation = (token: string): token is Activation =>
  (ACTIVATIONS as readonly string[]).includes(token);

/** Parses one part of a network text; throws with the part and what is wrong. */
function parseLayer(part: string, index: number): Layer {
  const fail = (reason: string): never => {
    throw new Error(`part ${index + 1} "${part}": ${reason}`);
  };
  const [head, ...rest] = part.split(/\s+/);
  if (head === undefined || head === '') return fail('empty part');
  if (isActivation(head)) {
    if (rest.length > 0) fail(`an activation takes nothing after its name`);
    return { type: 'activation', fn: head };
  }
  const positive = (text: string, what: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1) fail(`${what} must be a positive integer`);
    return Number(text);
  };
  const options = (
    tokens: readonly string[],
    allowed: readonly ('k' | 's' | 'padding' | 'activation')[],
  ): { k?: number; s?: number; padding?: Padding; activation?: Activation } => {
    const found: { k?: number; s?: number; padding?: Padding; activation?: Activation } = {};
    const set = <K extends keyof typeof found>(key: K, value: (typeof found)[K]): void => {
      if (!(allowed as readonly string[]).includes(key)) fail(`unexpected "${String(value)}"`);
      if (found[key] !== undefined) fail(`${key} given twice`);
      found[key] = value;
    };
    for (const token of tokens) {
      const match = /^([ksp])(\d+)$/.exec(token);
      if (match?.[1] === 'k') set('k', positive(match[2] as string, 'kernel'));
      else if (match?.[1] === 's') set('s', positive(match[2] as string, 'stride'));
      else if (match?.[1] === 'p') {
        const value = Number(match[2]);
        set('padding', value === 0 ? 'valid' : value);
      } else if (token === 'same' || token === 'valid') set('padding', token);
      else if (isActivation(token)) set('activation', token);
      else fail(`unknown token "${token}"`);
    }
    return found;
  };
  switch (head) {
    case 'conv': {
      const [filters, ...tokens] = rest;
      if (filters === undefined) return fail('conv needs its filters, e.g. "conv 32 k3"');
      const found = options(tokens, ['k', 's', 'padding', 'activation']);
      if (found.k === undefined) return fail('conv needs a kernel, e.g. "conv 32 k3"');
      return {
        type: 'conv',
        filters: positive(filters, 'filters'),
        kernel: found.k,
        stride: found.s ?? 1,
        padding: found.padding ?? 'same',
        ...(found.activation ? { activation: found.activation } : {}),
      };
    }
    case 'dense': {
      const [units, ...tokens] = rest;
      if (units === undefined) return fail('dense needs its units, e.g. "dense 128"');
      const found = options(tokens, ['activation']);
      return {
        type: 'dense',
        units: positive(units, 'units'),
        ...(found.activation ? { activation: found.activation } : {}),
      };
    }
    case 'dropout': {
      const rate = Number(rest[0]);
      if (rest.length !== 1 || !Number.isFinite(rate) || rate < 0 || rate >= 1)
        fail('dropout takes one rate, 0 <= rate < 1');
      return { type: 'dropout', rate };
    }
    case 'maxpool':
    case 'avgpool': {
      const found = options(rest, ['k', 's', 'padding']);
      const kernel = found.k ?? 2;
      return { type: head, kernel, stride: found.s ?? kernel, padding: found.padding ?? 'valid' };
    }
    case 'batchnorm':
    case 'globalpool':
    case 'flatten':
      if (rest.length > 0) fail(`${head} takes no parameters`);
      return { type: head };
    default:
      return fail(
        `unknown layer "${head}" (layers: conv, dense, dropout, batchnorm, maxpool, avgpool, globalpool, flatten, or an activation name)`,
      );
  }
}

/** Parses a network text (`flatten; dense 128 relu; dropout 0.2`); throws naming the part. */
export function parseLayers(text: string): Layer[] {
  const trimmed = text.trim();
  if (trimmed === EMPTY_NETWORK) return [];
  const parts = trimmed.split(';').map((part) => part.trim());
  if (parts.at(-1) === '') parts.pop();
  if (parts.length === 0) throw new Error(`empty network text (write "${EMPTY_NETWORK}")`);
  return parts.map(parseLayer);
}

const MAP_ONLY: ReadonlySet<Layer['type']> = new Set(['conv', 'maxpool', 'avgpool', 'globalpool']);

/**
 * Why a layer sequence cannot be a network whatever the input size, or null: convolutions and
 * pools need a feature map (they must come before `flatten`/`globalpool`), dense needs a flat
 * vector (after them).
 */
export function sequenceProblem(layers: readonly Layer[]): string | null {
  let flat = false;
  for (const [index, layer] of layers.entries()) {
    const where = `layer ${index + 1} (${formatLayer(layer)})`;
    if (MAP_ONLY.has(layer.type) && flat) {
      return `${where} needs a feature map, but the network was already flattened`;
    }
    if (layer.type === 'dense' && !flat) {
      return `${where} needs a flat vector, but the network is still a feature map: flatten or globalpool first`;
    }
    if (layer.type === 'flatten' || layer.type === 'globalpool') flat = true;
  }
  return null;
}

/**
 * The IR of a layer sequence. Node ids are positional, `l<n>_<type>` (with `_act` for a conv's or
 * dense layer's activation), so identical prefixes give identical ids and weights can be
 * inherited by position. The head makes class scores: `head_flatten` when the layers end on a
 * feature map, then `logits`, a dense layer with one unit per class and no activation.
 */
export function compileLayers(layers: readonly Layer[], target: CompileTarget): Architecture {
  const nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];
  let last = 'input';
  let flat = false;
  const add = (node: IrNode): void => {
    nodes.push(node);
    last = node.id;
  };
  for (const [index, layer] of layers.entries()) {
    const id = `l${index + 1}_${layer.type}`;
    const inputs = [last];
    switch (layer.type) {
      case 'conv':
        add({
          id,
          op: 'conv2d',
          inputs,
          filters: layer.filters,
          kernel: layer.kernel,
          stride: layer.stride,
          padding: layer.padding,
          dilation: 1,
          groups: 1,
          bias: true,
        });
        break;
      case 'dense':
        add({ id, op: 'dense', inputs, units: layer.units, bias: true });
        break;
      case 'dropout':
        add({ id, op: 'dropout', inputs, rate: layer.rate });
        break;
      case 'activation':
        add({ id, op: 'activation', inputs, fn: layer.fn });
        break;
      case 'maxpool':
      case 'avgpool':
        add({
          id,
          op: layer.type === 'maxpool' ? 'maxpool2d' : 'avgpool2d',
          inputs,
          kernel: layer.kernel,
          stride: layer.stride,
          padding: layer.padding,
        });
        break;
      case 'batchnorm':
        add({ id, op: 'batchnorm', inputs });
        break;
      case 'globalpool':
        add({ id, op: 'global_avg_pool', inputs });
        flat = true;
        break;
      case 'flatten':
        add({ id, op: 'flatten', inputs });
        flat = true;
        break;
    }
    if ((layer.type === 'conv' || layer.type === 'dense') && layer.activation) {
      add({ id: `${id}_act`, op: 'activation', inputs: [id], fn: layer.activation });
    }
  }
  if (!flat) add({ id: 'head_flatten', op: 'flatten', inputs: [last] });
  add({ id: 'logits', op: 'dense', inputs: [last], units: target.classes, bias: true });
  return { format: IR_FORMAT, input: { ...target.input }, nodes, output: last };
}
