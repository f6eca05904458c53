/**
 * The tensors a trained network of an architecture holds, named as the engine names them
 * (`<node id>.weight`, `.bias`, and batch norm's `.running_mean` / `.running_var`), with their
 * shapes (PyTorch layouts: conv [out, in/groups, k, k], dense [out, in]).
 */
import type { WeightMap } from '../engine/engine.js';
import { type Architecture, analyzeArchitecture } from '../space/ir.js';

/** Name -> shape of every tensor the architecture's network has, in node order. */
export function expectedWeightShapes(architecture: Architecture): Map<string, number[]> {
  const summary = analyzeArchitecture(architecture);
  const shapes = new Map<string, number[]>();
  architecture.nodes.forEach((node, index) => {
    const input = summary.layers[index]?.inputShapes[0];
    switch (node.op) {
      case 'conv2d': {
        const channels = input?.kind === 'map' ? input.channels : 0;
        shapes.set(`${node.id}.weight`, [
          node.filters,
          channels / node.groups,
          node.kernel,
          node.kernel,
        ]);
        if (node.bias) shapes.set(`${node.id}.bias`, [node.filters]);
        break;
      }
      case 'dense': {
        const features = input?.kind === 'flat' ? input.features : 0;
        shapes.set(`${node.id}.weight`, [node.units, features]);
        if (node.bias) shapes.set(`${node.id}.bias`, [node.units]);
        break;
      }
      case 'batchnorm': {
        const channels = input?.kind === 'map' ? input.channels : (input?.features ?? 0);
        for (const part of ['weight', 'bias', 'running_mean', 'running_var']) {
          shapes.set(`${node.id}.${part}`, [channels]);
        }
        break;
      }
      default:
        break;
    }
  });
  return shapes;
}

/**
 * The ways `weights` fail to fit the architecture (missing, unexpected or misshapen tensors), as
 * sentences; empty when they fit.
 */
export function weightProblems(architecture: Architecture, weights: WeightMap): string[] {
  const expected = expectedWeightShapes(architecture);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const tensor = weights[name];
    if (!tensor) {
      problems.push(`tensor ${name} [${shape.join(', ')}] is missing`);
    } else if (tensor.shape.join(',') !== shape.join(',')) {
      problems.push(
        `tensor ${name} has shape [${tensor.shape.join(', ')}], the architecture needs [${shape.join(', ')}]`,
      );
    } else if (!tensor.data.every(Number.isFinite)) {
      problems.push(`tensor ${name} holds NaN or infinite values`);
    }
  }
  for (const name of Object.keys(weights)) {
    if (!expected.has(name))
      problems.push(`tensor ${name} belongs to no layer of the architecture`);
  }
  return problems;
}

/** The weights of `architecture` from `weights`, in node order; throws naming every problem. */
export function checkedWeights(architecture: Architecture, weights: WeightMap): WeightMap {
  const problems = weightProblems(architecture, weights);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new Error(`the weights do not fit the architecture: ${shown}${more}`);
  }
  const ordered: Record<string, WeightMap[string]> = {};
  for (const name of expectedWeightShapes(architecture).keys()) {
    ordered[name] = weights[name] as WeightMap[string];
  }
  return ordered;
}

/** Why a network with a `mix` node (a DARTS tournament network) cannot be exported. */
export const MIX_NOT_EXPORTABLE = (id: string): string =>
  `node ${id} is a mix node: a DARTS tournament network only ranks its cells and is not exported; export the winning cell's own network`;

/** Throws {@link MIX_NOT_EXPORTABLE} for an architecture with a mix node. */
export function refuseMixtures(architecture: Architecture): void {
  const mix = architecture.nodes.find((node) => node.op === 'mix');
  if (mix) throw new Error(MIX_NOT_EXPORTABLE(mix.id));
}
