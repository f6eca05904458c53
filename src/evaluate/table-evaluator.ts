/**
 * The `table:<file>` evaluator: answers every candidate from a table of known results (a tabular
 * benchmark such as NAS-Bench-201, see src/evaluate/table.ts) instead of training it.
 *
 * A candidate the table lacks stops the run with a {@link TableLookupError} naming the
 * architecture and the table: the table must cover everything the search space can produce, and
 * a hole is a configuration error (the wrong table, or space options wider than the table), not
 * a property of the candidate. `params` and `flops` come from the table when it has them,
 * otherwise from the IR (`analyzeArchitecture`). Nothing is trained, so a result spends no epochs
 * (`fidelity` 0): budget such runs by evaluations or generations.
 */
import { analyzeArchitecture } from '../space/ir.js';
import { type ResultTable, TableLookupError } from './table.js';
import {
  type CandidateEvaluator,
  type CandidateResult,
  type EvaluationRequest,
  untrainedResult,
} from './evaluator.js';

/** Candidates the runner may hand over at once: lookups are instant. */
const TABLE_CONCURRENCY = 64;

export class TableEvaluator implements CandidateEvaluator {
  readonly description: string;
  /** The table's SHA-256: its answers are never mistaken for trained results or another table's. */
  readonly identity: Readonly<Record<string, unknown>>;
  /** A table answers from its rows: the dataset's files are not read (nor checksummed). */
  readonly readsData = false;
  readonly concurrency = TABLE_CONCURRENCY;

  constructor(private readonly table: ResultTable) {
    this.description = `table ${table.source} (${table.size} architectures)`;
    this.identity = { table: table.sha256 };
  }

  async evaluate(request: EvaluationRequest): Promise<CandidateResult> {
    const startedAt = new Date().toISOString();
    const space = this.table.space;
    if (space !== undefined && request.space !== space.name) {
      throw new TableLookupError(
        `the table ${this.table.source} is keyed by ${space.name}-space architectures, ` +
          `but the search runs the ${request.space} space`,
      );
    }
    const metrics = { ...this.table.require(request.genome).metrics };
    if (metrics.params === undefined || metrics.flops === undefined) {
      const summary = analyzeArchitecture(request.architecture);
      metrics.params ??= summary.params;
      metrics.flops ??= summary.flops;
    }
    return untrainedResult(metrics, startedAt);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
