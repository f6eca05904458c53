/**
 * A layered drawing of an architecture graph for the candidate page: each node sits one layer
 * below its deepest input, nodes of a layer are ordered by where their inputs are (one
 * barycentre pass), and edges that skip layers are drawn round the right-hand side so that they
 * never cross the boxes in between.
 */
import { type Architecture, type ArchitectureSummary, formatShape } from '../space/ir.js';
import type { Diagram, DiagramEdge, DiagramNode } from './api-types.js';

const NODE_WIDTH = 190;
const NODE_HEIGHT = 42;
const GAP_X = 36;
const GAP_Y = 26;
const MARGIN = 16;
/** Horizontal distance between the detours of successive long edges. */
const DETOUR_STEP = 14;

/** Positions every node and routes every edge; the summary supplies labels and shapes. */
export function layoutArchitecture(arch: Architecture, summary: ArchitectureSummary): Diagram {
  const layers = new Map(summary.layers.map((layer) => [layer.id, layer]));
  const rank = new Map<string, number>();
  for (const node of arch.nodes) {
    const inputs = node.inputs.map((id) => rank.get(id) ?? 0);
    rank.set(node.id, inputs.length === 0 ? 0 : Math.max(...inputs) + 1);
  }
  const ranks: string[][] = [];
  for (const node of arch.nodes) {
    const r = rank.get(node.id) as number;
    (ranks[r] ??= []).push(node.id);
  }
  // One top-down barycentre pass: order each layer by the mean position of its inputs.
  const order = new Map<string, number>();
  const inputsOf = new Map(arch.nodes.map((node) => [node.id, node.inputs]));
  for (const ids of ranks) {
    const keyed = ids.map((id, index) => {
      const positions = (inputsOf.get(id) ?? []).map((input) => order.get(input) ?? 0);
      const mean =
        positions.length === 0 ? index : positions.reduce((a, b) => a + b, 0) / positions.length;
      return { id, mean, index };
    });
    keyed.sort((a, b) => a.mean - b.mean || a.index - b.index);
    keyed.forEach(({ id }, position) => order.set(id, position));
    ids.splice(0, ids.length, ...keyed.map((k) => k.id));
  }
  const widest = Math.max(...ranks.map((ids) => ids.length));
  const columnsWidth = widest * NODE_WIDTH + (widest - 1) * GAP_X;
  const nodes: DiagramNode[] = [];
  const placed = new Map<string, DiagramNode>();
  ranks.forEach((ids, r) => {
    const rowWidth = ids.length * NODE_WIDTH + (ids.length - 1) * GAP_X;
    const left = MARGIN + (columnsWidth - rowWidth) / 2;
    ids.forEach((id, position) => {
      const layer = layers.get(id);
      const node: DiagramNode = {
        id,
        op: layer?.op ?? 'unknown',
        title: layer?.label ?? id,
        detail: layer === undefined ? '' : formatShape(layer.outputShape),
        x: left + position * (NODE_WIDTH + GAP_X),
        y: MARGIN + r * (NODE_HEIGHT + GAP_Y),
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
      };
      nodes.push(node);
      placed.set(id, node);
    });
  });
  const edges: DiagramEdge[] = [];
  let detours = 0;
  const right = MARGIN + columnsWidth;
  for (const node of arch.nodes) {
    const target = placed.get(node.id) as DiagramNode;
    for (const input of node.inputs) {
      const source = placed.get(input);
      if (source === undefined) continue;
      const span = (rank.get(node.id) as number) - (rank.get(input) as number);
      edges.push({
        from: input,
        to: node.id,
        path: edgePath(source, target, span, right, detours),
      });
      if (span > 1) detours += 1;
    }
  }
  const height = MARGIN * 2 + ranks.length * NODE_HEIGHT + Math.max(0, ranks.length - 1) * GAP_Y;
  const width = right + MARGIN + (detours > 0 ? 20 + detours * DETOUR_STEP : 0);
  return { width, height, nodes, edges };
}

function edgePath(
  source: DiagramNode,
  target: DiagramNode,
  span: number,
  right: number,
  detour: number,
): string {
  const round = (value: number): number => Math.round(value * 10) / 10;
  if (span > 1) {
    // Out of the source's right side, down beyond every column, into the target's right side.
    const sy = source.y + source.height / 2;
    const ty = target.y + target.height / 2;
    const x = right + 20 + detour * DETOUR_STEP;
    const sx = source.x + source.width;
    const tx = target.x + target.width;
    return `M ${round(sx)} ${round(sy)} C ${round(x)} ${round(sy)} ${round(x)} ${round(ty)} ${round(tx)} ${round(ty)}`;
  }
  const x1 = source.x + source.width / 2;
  const y1 = source.y + source.height;
  const x2 = target.x + target.width / 2;
  const y2 = target.y;
  const mid = (y1 + y2) / 2;
  return `M ${round(x1)} ${round(y1)} C ${round(x1)} ${round(mid)} ${round(x2)} ${round(mid)} ${round(x2)} ${round(y2)}`;
}
