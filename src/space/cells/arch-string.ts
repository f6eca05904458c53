/**
 * NAS-Bench-201 cells and their arch strings.
 *
 * A cell is a DAG of 4 nodes: node 0 is the cell's input, node 3 its output, and every pair
 * i < j is joined by an edge carrying one op; node j is the sum over i < j of op_ij(node i). The
 * six edges, in the order the arch string writes them (and the order of {@link CELL_EDGES}), are
 * 0->1, 0->2, 1->2, 0->3, 1->3, 2->3:
 *
 *   |nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|
 *
 * One `+`-separated group per node 1..3; within node j's group, `op~i` for i = 0..j-1 in order.
 */

/** NAS-Bench-201's five ops, in its own order (`NAS_BENCH_201` in its code). */
export const CELL_OPS = [
  'none',
  'skip_connect',
  'nor_conv_1x1',
  'nor_conv_3x3',
  'avg_pool_3x3',
] as const;
export type CellOp = (typeof CELL_OPS)[number];

export interface CellEdge {
  readonly from: number;
  readonly to: number;
}

/** The six edges in arch-string order. */
export const CELL_EDGES: readonly CellEdge[] = [
  { from: 0, to: 1 },
  { from: 0, to: 2 },
  { from: 1, to: 2 },
  { from: 0, to: 3 },
  { from: 1, to: 3 },
  { from: 2, to: 3 },
];

/** Nodes per cell: input 0, intermediate 1 and 2, output 3. */
export const CELL_NODES = 4;
const OUTPUT_NODE = CELL_NODES - 1;

/** One op per edge, in {@link CELL_EDGES} order. */
export type CellOps = readonly [CellOp, CellOp, CellOp, CellOp, CellOp, CellOp];

/** Number of distinct cells: 5^6. */
export const CELL_COUNT = CELL_OPS.length ** CELL_EDGES.length;

/** An arch string that does not parse; `column` (1-based) points at the problem. */
export class CellStringError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'CellStringError';
  }
}

export function isCellOp(value: string): value is CellOp {
  return (CELL_OPS as readonly string[]).includes(value);
}

/** The canonical NAS-Bench-201 arch string. */
export function formatCell(ops: CellOps): string {
  const groups: string[] = [];
  for (let to = 1; to < CELL_NODES; to += 1) {
    const parts = CELL_EDGES.flatMap((edge, index) =>
      edge.to === to ? [`${ops[index] as CellOp}~${edge.from}`] : [],
    );
    groups.push(`|${parts.join('|')}|`);
  }
  return groups.join('+');
}

/**
 * Parses an arch string (surrounding whitespace ignored). Throws a {@link CellStringError} naming
 * the column and the rule broken: node groups, edge count, op names, node indices.
 */
export function parseCell(text: string): CellOps {
  const lead = text.length - text.trimStart().length;
  const body = text.trim();
  const fail = (offset: number, problem: string): never => {
    const column = lead + offset + 1;
    throw new CellStringError(
      `invalid cell ${JSON.stringify(text)}: column ${column}: ${problem}`,
      column,
    );
  };
  const groups = body.split('+');
  if (groups.length !== CELL_NODES - 1) {
    const extra = groups.slice(0, CELL_NODES - 1).join('+').length;
    fail(
      Math.min(extra, body.length),
      `expected ${CELL_NODES - 1} node groups (nodes 1, 2, 3) separated by "+", got ${groups.length}`,
    );
  }
  const ops: CellOp[] = [];
  let offset = 0;
  for (const [g, group] of groups.entries()) {
    const node = g + 1;
    if (!group.startsWith('|')) fail(offset, `node ${node}'s group must start with "|"`);
    if (group.length < 2 || !group.endsWith('|'))
      fail(offset + group.length, `node ${node}'s group must end with "|"`);
    const edges = group.slice(1, -1).split('|');
    if (edges.length !== node) {
      fail(
        offset,
        `node ${node} takes ${node} edge${node === 1 ? '' : 's'} (one from each of nodes 0..${node - 1}), got ${edges.length}`,
      );
    }
    let at = offset + 1;
    for (const [from, edge] of edges.entries()) {
      const tilde = edge.indexOf('~');
      if (tilde < 0) fail(at, `edge ${JSON.stringify(edge)} must be written op~node`);
      const name = edge.slice(0, tilde);
      const index = edge.slice(tilde + 1);
      if (!isCellOp(name)) {
        fail(at, `unknown op ${JSON.stringify(name)} (expected one of ${CELL_OPS.join(', ')})`);
      }
      if (!/^\d+$/.test(index)) {
        fail(at + tilde + 1, `node index ${JSON.stringify(index)} is not a number`);
      }
      if (Number(index) !== from) {
        fail(
          at + tilde + 1,
          `edge ${from + 1} of node ${node} must come from node ${from} (edges are written in order ~0..~${node - 1}), got ~${index}`,
        );
      }
      ops.push(name as CellOp);
      at += edge.length + 1;
    }
    offset += group.length + 1;
  }
  // Groups list node 1's edges, then node 2's, then node 3's: exactly CELL_EDGES order.
  return ops as unknown as CellOps;
}

/**
 * Position of a cell in the enumeration order of {@link allCells}: the ops' indices in
 * {@link CELL_OPS} read as a base-5 number, edge 0->1 the most significant digit.
 */
export function cellIndex(ops: CellOps): number {
  return ops.reduce((index, op) => index * CELL_OPS.length + CELL_OPS.indexOf(op), 0);
}

/** The cell at a position of {@link allCells} (0 .. CELL_COUNT - 1). */
export function cellAt(index: number): CellOps {
  if (!Number.isInteger(index) || index < 0 || index >= CELL_COUNT) {
    throw new RangeError(`cell index must be an integer in 0..${CELL_COUNT - 1}, got ${index}`);
  }
  const ops: CellOp[] = [];
  let rest = index;
  for (let e = 0; e < CELL_EDGES.length; e += 1) {
    ops.unshift(CELL_OPS[rest % CELL_OPS.length] as CellOp);
    rest = Math.floor(rest / CELL_OPS.length);
  }
  return ops as unknown as CellOps;
}

/**
 * Every cell, degenerate ones included, in odometer order: edges in arch-string order with the
 * last edge (2->3) changing fastest, ops in {@link CELL_OPS} order. This is the order of
 * NAS-Bench-201's `CellStructure.gen_all(NAS_BENCH_201, 4)`; it is not the index order of the
 * benchmark's own result files, so tables should be keyed by arch string.
 */
export function* allCells(): Generator<CellOps> {
  for (let index = 0; index < CELL_COUNT; index += 1) yield cellAt(index);
}

/** The arch strings of {@link allCells}, in the same order. */
export function allCellStrings(): string[] {
  return Array.from(allCells(), formatCell);
}

export interface CellAnalysis {
  /** Per node: whether it can carry a non-zero tensor (some path of non-none edges from node 0). */
  readonly nonZero: readonly boolean[];
  /**
   * Edges that take part in the output, by index into {@link CELL_EDGES}: not none, from a
   * non-zero node, into a node with a path of non-none edges to node 3. The rest compute nothing
   * that reaches the output.
   */
  readonly liveEdges: readonly number[];
  /** False when node 3 is always zero (no path of non-none edges from node 0 to node 3). */
  readonly hasOutput: boolean;
}

/** Which nodes are non-zero and which edges reach the output. */
export function analyzeCell(ops: CellOps): CellAnalysis {
  const nonZero = Array.from({ length: CELL_NODES }, (_, node) => node === 0);
  for (const [index, edge] of CELL_EDGES.entries()) {
    if (ops[index] !== 'none' && nonZero[edge.from]) nonZero[edge.to] = true;
  }
  const reachesOutput = Array.from({ length: CELL_NODES }, (_, node) => node === OUTPUT_NODE);
  for (let index = CELL_EDGES.length - 1; index >= 0; index -= 1) {
    const edge = CELL_EDGES[index] as CellEdge;
    if (ops[index] !== 'none' && reachesOutput[edge.to]) reachesOutput[edge.from] = true;
  }
  const liveEdges = CELL_EDGES.flatMap((edge, index) =>
    ops[index] !== 'none' && nonZero[edge.from] && reachesOutput[edge.to] ? [index] : [],
  );
  return { nonZero, liveEdges, hasOutput: nonZero[OUTPUT_NODE] === true };
}
