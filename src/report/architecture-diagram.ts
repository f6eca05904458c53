/**
 * An architecture drawn as a standalone SVG: a vertical layered layout where every node sits one
 * layer below its deepest input, boxes labelled with the layer, its op and its output shape, and
 * an arrow for every input, so skips and branches show. Edges between adjacent layers go
 * straight down; an edge that skips layers runs through the gaps between layers and down a lane on
 * the right-hand side of the drawing, so that it never crosses a box.
 *
 * Pure: no ids, no external references, so any number of diagrams can be inlined in one page.
 */
import { formatCompact } from '../util/format.js';
import {
  type Architecture,
  type IrOp,
  type LayerSummary,
  analyzeArchitecture,
  formatShape,
} from '../space/ir.js';
import { escapeHtml } from './escape.js';

const BOX_WIDTH = 230;
const BOX_HEIGHT = 40;
const GAP_X = 30;
const GAP_Y = 30;
const MARGIN = 16;
/** Horizontal distance between the detours of successive skip edges. */
const DETOUR_STEP = 12;
/** Characters that fit a box: the bold first line, the smaller second line. */
const LABEL_CHARS = 30;
const DETAIL_CHARS = 38;

const OP_COLOURS: Readonly<Record<IrOp, string>> = {
  input: '#e5e7eb',
  conv2d: '#bfdbfe',
  maxpool2d: '#bbf7d0',
  avgpool2d: '#bbf7d0',
  global_avg_pool: '#bbf7d0',
  batchnorm: '#fef08a',
  dropout: '#f3f4f6',
  flatten: '#f3f4f6',
  dense: '#fed7aa',
  activation: '#f3f4f6',
  add: '#e9d5ff',
  mul: '#e9d5ff',
  concat: '#e9d5ff',
  mix: '#fecaca',
};

interface Placed {
  readonly layer: LayerSummary;
  readonly inputs: readonly string[];
  readonly rank: number;
  x: number;
  readonly y: number;
}

function truncate(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

function arrowHead(x: number, y: number): string {
  return `<polygon points="${x - 4},${y - 7} ${x + 4},${y - 7} ${x},${y}" fill="#4b5563"/>`;
}

/**
 * The architecture as an SVG document (with its `xmlns`, ready to be written to a .svg file or
 * inlined in HTML). Throws `ArchitectureError` for an architecture whose shapes do not check.
 */
export function architectureSvg(architecture: Architecture): string {
  const summary = analyzeArchitecture(architecture);
  const layers = new Map(summary.layers.map((layer) => [layer.id, layer]));

  // Layers: one below the deepest input.
  const rankOf = new Map<string, number>();
  const rows: string[][] = [];
  for (const node of architecture.nodes) {
    const rank =
      node.inputs.length === 0 ? 0 : Math.max(...node.inputs.map((id) => rankOf.get(id) ?? 0)) + 1;
    rankOf.set(node.id, rank);
    (rows[rank] ??= []).push(node.id);
  }
  const widest = Math.max(...rows.map((row) => row.length));
  const contentWidth = widest * BOX_WIDTH + (widest - 1) * GAP_X;

  // Within a layer, order by the mean position of the inputs (one top-down pass), then centre.
  const placed = new Map<string, Placed>();
  const inputsOf = new Map(architecture.nodes.map((node) => [node.id, node.inputs]));
  rows.forEach((row, rank) => {
    const keyed = row.map((id, index) => {
      const xs = (inputsOf.get(id) ?? []).map((input) => placed.get(input)?.x ?? 0);
      return {
        id,
        index,
        key: xs.length === 0 ? index : xs.reduce((a, b) => a + b, 0) / xs.length,
      };
    });
    keyed.sort((a, b) => a.key - b.key || a.index - b.index);
    const rowWidth = row.length * BOX_WIDTH + (row.length - 1) * GAP_X;
    const left = MARGIN + (contentWidth - rowWidth) / 2;
    keyed.forEach(({ id }, k) => {
      placed.set(id, {
        layer: layers.get(id) as LayerSummary,
        inputs: inputsOf.get(id) ?? [],
        rank,
        x: left + k * (BOX_WIDTH + GAP_X),
        y: MARGIN + rank * (BOX_HEIGHT + GAP_Y),
      });
    });
  });

  // Edges: straight between adjacent layers, round the right-hand side when skipping layers.
  const edges: string[] = [];
  let detours = 0;
  for (const target of placed.values()) {
    target.inputs.forEach((inputId, k) => {
      const source = placed.get(inputId) as Placed;
      const endX = target.x + (BOX_WIDTH * (k + 1)) / (target.inputs.length + 1);
      const endY = target.y;
      if (target.rank - source.rank === 1) {
        const startX = source.x + BOX_WIDTH / 2;
        const startY = source.y + BOX_HEIGHT;
        const midY = (startY + endY) / 2;
        edges.push(
          `<path d="M${startX},${startY} C${startX},${midY} ${endX},${midY} ${endX},${endY - 6}" fill="none" stroke="#4b5563" stroke-width="1.3"/>`,
          arrowHead(endX, endY),
        );
        return;
      }
      detours += 1;
      const laneX = MARGIN + contentWidth + detours * DETOUR_STEP;
      // Down into the gap below the source's layer, across to a free lane on the right, down
      // to the gap above the target's layer, across, and in: only gaps and lanes, never boxes.
      const startX = source.x + (BOX_WIDTH * 3) / 4;
      const startY = source.y + BOX_HEIGHT;
      // Successive detours cross the gaps at different heights so that they never overlap.
      const stagger = ((detours - 1) % 4) * 3;
      const departY = startY + GAP_Y / 2 - 3 + stagger;
      const arriveY = endY - GAP_Y / 2 + 3 - stagger;
      edges.push(
        `<path d="M${startX},${startY} V${departY} H${laneX} V${arriveY} H${endX} V${endY - 6}" fill="none" stroke="#7c3aed" stroke-width="1.3" stroke-dasharray="5 3"/>`,
        arrowHead(endX, endY),
      );
    });
  }

  const boxes = [...placed.values()].map(({ layer, x, y }) => {
    const shape = formatShape(layer.outputShape);
    const detail = `${layer.op} · ${shape}${layer.params > 0 ? ` · ${formatCompact(layer.params)} params` : ''}`;
    const tooltip = `${layer.id}: ${layer.label}, output ${shape}, ${layer.params} params, ${layer.flops} FLOPs`;
    return [
      `<g class="arch-node" data-node="${escapeHtml(layer.id)}">`,
      `<title>${escapeHtml(tooltip)}</title>`,
      `<rect x="${x}" y="${y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="5" fill="${OP_COLOURS[layer.op]}" stroke="#374151"/>`,
      `<text x="${x + BOX_WIDTH / 2}" y="${y + 16}" text-anchor="middle" font-size="12" font-weight="bold">${escapeHtml(truncate(layer.label, LABEL_CHARS))}</text>`,
      `<text x="${x + BOX_WIDTH / 2}" y="${y + 32}" text-anchor="middle" font-size="11" fill="#374151">${escapeHtml(truncate(detail, DETAIL_CHARS))}</text>`,
      '</g>',
    ].join('');
  });

  const width = MARGIN * 2 + contentWidth + detours * DETOUR_STEP + (detours > 0 ? MARGIN : 0);
  const height = MARGIN * 2 + rows.length * BOX_HEIGHT + (rows.length - 1) * GAP_Y;
  const title = `architecture: ${architecture.nodes.length} nodes, ${summary.params} parameters, ${summary.flops} FLOPs`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" class="architecture-diagram" role="img">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...edges,
    ...boxes,
    '</svg>',
  ].join('\n');
}
