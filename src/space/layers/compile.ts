/**
 * Compiles a layer list to the IR.
 *
 * Node ids come from gene ids, so an unchanged layer keeps its node id (and so its trained
 * weights) across mutation and crossover:
 * - each layer's node takes its gene's id (conv2d, maxpool2d, avgpool2d, batchnorm, dropout,
 *   dense); convs and dense layers are followed by their activation, `<id>_act`, and a conv
 *   with batch norm (`bn`) has `<id>_bn` between the two;
 * - `flatten` comes just before the first dense layer when the map reaches it;
 * - the skips into layer `t` add, after t's own nodes, `<t>_from_<s>_pool` and `<t>_from_<s>_proj`
 *   (the fitting average pool and 1x1 convolution of the skip from `s`, where needed) and then
 *   `<t>_add`, the sum of t's output and every skip into t (in the order of their sources);
 * - the head, appended after the last layer: `flatten` if the list still ends on a feature map,
 *   then `logits`, a dense layer of `classes` units with bias and no activation (the class
 *   scores).
 */
import {
  type Architecture,
  IR_FORMAT,
  type IrNode,
  type TensorShape,
  analyzeArchitecture,
} from '../ir.js';
import type { CompileTarget } from '../space.js';
import { type LayerGene, type LayerGenome, formatLayer } from './genes.js';
import { LayerSpaceError, diagnose } from './repair.js';
import { fitSkip } from './shapes.js';

function layerNodes(gene: LayerGene, input: string): IrNode[] {
  const label = formatLayer(gene);
  const base = { id: gene.id, inputs: [input], label };
  switch (gene.kind) {
    case 'conv':
      return [
        {
          ...base,
          op: 'conv2d',
          filters: gene.filters,
          kernel: gene.kernel,
          stride: gene.stride,
          padding: 'same',
          dilation: 1,
          groups: 1,
          bias: !gene.norm,
        },
        ...(gene.norm
          ? [{ id: `${gene.id}_bn`, op: 'batchnorm' as const, inputs: [gene.id] }]
          : []),
        {
          id: `${gene.id}_act`,
          op: 'activation',
          inputs: [gene.norm ? `${gene.id}_bn` : gene.id],
          fn: gene.activation,
        },
      ];
    case 'maxpool':
    case 'avgpool':
      return [
        {
          ...base,
          op: gene.kind === 'maxpool' ? 'maxpool2d' : 'avgpool2d',
          kernel: gene.kernel,
          stride: gene.stride,
          padding: 'valid',
        },
      ];
    case 'batchnorm':
      return [{ ...base, op: 'batchnorm' }];
    case 'dropout':
      return [{ ...base, op: 'dropout', rate: gene.rate }];
    case 'dense':
      return [
        { ...base, op: 'dense', units: gene.units, bias: true },
        { id: `${gene.id}_act`, op: 'activation', inputs: [gene.id], fn: gene.activation },
      ];
  }
}

/** Compiles a buildable layer list; throws a {@link LayerSpaceError} listing what is broken. */
export function compileLayers(genome: LayerGenome, target: CompileTarget): Architecture {
  const { issues, shapes } = diagnose(genome, target);
  if (issues.length > 0) {
    const { channels, height, width } = target.input;
    throw new LayerSpaceError(
      `the layer list cannot be built for a ${channels}x${height}x${width} input: ${issues.map((issue) => issue.problem).join('; ')}`,
    );
  }
  const index = new Map(genome.layers.map((gene, i) => [gene.id, i]));
  const nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];
  /** The node holding each layer's output (its add, when skips end there). */
  const outputs = new Map<string, string>();
  let previous = 'input';
  let shape: TensorShape = { kind: 'map', ...target.input };

  for (const [position, gene] of genome.layers.entries()) {
    if (gene.kind === 'dense' && shape.kind === 'map') {
      nodes.push({ id: 'flatten', op: 'flatten', inputs: [previous] });
      previous = 'flatten';
    }
    const own = layerNodes(gene, previous);
    nodes.push(...own);
    previous = (own.at(-1) as IrNode).id;
    shape = shapes[position] as TensorShape;

    const incoming = genome.skips
      .filter((skip) => skip.to === gene.id)
      .sort((a, b) => (index.get(a.from) as number) - (index.get(b.from) as number));
    if (incoming.length > 0) {
      const summands = [previous];
      for (const skip of incoming) {
        const from = index.get(skip.from) as number;
        const fit = fitSkip(shapes[from] as TensorShape, shape);
        if (!fit.ok) throw new Error(`internal: skip ${skip.from} -> ${skip.to}: ${fit.reason}`);
        const label = `skip ${from + 1} -> ${position + 1}`;
        let source = outputs.get(skip.from) as string;
        const { pool, conv } = fit.plan;
        if (pool) {
          const id = `${gene.id}_from_${skip.from}_pool`;
          nodes.push({
            id,
            op: 'avgpool2d',
            inputs: [source],
            label: `${label}: avgpool k${pool.kernel} s${pool.stride}`,
            kernel: pool.kernel,
            stride: pool.stride,
            padding: 'valid',
          });
          source = id;
        }
        if (conv) {
          const id = `${gene.id}_from_${skip.from}_proj`;
          nodes.push({
            id,
            op: 'conv2d',
            inputs: [source],
            label: `${label}: 1x1 projection to ${conv.filters} s${conv.stride}`,
            filters: conv.filters,
            kernel: 1,
            stride: conv.stride,
            padding: 'valid',
            dilation: 1,
            groups: 1,
            bias: false,
          });
          source = id;
        }
        summands.push(source);
      }
      const id = `${gene.id}_add`;
      nodes.push({ id, op: 'add', inputs: summands });
      previous = id;
    }
    outputs.set(gene.id, previous);
  }

  if (shape.kind === 'map') {
    nodes.push({ id: 'flatten', op: 'flatten', inputs: [previous] });
    previous = 'flatten';
  }
  nodes.push({ id: 'logits', op: 'dense', inputs: [previous], units: target.classes, bias: true });
  const arch: Architecture = { format: IR_FORMAT, input: target.input, nodes, output: 'logits' };
  analyzeArchitecture(arch); // guards this compiler: the shapes were checked above
  return arch;
}
