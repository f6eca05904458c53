/**
 * The architecture IR: one JSON-serialisable graph that every search space compiles to and every
 * consumer (engine, exporters, cost model, store, dashboard) reads.
 *
 * A graph is a list of nodes in topological order. Each node names its inputs by id. Tensors are
 * either feature maps (channels x height x width, per image) or flat feature vectors.
 *
 * Conventions, fixed so that numbers are exact and comparable:
 * - Parameters are trainable parameters, as `sum(p.numel() for p in model.parameters())` in
 *   PyTorch: batch norm has 2*C (its running statistics are buffers, not parameters).
 * - FLOPs are forward-pass floating-point operations for one image: a multiply-add counts 2, so a
 *   convolution costs 2 * (C_in/groups) * k_h * k_w * C_out * H_out * W_out, plus one add per
 *   output element for its bias; dense likewise. Element-wise ops count 1 per output element
 *   (activations, the max or sum of each pooling window element, batch norm counts 2: scale and
 *   shift). `add` counts (inputs - 1) per element, `mul` 1; dropout, flatten and concat count 0.
 *   `macs` is reported separately (convolutions and dense layers only), for tools that quote MACs.
 */
import { z } from 'zod';

export const ACTIVATIONS = [
  'relu',
  'sigmoid',
  'tanh',
  'swish',
  'gelu',
  'elu',
  'leaky_relu',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const IR_FORMAT = 'nascent-ir/1';

const id = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'node ids start with a letter and use letters, digits and _');
const positiveInt = z.number().int().positive();
const padding = z.union([z.literal('same'), z.literal('valid'), z.number().int().nonnegative()]);
const base = { id, inputs: z.array(id), label: z.string().optional() };

export const irNodeSchema = z.discriminatedUnion('op', [
  z.object({ ...base, op: z.literal('input') }),
  z.object({
    ...base,
    op: z.literal('conv2d'),
    filters: positiveInt,
    kernel: positiveInt,
    stride: positiveInt,
    padding,
    dilation: positiveInt,
    groups: positiveInt,
    bias: z.boolean(),
  }),
  z.object({
    ...base,
    op: z.literal('maxpool2d'),
    kernel: positiveInt,
    stride: positiveInt,
    padding,
  }),
  z.object({
    ...base,
    op: z.literal('avgpool2d'),
    kernel: positiveInt,
    stride: positiveInt,
    padding,
  }),
  z.object({ ...base, op: z.literal('global_avg_pool') }),
  z.object({ ...base, op: z.literal('batchnorm') }),
  z.object({ ...base, op: z.literal('dropout'), rate: z.number().min(0).lt(1) }),
  z.object({ ...base, op: z.literal('flatten') }),
  z.object({ ...base, op: z.literal('dense'), units: positiveInt, bias: z.boolean() }),
  z.object({ ...base, op: z.literal('activation'), fn: z.enum(ACTIVATIONS) }),
  z.object({ ...base, op: z.literal('add') }),
  /**
   * Element-wise product of a feature map and a gate: either a map of the same shape, or a flat
   * vector of one value per channel, broadcast over height and width (squeeze-and-excitation).
   * FLOPs: one multiply per output element.
   */
  z.object({ ...base, op: z.literal('mul') }),
  z.object({ ...base, op: z.literal('concat') }),
  /**
   * The softmax(alpha)-weighted sum of k inputs of one shape, alpha being k architecture weights
   * the engine holds once per network and every mix node shares (a DARTS tournament network; see
   * src/search/darts-tournament.ts). Alpha is not counted in `params`: it is not a weight of any
   * network that comes out of the search. FLOPs: k multiplies and k - 1 adds per element.
   */
  z.object({ ...base, op: z.literal('mix') }),
]);
export type IrNode = z.infer<typeof irNodeSchema>;
export type IrOp = IrNode['op'];
export type NodeOf<Op extends IrOp> = Extract<IrNode, { op: Op }>;

export const architectureSchema = z.object({
  format: z.literal(IR_FORMAT),
  input: z.object({ channels: positiveInt, height: positiveInt, width: positiveInt }),
  nodes: z.array(irNodeSchema).min(2),
  output: id,
  /**
   * The feature maps that end the network's blocks (a cell, a reduction, a stage), in network
   * order; an id may repeat where a block is the identity and ends on its input. Optional: it only
   * tells block-level proxies (AZ-NAS) where the blocks are and changes nothing the network computes.
   * Without it, {@link blockOutputs} takes the maps every path from the input to the output goes
   * through.
   */
  blocks: z.array(id).optional(),
});
export type Architecture = z.infer<typeof architectureSchema>;
export type InputShape = Architecture['input'];

export type TensorShape =
  | {
      readonly kind: 'map';
      readonly channels: number;
      readonly height: number;
      readonly width: number;
    }
  | { readonly kind: 'flat'; readonly features: number };

/** Explicit zero padding on each side, as the engine and exporters apply it. */
export interface Pads {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

export interface LayerSummary {
  readonly id: string;
  readonly op: IrOp;
  readonly label: string;
  readonly inputShapes: readonly TensorShape[];
  readonly outputShape: TensorShape;
  /** Resolved padding of convolutions and pools. */
  readonly pads?: Pads;
  readonly params: number;
  readonly flops: number;
  readonly macs: number;
}

export interface ArchitectureSummary {
  readonly layers: readonly LayerSummary[];
  readonly params: number;
  readonly flops: number;
  readonly macs: number;
  readonly outputShape: TensorShape;
}

/** An architecture that cannot be built; the message names the node and the rule broken. */
export class ArchitectureError extends Error {
  constructor(
    message: string,
    readonly nodeId?: string,
  ) {
    super(message);
    this.name = 'ArchitectureError';
  }
}

export function formatShape(shape: TensorShape): string {
  return shape.kind === 'map'
    ? `${shape.channels}x${shape.height}x${shape.width}`
    : `${shape.features}`;
}

/** The values one image's tensor of this shape holds. */
export function tensorElements(shape: TensorShape): number {
  return shape.kind === 'map' ? shape.channels * shape.height * shape.width : shape.features;
}

/** Validates untrusted JSON as an architecture, with messages that name the offending field. */
export function parseArchitecture(value: unknown): Architecture {
  const result = architectureSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ArchitectureError(`invalid architecture: ${issues}`);
  }
  analyzeArchitecture(result.data);
  return result.data;
}

/**
 * Output size and padding of a sliding window along one axis. `same` follows Keras/TensorFlow:
 * output = ceil(in / stride), with any odd padding going to the bottom/right.
 */
function windowAxis(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: 'same' | 'valid' | number,
): { out: number; before: number; after: number } {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + span - size, 0);
    const before = Math.floor(total / 2);
    return { out, before, after: total - before };
  }
  const pad = padding === 'valid' ? 0 : padding;
  const out = Math.floor((size + 2 * pad - span) / stride) + 1;
  return { out, before: pad, after: pad };
}

function describe(node: IrNode): string {
  if (node.label) return node.label;
  switch (node.op) {
    case 'conv2d':
      return `conv ${node.filters} k${node.kernel} s${node.stride} ${node.padding}`;
    case 'maxpool2d':
    case 'avgpool2d':
      return `${node.op === 'maxpool2d' ? 'max' : 'avg'} pool k${node.kernel} s${node.stride}`;
    case 'dense':
      return `dense ${node.units}`;
    case 'activation':
      return node.fn;
    case 'dropout':
      return `dropout ${node.rate}`;
    default:
      return node.op;
  }
}

/** Shape inference with exact parameter and FLOP counts. Throws ArchitectureError. */
export function analyzeArchitecture(arch: Architecture): ArchitectureSummary {
  const shapes = new Map<string, TensorShape>();
  const layers: LayerSummary[] = [];
  const fail = (node: IrNode, reason: string): never => {
    throw new ArchitectureError(`node ${node.id} (${describe(node)}): ${reason}`, node.id);
  };

  for (const [index, node] of arch.nodes.entries()) {
    if (shapes.has(node.id)) fail(node, 'duplicate node id');
    const inputShapes = node.inputs.map((inputId) => {
      const shape = shapes.get(inputId);
      if (!shape) fail(node, `input "${inputId}" is not defined by an earlier node`);
      return shape as TensorShape;
    });
    const expectInputs = (count: number): void => {
      if (inputShapes.length !== count) {
        fail(node, `takes ${count} input${count === 1 ? '' : 's'}, got ${inputShapes.length}`);
      }
    };
    const mapInput = (): Extract<TensorShape, { kind: 'map' }> => {
      expectInputs(1);
      const shape = inputShapes[0] as TensorShape;
      if (shape.kind !== 'map')
        fail(node, `needs a feature map, got a flat vector of ${shape.features}`);
      return shape as Extract<TensorShape, { kind: 'map' }>;
    };

    let outputShape: TensorShape;
    let params = 0;
    let macs = 0;
    let flops = 0;
    let pads: Pads | undefined;

    switch (node.op) {
      case 'input': {
        if (index !== 0) fail(node, 'the input node must come first');
        expectInputs(0);
        outputShape = { kind: 'map', ...arch.input };
        break;
      }
      case 'conv2d': {
        const x = mapInput();
        if (x.channels % node.groups !== 0 || node.filters % node.groups !== 0) {
          fail(
            node,
            `groups ${node.groups} must divide input channels ${x.channels} and filters ${node.filters}`,
          );
        }
        if (node.padding === 'same' && node.stride !== 1 && node.dilation !== 1) {
          fail(node, 'same padding with both stride and dilation above 1 is not supported');
        }
        const h = windowAxis(x.height, node.kernel, node.stride, node.dilation, node.padding);
        const w = windowAxis(x.width, node.kernel, node.stride, node.dilation, node.padding);
        if (h.out < 1 || w.out < 1) {
          fail(node, `kernel ${node.kernel} does not fit its ${x.height}x${x.width} input`);
        }
        pads = { top: h.before, bottom: h.after, left: w.before, right: w.after };
        outputShape = { kind: 'map', channels: node.filters, height: h.out, width: w.out };
        const perOutput = (x.channels / node.groups) * node.kernel * node.kernel;
        params = perOutput * node.filters + (node.bias ? node.filters : 0);
        macs = perOutput * tensorElements(outputShape);
        flops = 2 * macs + (node.bias ? tensorElements(outputShape) : 0);
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        const x = mapInput();
        if (node.padding === 'same' && node.stride !== 1) {
          fail(node, 'pools take same padding only with stride 1; give an explicit padding');
        }
        const h = windowAxis(x.height, node.kernel, node.stride, 1, node.padding);
        const w = windowAxis(x.width, node.kernel, node.stride, 1, node.padding);
        if (h.before !== h.after || w.before !== w.after) {
          fail(node, `same padding of a pool needs an odd kernel, got ${node.kernel}`);
        }
        if (2 * h.before > node.kernel || 2 * w.before > node.kernel) {
          fail(node, `padding must be at most half the kernel ${node.kernel}`);
        }
        if (h.out < 1 || w.out < 1) {
          fail(node, `pool ${node.kernel} does not fit its ${x.height}x${x.width} input`);
        }
        pads = { top: h.before, bottom: h.after, left: w.before, right: w.after };
        outputShape = { kind: 'map', channels: x.channels, height: h.out, width: w.out };
        flops = node.kernel * node.kernel * tensorElements(outputShape);
        break;
      }
      case 'global_avg_pool': {
        const x = mapInput();
        outputShape = { kind: 'flat', features: x.channels };
        flops = tensorElements(x);
        break;
      }
      case 'batchnorm': {
        expectInputs(1);
        const x = inputShapes[0] as TensorShape;
        const channels = x.kind === 'map' ? x.channels : x.features;
        outputShape = x;
        params = 2 * channels;
        flops = 2 * tensorElements(x);
        break;
      }
      case 'dropout':
      case 'activation': {
        expectInputs(1);
        outputShape = inputShapes[0] as TensorShape;
        flops = node.op === 'activation' ? tensorElements(outputShape) : 0;
        break;
      }
      case 'flatten': {
        expectInputs(1);
        outputShape = { kind: 'flat', features: tensorElements(inputShapes[0] as TensorShape) };
        break;
      }
      case 'dense': {
        expectInputs(1);
        const x = inputShapes[0] as TensorShape;
        if (x.kind !== 'flat') {
          fail(
            node,
            `needs a flat vector, got a ${formatShape(x)} feature map (flatten or pool first)`,
          );
        }
        const inFeatures = tensorElements(x);
        outputShape = { kind: 'flat', features: node.units };
        params = inFeatures * node.units + (node.bias ? node.units : 0);
        macs = inFeatures * node.units;
        flops = 2 * macs + (node.bias ? node.units : 0);
        break;
      }
      case 'add':
      case 'mix': {
        if (inputShapes.length < 2) fail(node, `${node.op} takes at least 2 inputs`);
        const first = inputShapes[0] as TensorShape;
        for (const other of inputShapes) {
          if (formatShape(other) !== formatShape(first) || other.kind !== first.kind) {
            fail(node, `inputs differ in shape: ${inputShapes.map(formatShape).join(' vs ')}`);
          }
        }
        outputShape = first;
        // add: k - 1 adds per element; mix: k multiplies and k - 1 adds.
        const k = inputShapes.length;
        flops = (node.op === 'add' ? k - 1 : 2 * k - 1) * tensorElements(first);
        break;
      }
      case 'mul': {
        expectInputs(2);
        const [x, gate] = inputShapes as [TensorShape, TensorShape];
        if (x.kind !== 'map')
          fail(node, `the first input must be a feature map, got ${formatShape(x)}`);
        const map = x as Extract<TensorShape, { kind: 'map' }>;
        const perChannel = gate.kind === 'flat' && gate.features === map.channels;
        if (!perChannel && formatShape(gate) !== formatShape(map)) {
          fail(
            node,
            `the gate must be a ${formatShape(map)} map or ${map.channels} values (one per channel), got ${formatShape(gate)}`,
          );
        }
        outputShape = map;
        flops = tensorElements(map);
        break;
      }
      case 'concat': {
        if (inputShapes.length < 2) fail(node, 'concat takes at least 2 inputs');
        const first = inputShapes[0] as TensorShape;
        if (first.kind === 'map') {
          let channels = 0;
          for (const other of inputShapes) {
            if (
              other.kind !== 'map' ||
              other.height !== first.height ||
              other.width !== first.width
            ) {
              fail(
                node,
                `inputs differ in spatial size: ${inputShapes.map(formatShape).join(' vs ')}`,
              );
            }
            channels += (other as Extract<TensorShape, { kind: 'map' }>).channels;
          }
          outputShape = { kind: 'map', channels, height: first.height, width: first.width };
        } else {
          let features = 0;
          for (const other of inputShapes) {
            if (other.kind !== 'flat') fail(node, 'cannot concat a flat vector with a feature map');
            features += tensorElements(other);
          }
          outputShape = { kind: 'flat', features };
        }
        break;
      }
    }
    shapes.set(node.id, outputShape);
    layers.push({
      id: node.id,
      op: node.op,
      label: describe(node),
      inputShapes,
      outputShape,
      ...(pads ? { pads } : {}),
      params,
      flops,
      macs,
    });
  }

  const first = arch.nodes[0];
  if (!first || first.op !== 'input') {
    throw new ArchitectureError('the first node must be the input node');
  }
  const outputShape = shapes.get(arch.output);
  if (!outputShape) throw new ArchitectureError(`output "${arch.output}" is not a node`);
  if (outputShape.kind !== 'flat') {
    throw new ArchitectureError(
      `output ${arch.output} must be a flat vector of class scores, got ${formatShape(outputShape)}`,
    );
  }
  if (arch.blocks) checkBlocks(arch, shapes);
  const sum = (key: 'params' | 'flops' | 'macs'): number =>
    layers.reduce((total, layer) => total + layer[key], 0);
  return { layers, params: sum('params'), flops: sum('flops'), macs: sum('macs'), outputShape };
}

/** Every declared block names a feature map, in network order. */
function checkBlocks(arch: Architecture, shapes: ReadonlyMap<string, TensorShape>): void {
  const position = new Map(arch.nodes.map((node, index) => [node.id, index]));
  let previous = 0;
  for (const [at, block] of (arch.blocks ?? []).entries()) {
    const index = position.get(block);
    if (index === undefined) throw new ArchitectureError(`blocks[${at}]: "${block}" is not a node`);
    const shape = shapes.get(block);
    if (shape?.kind !== 'map') {
      throw new ArchitectureError(
        `blocks[${at}]: "${block}" is ${shape ? `a flat vector of ${formatShape(shape)}` : 'not a tensor'}, and a block ends on a feature map`,
      );
    }
    if (index < previous) {
      throw new ArchitectureError(
        `blocks[${at}]: "${block}" comes before the block listed ahead of it; list blocks in network order`,
      );
    }
    previous = index;
  }
}

/**
 * The ids of the feature maps that end the network's blocks, in order: the architecture's own
 * `blocks` when it declares them; otherwise every feature map (the input aside) that all paths from
 * the input to the output pass through, so each is a point where the network narrows to one tensor.
 * `analysed` is the architecture's summary, for a caller that has it already (only the fallback reads it).
 */
export function blockOutputs(arch: Architecture, analysed?: ArchitectureSummary): string[] {
  if (arch.blocks) return [...arch.blocks];
  const summary = analysed ?? analyzeArchitecture(arch);
  const consumers = new Map<string, string[]>(arch.nodes.map((node) => [node.id, []]));
  for (const node of arch.nodes) {
    for (const input of node.inputs) consumers.get(input)?.push(node.id);
  }
  const inputId = arch.nodes[0]?.id as string;
  /** Whether the output can be reached from the input without passing through `removed`. */
  const reachesOutput = (removed: string): boolean => {
    const seen = new Set<string>([inputId]);
    const stack = [inputId];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (id === arch.output) return true;
      for (const next of consumers.get(id) ?? []) {
        if (next === removed || seen.has(next)) continue;
        seen.add(next);
        stack.push(next);
      }
    }
    return false;
  };
  return arch.nodes
    .filter(
      (node, index) =>
        index > 0 && summary.layers[index]?.outputShape.kind === 'map' && !reachesOutput(node.id),
    )
    .map((node) => node.id);
}
