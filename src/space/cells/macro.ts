/**
 * The NAS-Bench-201 macro network (its `TinyNetwork`) in the IR:
 *
 *   stem: conv 3x3 (C filters, no bias) + batch norm
 *   N cells at C, residual reduction to 2C, N cells at 2C, residual reduction to 4C, N cells at 4C
 *   head: batch norm + ReLU, global average pool, dense (classes, with bias)
 *
 * A residual reduction is NAS-Bench-201's `ResNetBasicblock` with stride 2: ReLU-conv 3x3 stride 2
 * (padding 1)-BN, then ReLU-conv 3x3-BN, plus a shortcut of 2x2 average pooling (stride 2) and a
 * 1x1 conv without bias. Cell ops: `nor_conv_kxk` is ReLU, conv kxk (padding k/2, no bias), BN;
 * `avg_pool_3x3` is 3x3 average pooling, stride 1, padding 1, padding excluded from the average
 * (the engine's avgpool2d, as NAS-Bench-201's `count_include_pad=False`); `skip_connect` is the
 * identity and `none` nothing. Every batch norm is affine.
 *
 * Only live edges are compiled (see {@link analyzeCell}): an edge out of an all-zero node, or into
 * a node that never reaches the cell's output, adds no layer. Edges whose ReLU-conv-BN share a
 * source node share one ReLU node, which computes the same thing as NAS-Bench-201's one per edge.
 *
 * Node ids depend only on position and op, so a layer keeps its id (and its inherited weights)
 * while its edge keeps its op: `s<stage>c<cell>_e<from><to>_<op>` for cell edges, e.g.
 * `s1c2_e13_conv3` with its batch norm `s1c2_e13_conv3_bn`, or `s3c1_e02_avgpool`; `r1_conv_a`,
 * `r1_conv_b`, `r1_down_conv` for the reductions; `stem_conv`, `stem_bn`, `head_bn`, `head_fc`.
 */
import type { Architecture, IrNode } from '../ir.js';
import { IR_FORMAT } from '../ir.js';
import type { CompileTarget } from '../space.js';
import {
  CELL_EDGES,
  CELL_NODES,
  type CellEdge,
  type CellOp,
  type CellOps,
  analyzeCell,
  formatCell,
} from './arch-string.js';

export interface MacroOptions {
  /** C: channels of the first stage (the second has 2C, the third 4C). */
  readonly channels: number;
  /** N: cells per stage. */
  readonly cellsPerStage: number;
}

/** NAS-Bench-201's macro network: C = 16, N = 5. */
export const NB201_MACRO: MacroOptions = { channels: 16, cellsPerStage: 5 };

const STAGES = 3;
/** Each residual reduction halves the feature map: it takes even sizes only. */
const SIZE_DIVISOR = 2 ** (STAGES - 1);

/** A cell or target the macro network cannot be built for; the message says why. */
export class CellCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CellCompileError';
  }
}

const OP_SUFFIX: Record<Exclude<CellOp, 'none' | 'skip_connect'>, string> = {
  nor_conv_1x1: 'conv1',
  nor_conv_3x3: 'conv3',
  avg_pool_3x3: 'avgpool',
};

class GraphBuilder {
  readonly nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];

  private push(node: IrNode): string {
    this.nodes.push(node);
    return node.id;
  }

  conv(id: string, input: string, filters: number, kernel: number, stride: number): string {
    return this.push({
      id,
      op: 'conv2d',
      inputs: [input],
      filters,
      kernel,
      stride,
      padding: Math.floor(kernel / 2),
      dilation: 1,
      groups: 1,
      bias: false,
    });
  }

  batchnorm(id: string, input: string): string {
    return this.push({ id, op: 'batchnorm', inputs: [input] });
  }

  relu(id: string, input: string): string {
    return this.push({ id, op: 'activation', inputs: [input], fn: 'relu' });
  }

  avgpool(id: string, input: string, kernel: number, stride: number, padding: number): string {
    return this.push({ id, op: 'avgpool2d', inputs: [input], kernel, stride, padding });
  }

  add(id: string, inputs: string[]): string {
    return this.push({ id, op: 'add', inputs });
  }

  mix(id: string, inputs: string[]): string {
    return this.push({ id, op: 'mix', inputs });
  }

  /** NAS-Bench-201's ReLUConvBN after an existing ReLU node. */
  convBn(id: string, reluOutput: string, filters: number, kernel: number, stride: number): string {
    return this.batchnorm(`${id}_bn`, this.conv(id, reluOutput, filters, kernel, stride));
  }

  /** NAS-Bench-201's `ResNetBasicblock(C_in, C_out, stride 2)`. */
  reduction(prefix: string, input: string, filters: number): string {
    const a = this.convBn(
      `${prefix}_conv_a`,
      this.relu(`${prefix}_conv_a_relu`, input),
      filters,
      3,
      2,
    );
    const b = this.convBn(`${prefix}_conv_b`, this.relu(`${prefix}_conv_b_relu`, a), filters, 3, 1);
    const pooled = this.avgpool(`${prefix}_down_pool`, input, 2, 2, 0);
    const shortcut = this.conv(`${prefix}_down_conv`, pooled, filters, 1, 1);
    return this.add(`${prefix}_add`, [shortcut, b]);
  }

  /** One cell; returns the id of the tensor of its node 3. */
  cell(
    prefix: string,
    input: string,
    ops: CellOps,
    liveEdges: readonly number[],
    filters: number,
  ): string {
    const values: string[] = [input];
    const relus = new Map<number, string>();
    const reluOf = (node: number): string => {
      let id = relus.get(node);
      if (id === undefined) {
        id = this.relu(`${prefix}_n${node}_relu`, values[node] as string);
        relus.set(node, id);
      }
      return id;
    };
    for (let to = 1; to < CELL_NODES; to += 1) {
      const terms: string[] = [];
      for (const index of liveEdges) {
        const edge = CELL_EDGES[index] as CellEdge;
        if (edge.to !== to) continue;
        const op = ops[index] as CellOp;
        const source = values[edge.from] as string;
        const id = `${prefix}_e${edge.from}${edge.to}`;
        switch (op) {
          case 'skip_connect':
            terms.push(source);
            break;
          case 'nor_conv_1x1':
          case 'nor_conv_3x3':
            terms.push(
              this.convBn(
                `${id}_${OP_SUFFIX[op]}`,
                reluOf(edge.from),
                filters,
                op === 'nor_conv_1x1' ? 1 : 3,
                1,
              ),
            );
            break;
          case 'avg_pool_3x3':
            terms.push(this.avgpool(`${id}_${OP_SUFFIX[op]}`, source, 3, 1, 1));
            break;
          case 'none':
            break;
        }
      }
      // A node with no live input is never read (analyzeCell makes its out-edges dead).
      values.push(terms.length > 1 ? this.add(`${prefix}_n${to}`, terms) : (terms[0] ?? ''));
    }
    return values[CELL_NODES - 1] as string;
  }
}

/**
 * The macro network around one cell, repeated in every cell position. Throws a
 * {@link CellCompileError} for a cell whose output is always zero, or an input whose height or
 * width is not a multiple of 4.
 */
export function compileCellNetwork(
  ops: CellOps,
  macro: MacroOptions,
  target: CompileTarget,
): Architecture {
  return buildMacroNetwork([ops], macro, target);
}

/**
 * A DARTS tournament network: the macro network where every cell position holds all of `cells`
 * side by side, fed the same input, and outputs their softmax(alpha)-weighted sum (a `mix` node,
 * `s<stage>c<cell>_mix`; the cells' nodes get `_k<i>` after their position prefix). Alpha is one
 * vector of `cells.length` shared by every position, so after training its largest entry names
 * the tournament's winner.
 */
export function compileCellMixture(
  cells: readonly CellOps[],
  macro: MacroOptions,
  target: CompileTarget,
): Architecture {
  if (cells.length < 2) throw new CellCompileError('a cell tournament needs at least 2 cells');
  return buildMacroNetwork(cells, macro, target);
}

function buildMacroNetwork(
  cells: readonly CellOps[],
  macro: MacroOptions,
  target: CompileTarget,
): Architecture {
  const analysed = cells.map((ops) => {
    const { liveEdges, hasOutput } = analyzeCell(ops);
    if (!hasOutput) {
      throw new CellCompileError(
        `cell ${formatCell(ops)} has no path of non-none edges from node 0 to node 3, so its output is always zero; it cannot be compiled`,
      );
    }
    return { ops, liveEdges };
  });
  checkCellTarget(target);
  const graph = new GraphBuilder();
  const stem = graph.batchnorm('stem_bn', graph.conv('stem_conv', 'input', macro.channels, 3, 1));
  let current = stem;
  // The stem, every cell and every reduction end a block (AZ-NAS's cell features).
  const blocks = [stem];
  for (let stage = 1; stage <= STAGES; stage += 1) {
    const filters = macro.channels * 2 ** (stage - 1);
    if (stage > 1) {
      current = graph.reduction(`r${stage - 1}`, current, filters);
      blocks.push(current);
    }
    for (let cell = 1; cell <= macro.cellsPerStage; cell += 1) {
      const prefix = `s${stage}c${cell}`;
      const input = current;
      if (analysed.length === 1) {
        const only = analysed[0] as (typeof analysed)[number];
        current = graph.cell(prefix, input, only.ops, only.liveEdges, filters);
      } else {
        const outputs = analysed.map((c, k) =>
          graph.cell(`${prefix}_k${k}`, input, c.ops, c.liveEdges, filters),
        );
        current = graph.mix(`${prefix}_mix`, outputs);
      }
      blocks.push(current);
    }
  }
  const head = graph.relu('head_relu', graph.batchnorm('head_bn', current));
  graph.nodes.push({ id: 'head_pool', op: 'global_avg_pool', inputs: [head] });
  graph.nodes.push({
    id: 'head_fc',
    op: 'dense',
    inputs: ['head_pool'],
    units: target.classes,
    bias: true,
  });
  return {
    format: IR_FORMAT,
    input: { ...target.input },
    nodes: graph.nodes,
    output: 'head_fc',
    blocks,
  };
}

/** Throws a {@link CellCompileError} unless the input size survives the two reductions. */
export function checkCellTarget(target: CompileTarget): void {
  const { height, width } = target.input;
  if (height % SIZE_DIVISOR !== 0 || width % SIZE_DIVISOR !== 0) {
    throw new CellCompileError(
      `the cell network halves its input ${STAGES - 1} times with residual reductions (2x2 pooling shortcuts), so the input height and width must be multiples of ${SIZE_DIVISOR}; got ${height}x${width}`,
    );
  }
}
