/**
 * Lowers the IR to the engine plan the native addon builds from: nodes referenced by index, with
 * channel counts and paddings resolved by shape inference, so the C++ side does no inference.
 */
import { type Architecture, analyzeArchitecture, blockOutputs } from '../space/ir.js';

export type PlanNode =
  | { op: 'input'; name: string; inputs: number[] }
  | {
      op: 'conv2d';
      name: string;
      inputs: number[];
      inChannels: number;
      outChannels: number;
      kernel: number;
      stride: number;
      dilation: number;
      groups: number;
      bias: boolean;
      /** top, bottom, left, right */
      pads: [number, number, number, number];
    }
  | {
      op: 'maxpool2d' | 'avgpool2d';
      name: string;
      inputs: number[];
      kernel: number;
      stride: number;
      pads: [number, number, number, number];
    }
  | { op: 'batchnorm'; name: string; inputs: number[]; features: number; spatial: boolean }
  | { op: 'dropout'; name: string; inputs: number[]; rate: number }
  | {
      op: 'dense';
      name: string;
      inputs: number[];
      inFeatures: number;
      outFeatures: number;
      bias: boolean;
    }
  | { op: 'activation'; name: string; inputs: number[]; fn: string }
  | {
      op: 'global_avg_pool' | 'flatten' | 'add' | 'mul' | 'concat' | 'mix';
      name: string;
      inputs: number[];
    };

export interface EnginePlan {
  readonly nodes: PlanNode[];
  readonly output: number;
  /** The nodes that end the network's blocks, in order ({@link blockOutputs}): AZ-NAS reads them. */
  readonly blocks: number[];
}

export function lowerToPlan(arch: Architecture): EnginePlan {
  const summary = analyzeArchitecture(arch);
  const index = new Map(arch.nodes.map((node, i) => [node.id, i]));
  const nodes = arch.nodes.map((node, i): PlanNode => {
    const layer = summary.layers[i];
    if (!layer) throw new Error(`internal: no summary for node ${node.id}`);
    const inputs = node.inputs.map((id) => index.get(id) as number);
    const input = layer.inputShapes[0];
    const pads: [number, number, number, number] = layer.pads
      ? [layer.pads.top, layer.pads.bottom, layer.pads.left, layer.pads.right]
      : [0, 0, 0, 0];
    const name = node.id;
    switch (node.op) {
      case 'conv2d':
        if (input?.kind !== 'map') throw new Error(`internal: conv ${node.id} without a map input`);
        return {
          op: 'conv2d',
          name,
          inputs,
          inChannels: input.channels,
          outChannels: node.filters,
          kernel: node.kernel,
          stride: node.stride,
          dilation: node.dilation,
          groups: node.groups,
          bias: node.bias,
          pads,
        };
      case 'maxpool2d':
      case 'avgpool2d':
        return { op: node.op, name, inputs, kernel: node.kernel, stride: node.stride, pads };
      case 'batchnorm':
        return {
          op: 'batchnorm',
          name,
          inputs,
          features: input?.kind === 'map' ? input.channels : (input?.features ?? 0),
          spatial: input?.kind === 'map',
        };
      case 'dropout':
        return { op: 'dropout', name, inputs, rate: node.rate };
      case 'dense':
        if (input?.kind !== 'flat')
          throw new Error(`internal: dense ${node.id} without a flat input`);
        return {
          op: 'dense',
          name,
          inputs,
          inFeatures: input.features,
          outFeatures: node.units,
          bias: node.bias,
        };
      case 'activation':
        return { op: 'activation', name, inputs, fn: node.fn };
      default:
        return { op: node.op, name, inputs };
    }
  });
  return {
    nodes,
    output: index.get(arch.output) as number,
    blocks: blockOutputs(arch, summary).map((id) => index.get(id) as number),
  };
}
