/**
 * Encodings of a NAS-Bench-201 cell (six edges, one op each) as fixed-length feature vectors for
 * the few-shot predictor, read from the cell itself: no network is compiled, so a cell with no
 * path from its input to its output (which compiles to no network) is encoded like any other.
 *
 * - `adjacency`: the cell's DAG as its upper-triangular adjacency with a one-hot op per edge: 6
 *   edges x 5 ops (the encoding of most predictor papers for this space).
 * - `path`: BANANAS's path encoding (White et al. 2021): one count per op sequence that a path from
 *   node 0 to node 3 can carry (4 + 16 + 64 sequences of 1, 2, 3 non-none ops); a path through a
 *   `none` edge does not exist.
 * - `graf`: graph features in the style of GRAF (Kadlecova et al. 2024): op counts over all edges
 *   and over the edges that reach the output; for several op sets, the number of input-output
 *   paths made only of those ops and their shortest and longest length; the most convolutions and
 *   3x3 convolutions along one path; the input's out-degree and the output's in-degree; whether
 *   the cell has an output at all.
 */
import {
  CELL_EDGES,
  CELL_OPS,
  type CellOp,
  type CellOps,
  analyzeCell,
} from '../../space/cells/arch-string.js';

export const CELL_ENCODINGS = ['adjacency', 'path', 'graf'] as const;
export type CellEncoding = (typeof CELL_ENCODINGS)[number];

/** The cell's four input-output paths, as edge indices into CELL_EDGES: 0->3, 0->1->3, 0->2->3, 0->1->2->3. */
const PATHS: readonly (readonly number[])[] = [[3], [0, 4], [1, 5], [0, 2, 5]];
const PATH_OPS: readonly CellOp[] = CELL_OPS.filter((op) => op !== 'none');

function pathOps(ops: CellOps): CellOp[][] {
  return PATHS.map((path) => path.map((edge) => ops[edge] as CellOp)).filter((path) =>
    path.every((op) => op !== 'none'),
  );
}

export function adjacencyEncoding(ops: CellOps): number[] {
  const out = new Array<number>(CELL_EDGES.length * CELL_OPS.length).fill(0);
  ops.forEach((op, edge) => {
    out[edge * CELL_OPS.length + CELL_OPS.indexOf(op)] = 1;
  });
  return out;
}

/** Index of an op sequence among the sequences of its length, base 4 over PATH_OPS. */
function sequenceIndex(path: readonly CellOp[]): number {
  let offset = 0;
  for (let length = 1; length < path.length; length++) offset += PATH_OPS.length ** length;
  return offset + path.reduce((index, op) => index * PATH_OPS.length + PATH_OPS.indexOf(op), 0);
}

export const PATH_ENCODING_LENGTH = PATH_OPS.length + PATH_OPS.length ** 2 + PATH_OPS.length ** 3;

export function pathEncoding(ops: CellOps): number[] {
  const out = new Array<number>(PATH_ENCODING_LENGTH).fill(0);
  for (const path of pathOps(ops)) {
    const index = sequenceIndex(path);
    out[index] = (out[index] as number) + 1;
  }
  return out;
}

const CONVS: readonly CellOp[] = ['nor_conv_1x1', 'nor_conv_3x3'];
/** The op sets whose paths GRAF counts and measures. */
const GRAF_OP_SETS: readonly { readonly name: string; readonly ops: readonly CellOp[] }[] = [
  { name: 'any', ops: PATH_OPS },
  { name: 'conv', ops: CONVS },
  { name: 'conv3', ops: ['nor_conv_3x3'] },
  { name: 'conv1', ops: ['nor_conv_1x1'] },
  { name: 'skip', ops: ['skip_connect'] },
  { name: 'pool', ops: ['avg_pool_3x3'] },
  { name: 'conv_skip', ops: [...CONVS, 'skip_connect'] },
  { name: 'conv_pool', ops: [...CONVS, 'avg_pool_3x3'] },
];

export const GRAF_FEATURE_NAMES: readonly string[] = [
  'has_output',
  ...CELL_OPS.map((op) => `count_${op}`),
  ...PATH_OPS.map((op) => `live_${op}`),
  ...GRAF_OP_SETS.flatMap(({ name }) => [`paths_${name}`, `min_len_${name}`, `max_len_${name}`]),
  'max_convs_on_path',
  'max_conv3_on_path',
  'min_convs_on_path',
  'input_out_degree',
  'output_in_degree',
];

export function grafFeatures(ops: CellOps): number[] {
  const { liveEdges, hasOutput } = analyzeCell(ops);
  const live = new Set(liveEdges);
  const paths = pathOps(ops);
  const features: number[] = [hasOutput ? 1 : 0];
  for (const op of CELL_OPS) features.push(ops.filter((o) => o === op).length);
  for (const op of PATH_OPS) features.push(ops.filter((o, e) => o === op && live.has(e)).length);
  for (const set of GRAF_OP_SETS) {
    const lengths = paths
      .filter((path) => path.every((op) => set.ops.includes(op)))
      .map((p) => p.length);
    features.push(
      lengths.length,
      lengths.length > 0 ? Math.min(...lengths) : 0,
      lengths.length > 0 ? Math.max(...lengths) : 0,
    );
  }
  const convs = paths.map((path) => path.filter((op) => CONVS.includes(op)).length);
  features.push(
    convs.length > 0 ? Math.max(...convs) : 0,
    paths.length > 0
      ? Math.max(...paths.map((p) => p.filter((op) => op === 'nor_conv_3x3').length))
      : 0,
    convs.length > 0 ? Math.min(...convs) : 0,
    CELL_EDGES.filter((edge, e) => edge.from === 0 && live.has(e)).length,
    CELL_EDGES.filter((edge, e) => edge.to === 3 && live.has(e)).length,
  );
  return features;
}

/** The concatenation of the named encodings, in the order given. */
export function encodeCell(ops: CellOps, encodings: readonly CellEncoding[]): number[] {
  return encodings.flatMap((encoding) => {
    switch (encoding) {
      case 'adjacency':
        return adjacencyEncoding(ops);
      case 'path':
        return pathEncoding(ops);
      case 'graf':
        return grafFeatures(ops);
    }
  });
}

export function cellEncodingLength(encodings: readonly CellEncoding[]): number {
  const lengths: Record<CellEncoding, number> = {
    adjacency: CELL_EDGES.length * CELL_OPS.length,
    path: PATH_ENCODING_LENGTH,
    graf: GRAF_FEATURE_NAMES.length,
  };
  return encodings.reduce((sum, encoding) => sum + lengths[encoding], 0);
}
