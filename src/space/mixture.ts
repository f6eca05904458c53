/**
 * Mixture networks for DARTS tournaments: k candidate networks in one, whose output is the
 * softmax(alpha)-weighted sum of theirs (IR `mix` nodes sharing one alpha of k). Training the
 * weights on training batches and alpha on validation batches, in alternation, then ranks the
 * candidates by alpha (src/search/darts-tournament.ts).
 */
import { type Architecture, type IrNode, IR_FORMAT, analyzeArchitecture } from './ir.js';
import type { CompileTarget, SearchSpace } from './space.js';

/**
 * The whole networks side by side on one input, their outputs mixed: what any space gets. Node
 * ids get a `k<i>_` prefix; the mix node is `mix_output`.
 */
export function mixWholeNetworks(architectures: readonly Architecture[]): Architecture {
  if (architectures.length < 2) throw new Error('a mixture needs at least 2 networks');
  const first = architectures[0] as Architecture;
  const outputs: string[] = [];
  const nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];
  architectures.forEach((architecture, k) => {
    const same = architecture.input;
    if (
      same.channels !== first.input.channels ||
      same.height !== first.input.height ||
      same.width !== first.input.width
    ) {
      throw new Error('networks in a mixture must take the same input');
    }
    const inputId = architecture.nodes.find((node) => node.op === 'input')?.id;
    const rename = (id: string): string => (id === inputId ? 'input' : `k${k}_${id}`);
    for (const node of architecture.nodes) {
      if (node.op === 'input') continue;
      nodes.push({ ...node, id: rename(node.id), inputs: node.inputs.map(rename) } as IrNode);
    }
    outputs.push(rename(architecture.output));
  });
  nodes.push({ id: 'mix_output', op: 'mix', inputs: outputs });
  const mixture: Architecture = {
    format: IR_FORMAT,
    input: { ...first.input },
    nodes,
    output: 'mix_output',
  };
  analyzeArchitecture(mixture); // throws, naming the node, if the outputs differ in shape
  return mixture;
}

/** The space's own mixture when it has one (cells: per position), else {@link mixWholeNetworks}. */
export function compileMixture<G>(
  space: SearchSpace<G>,
  genomes: readonly G[],
  target: CompileTarget,
): Architecture {
  if (space.compileMixture) return space.compileMixture(genomes, target);
  return mixWholeNetworks(genomes.map((genome) => space.compile(genome, target)));
}
