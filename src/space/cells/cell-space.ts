/**
 * The NAS-Bench-201 cell space as a SearchSpace: one cell (six edges, one op each) repeated in
 * every cell position of the macro network (see macro.ts). Sampling is uniform over the allowed
 * ops per edge; mutation changes exactly one edge to a different allowed op; crossover takes each
 * edge from either parent. None of them returns a cell without a path from node 0 to node 3 unless
 * the option `allowDisconnected` is true (default false). Such a cell is a real row of
 * NAS-Bench-201 (its network's output is constant: accuracy about 10%), so a strategy benchmarked
 * on the table (`nascent bench strategies`, which never compiles) may be let propose it; it still
 * cannot be compiled (there is no network to train), so a search that trains or compiles its
 * candidates must keep the default.
 *
 * Layer identities need no bookkeeping in the genome: node ids come from (cell position, edge, op),
 * so an edge that keeps its op keeps its layers' ids across mutation and crossover.
 */
import { z } from 'zod';
import type { Random } from '../../util/random.js';
import { OptionsError, describeSchemaIssues } from '../../util/unknown-keys.js';
import type { Architecture } from '../ir.js';
import type { CompileTarget, SearchSpace } from '../space.js';
import {
  CELL_EDGES,
  CELL_OPS,
  type CellOp,
  type CellOps,
  analyzeCell,
  formatCell,
  parseCell,
} from './arch-string.js';
import { NB201_MACRO, checkCellTarget, compileCellMixture, compileCellNetwork } from './macro.js';

export const CELL_SPACE_NAME = 'cells';

/** A cell: one op per edge, in arch-string order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3). */
export interface CellGenome {
  readonly ops: CellOps;
}

/** The cell space's options; unknown keys are refused, so a misspelt option is not ignored. */
export const cellSpaceOptionsSchema = z.strictObject({
  /** C, the first stage's channels (NAS-Bench-201: 16). */
  channels: z.number().int().min(1).max(4096),
  /** N, cells per stage (NAS-Bench-201: 5). */
  cellsPerStage: z.number().int().min(1).max(64),
  /** Ops that sampling and mutation may put on an edge. */
  ops: z
    .array(z.enum(CELL_OPS))
    .min(2, 'ops needs at least 2 ops, so that mutation can change an edge')
    .refine((ops) => new Set(ops).size === ops.length, 'ops must not repeat an op')
    .refine(
      (ops) => ops.some((op) => op !== 'none'),
      'ops needs an op other than none, or no cell has an output',
    ),
  /** Whether sampling, mutation and crossover may return a cell without an input-output path. */
  allowDisconnected: z.boolean(),
});
export type CellSpaceOptions = z.infer<typeof cellSpaceOptionsSchema>;

export const DEFAULT_CELL_SPACE: CellSpaceOptions = {
  channels: NB201_MACRO.channels,
  cellsPerStage: NB201_MACRO.cellsPerStage,
  ops: [...CELL_OPS],
  allowDisconnected: false,
};

const cellGenomeSchema = z.object({
  ops: z.tuple([
    z.enum(CELL_OPS),
    z.enum(CELL_OPS),
    z.enum(CELL_OPS),
    z.enum(CELL_OPS),
    z.enum(CELL_OPS),
    z.enum(CELL_OPS),
  ]),
});

/** Tries before crossover gives a child its parent's cell instead. */
const CROSSOVER_ATTEMPTS = 64;

export class CellSpace implements SearchSpace<CellGenome> {
  readonly name = CELL_SPACE_NAME;
  readonly options: CellSpaceOptions;

  constructor(options: Partial<CellSpaceOptions> = {}) {
    const parsed = cellSpaceOptionsSchema.safeParse({ ...DEFAULT_CELL_SPACE, ...options });
    if (!parsed.success) {
      throw new OptionsError(
        'invalid cells space options',
        describeSchemaIssues(parsed.error, cellSpaceOptionsSchema, 'option'),
      );
    }
    this.options = parsed.data;
  }

  format(genome: CellGenome): string {
    return formatCell(genome.ops);
  }

  parse(text: string): CellGenome {
    return { ops: parseCell(text) };
  }

  toJSON(genome: CellGenome): unknown {
    return { ops: [...genome.ops] };
  }

  fromJSON(value: unknown): CellGenome {
    const parsed = cellGenomeSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `not a cells-space genome ({"ops": six of ${CELL_OPS.join(', ')}}): ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}`,
      );
    }
    return { ops: parsed.data.ops };
  }

  compile(genome: CellGenome, target: CompileTarget): Architecture {
    return compileCellNetwork(genome.ops, this.options, target);
  }

  /** Every cell position holds all the cells, mixed by one shared alpha (see macro.ts). */
  compileMixture(genomes: readonly CellGenome[], target: CompileTarget): Architecture {
    return compileCellMixture(
      genomes.map((genome) => genome.ops),
      this.options,
      target,
    );
  }

  /** Whether a cell may be proposed: it has an output, or the options allow it not to. */
  private allowed(ops: CellOps): boolean {
    return this.options.allowDisconnected || analyzeCell(ops).hasOutput;
  }

  /** Uniform over the allowed ops on every edge, redrawn until node 3 has an input (unless allowed). */
  sample(random: Random, target: CompileTarget): CellGenome {
    checkCellTarget(target);
    for (;;) {
      const ops = CELL_EDGES.map(() => random.choice(this.options.ops)) as unknown as CellOps;
      if (this.allowed(ops)) return { ops };
    }
  }

  /**
   * Changes exactly one edge to a different allowed op, chosen uniformly among the changes that
   * leave the cell an output (one always exists: adding an edge keeps a path, and removing one
   * edge of a complete cell leaves another), or among all changes with `allowDisconnected`. A
   * parent without an output, when those are not allowed, gets a sampled cell.
   */
  mutate(genome: CellGenome, random: Random, target: CompileTarget): CellGenome {
    checkCellTarget(target);
    const changes: { edge: number; op: CellOp }[] = [];
    for (const [edge, current] of genome.ops.entries()) {
      for (const op of this.options.ops) {
        if (op !== current && this.allowed(withOp(genome.ops, edge, op))) {
          changes.push({ edge, op });
        }
      }
    }
    // Only a parent without an output (parsed, not sampled) can be more than one change away.
    if (changes.length === 0) return this.sample(random, target);
    const change = random.choice(changes);
    return { ops: withOp(genome.ops, change.edge, change.op) };
  }

  /**
   * Uniform crossover per edge: the first child takes each edge from a random parent, the second
   * the other parent's op. A child without an output is redrawn on its own; after a number of
   * tries it is its parent (or, for a parent without an output, a sampled cell).
   */
  crossover(
    a: CellGenome,
    b: CellGenome,
    random: Random,
    target: CompileTarget,
  ): [CellGenome, CellGenome] {
    checkCellTarget(target);
    const children: [CellGenome | undefined, CellGenome | undefined] = [undefined, undefined];
    for (
      let attempt = 0;
      attempt < CROSSOVER_ATTEMPTS && !(children[0] && children[1]);
      attempt += 1
    ) {
      const fromA = CELL_EDGES.map(() => random.bool());
      const first = fromA.map((takeA, e) => (takeA ? a.ops[e] : b.ops[e])) as unknown as CellOps;
      const second = fromA.map((takeA, e) => (takeA ? b.ops[e] : a.ops[e])) as unknown as CellOps;
      if (!children[0] && this.allowed(first)) children[0] = { ops: first };
      if (!children[1] && this.allowed(second)) children[1] = { ops: second };
    }
    const fallback = (parent: CellGenome): CellGenome =>
      this.allowed(parent.ops) ? parent : this.sample(random, target);
    return [children[0] ?? fallback(a), children[1] ?? fallback(b)];
  }
}

function withOp(ops: CellOps, edge: number, op: CellOp): CellOps {
  const copy = [...ops];
  copy[edge] = op;
  return copy as unknown as CellOps;
}
