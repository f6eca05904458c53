/**
 * The store's read model: everything the dashboard and the report read from a run store, and
 * the read-only commands (`runs`, `show`, `report`, `export`, `serve`) open it through.
 *
 * It is opened read-only over the store file (never creating it or its folder; see read-only.ts)
 * and is, with RunStore, the only code that knows the tables. Whole records (runs, candidates,
 * evaluations) come from a read-only RunStore, which decodes them; the dashboard's incremental
 * reads (a run's rows added since a cursor, the store's change token, the live feed's cursors)
 * are narrow queries on a second read-only connection, their rows decoded with zod here, in one
 * place, so a migration that changes a table fails here, loudly, and not silently in a consumer.
 */
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { openReadOnlyDatabase } from './read-only.js';
import {
  type CandidateQuery,
  type CandidateRecord,
  type EvaluationRecord,
  type EvaluationStatus,
  type EvaluationView,
  type FinalTrainingRecord,
  type PageOptions,
  type RunEvent,
  type RunRecord,
  RunStore,
  STOP_REQUESTED_EVENT,
} from './run-store.js';
import { RunStoreError } from './schema.js';

/** What a report reads of a run: RunStore and RunReadModel both provide it. */
export interface RunReader {
  getRun(idOrName: string): RunRecord;
  candidates(runId: string, query?: CandidateQuery): CandidateRecord[];
  evaluations(runId: string, options?: PageOptions): EvaluationView[];
  findEvaluation(id: number): EvaluationRecord | undefined;
}

/** A candidate's fixed columns, as a run's digest keeps them (no genome JSON, no IR). */
export interface CandidateDigest {
  readonly id: string;
  readonly runId: string;
  readonly seq: number;
  readonly generation: number;
  readonly genome: string;
  readonly operator: string;
  readonly params: number | null;
  readonly flops: number | null;
}

/** An evaluation's narrow columns: enough to aggregate a run and to know a candidate's state. */
export interface EvaluationDigest {
  readonly id: number;
  readonly candidateId: string;
  readonly status: EvaluationStatus;
  readonly error: string | null;
  /** As stored; a value that is not a JSON number (NaN is stored as "NaN") stays as it is. */
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly reused: boolean;
  /** Finish time, ms since the epoch (NaN when unreadable). */
  readonly finishedAt: number;
}

/** A run's event log, summarised: the latest stop request, resume or finish, and event time. */
export interface RunActivity {
  /** Id of the latest `stop-requested` event, or null. */
  readonly lastStopRequestId: number | null;
  /** Id of the latest `resumed` or `finished` event, or null. */
  readonly lastSessionEventId: number | null;
  /** Time of the latest event (ISO text), or null when the run has none. */
  readonly lastEventAt: string | null;
}

/** The highest row ids of the growing tables: where a live feed has read up to. */
export interface StoreEnd {
  readonly candidateRowid: number;
  readonly evaluationId: number;
  readonly eventId: number;
  /** Each run's last update time, by run id. */
  readonly runsUpdatedAt: ReadonlyMap<string, string>;
}

/** A candidate named by a change, with its run. */
export interface CandidateKey {
  readonly id: string;
  readonly runId: string;
}

/** What was added between two ends of the store (each list at most `limit` + 1 long). */
export interface StoreChanges {
  /** Candidates added, in the order they were. */
  readonly added: CandidateKey[];
  /** Candidates evaluated, in the order of their evaluations. */
  readonly evaluated: CandidateKey[];
  /** Runs that logged an event. */
  readonly eventRuns: string[];
}

// ---- rows, decoded in one place ---------------------------------------------------------------

const count = z.number().int().nonnegative();
const nullableNumber = z.number().nullable();

function storedMetrics(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

const candidateDigestRow = z
  .object({
    id: z.string(),
    run_id: z.string(),
    seq: count,
    generation: count,
    genome: z.string(),
    operator: z.string(),
    params: nullableNumber,
    flops: nullableNumber,
  })
  .transform((row): CandidateDigest => ({
    id: row.id,
    runId: row.run_id,
    seq: row.seq,
    generation: row.generation,
    genome: row.genome,
    operator: row.operator,
    params: row.params,
    flops: row.flops,
  }));

const evaluationDigestRow = z
  .object({
    id: count,
    candidate_id: z.string(),
    status: z.enum(['ok', 'killed', 'failed']),
    error: z.string().nullable(),
    metrics: z.string(),
    reused_from: z.number().nullable(),
    finished_at: z.string(),
  })
  .transform((row): EvaluationDigest => ({
    id: row.id,
    candidateId: row.candidate_id,
    status: row.status,
    error: row.error,
    metrics: storedMetrics(row.metrics),
    reused: row.reused_from !== null,
    finishedAt: Date.parse(row.finished_at),
  }));

const changeTokenRow = z.object({
  c: count,
  e: count,
  v: count,
  u: z.string(),
  r: count,
});

const activityRow = z
  .object({
    stop: z.number().nullable(),
    session: z.number().nullable(),
    last: z.string().nullable(),
  })
  .transform((row): RunActivity => ({
    lastStopRequestId: row.stop,
    lastSessionEventId: row.session,
    lastEventAt: row.last,
  }));

const endRow = z.object({ c: count, e: count, v: count });
const runUpdateRow = z.object({ id: z.string(), updated_at: z.string() });
const candidateKeyRow = z
  .object({ id: z.string(), run_id: z.string() })
  .transform((row): CandidateKey => ({ id: row.id, runId: row.run_id }));
const runIdRow = z.object({ run_id: z.string() }).transform((row) => row.run_id);

/** Decodes rows with `schema`; a row of another shape is a store this Nascent cannot read. */
function decodeRows<T extends z.ZodType>(
  schema: T,
  rows: readonly unknown[],
  file: string,
  what: string,
): z.output<T>[] {
  const array = z.array(schema).safeParse(rows);
  if (array.success) return array.data;
  const issue = array.error.issues[0];
  throw new RunStoreError(
    `run store ${file}: ${what} cannot be read (${issue === undefined ? 'unknown problem' : `${issue.path.join('.')}: ${issue.message}`})`,
  );
}

// ---- the read model ---------------------------------------------------------------------------

export class RunReadModel implements RunReader {
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  private constructor(
    /** The store file (absolute). */
    readonly path: string,
    /** Decoded records (runs, candidates, evaluations, events). */
    private readonly store: RunStore,
    /** The narrow incremental reads. */
    private readonly db: Database.Database,
    /** True when the store's place was read-only and it was read into memory (no live changes). */
    readonly snapshot: boolean,
  ) {}

  /**
   * Opens a run store read-only. Never creates the file or its folder; throws RunStoreError
   * naming the path when there is no store there, or when it cannot be read.
   */
  static open(path: string): RunReadModel {
    const file = resolve(path);
    const store = RunStore.open(file, { readonly: true });
    let opened: ReturnType<typeof openReadOnlyDatabase>;
    try {
      opened = openReadOnlyDatabase(file);
      opened.db.pragma('busy_timeout = 5000');
    } catch (error) {
      store.close();
      throw error;
    }
    return new RunReadModel(file, store, opened.db, opened.snapshot);
  }

  /** Closes both connections (idempotent). */
  close(): void {
    this.store.close();
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private rows<T extends z.ZodType>(
    schema: T,
    what: string,
    sql: string,
    ...params: unknown[]
  ): z.output<T>[] {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return decodeRows(schema, statement.all(...params), this.path, what);
  }

  private row<T extends z.ZodType>(
    schema: T,
    what: string,
    sql: string,
    ...params: unknown[]
  ): z.output<T> | undefined {
    return this.rows(schema, what, sql, ...params)[0];
  }

  /**
   * Runs `read` on one read snapshot of the incremental connection (the digests it reads are
   * consistent with each other). `read` must be synchronous.
   */
  consistentRead<T>(read: () => T): T {
    return this.db.transaction(read).deferred();
  }

  // ---- records ------------------------------------------------------------------------------

  /** Every run, oldest first. */
  listRuns(): RunRecord[] {
    return this.store.listRuns();
  }

  /** A run by id or by name, or undefined. */
  findRun(idOrName: string): RunRecord | undefined {
    return this.store.findRun(idOrName);
  }

  /** A run by id or by name; throws a clear error (listing the runs there are) if none. */
  getRun(idOrName: string): RunRecord {
    return this.store.getRun(idOrName);
  }

  findCandidate(id: string): CandidateRecord | undefined {
    return this.store.findCandidate(id);
  }

  getCandidate(id: string): CandidateRecord {
    return this.store.getCandidate(id);
  }

  candidates(runId: string, query: CandidateQuery = {}): CandidateRecord[] {
    return this.store.candidates(runId, query);
  }

  /** Ids of a candidate's children. */
  children(candidateId: string): string[] {
    return this.store.children(candidateId);
  }

  findEvaluation(id: number): EvaluationRecord | undefined {
    return this.store.findEvaluation(id);
  }

  /** A candidate's evaluations, oldest first. */
  candidateEvaluations(candidateId: string): EvaluationRecord[] {
    return this.store.candidateEvaluations(candidateId);
  }

  evaluations(runId: string, options: PageOptions = {}): EvaluationView[] {
    return this.store.evaluations(runId, options);
  }

  finalTrainings(runId: string): FinalTrainingRecord[] {
    return this.store.finalTrainings(runId);
  }

  events(runId: string, options: PageOptions = {}): RunEvent[] {
    return this.store.events(runId, options);
  }

  // ---- digests for the dashboard --------------------------------------------------------------

  /** Changes whenever another connection commits to the store (SQLite's data_version). */
  dataVersion(): number {
    return z.number().parse(this.db.pragma('data_version', { simple: true }));
  }

  /** A text that changes whenever a row is added to the store or a run is updated. */
  changeToken(): string {
    const row = this.row(
      changeTokenRow,
      'the change token',
      `SELECT (SELECT coalesce(max(rowid), 0) FROM candidates) AS c,
         (SELECT coalesce(max(id), 0) FROM evaluations) AS e,
         (SELECT coalesce(max(id), 0) FROM run_events) AS v,
         (SELECT coalesce(max(updated_at), '') FROM runs) AS u,
         (SELECT count(*) FROM runs) AS r`,
    );
    return row === undefined ? '' : `${row.c}/${row.e}/${row.v}/${row.u}/${row.r}`;
  }

  /** A run's candidates with a seq above `afterSeq`, by seq. */
  candidateDigests(runId: string, afterSeq: number): CandidateDigest[] {
    return this.rows(
      candidateDigestRow,
      `the candidates of run ${runId}`,
      `SELECT id, run_id, seq, generation, genome, operator, params, flops
       FROM candidates WHERE run_id = ? AND seq > ? ORDER BY seq`,
      runId,
      afterSeq,
    );
  }

  /** A run's evaluations with an id above `afterId`, by id. */
  evaluationDigests(runId: string, afterId: number): EvaluationDigest[] {
    return this.rows(
      evaluationDigestRow,
      `the evaluations of run ${runId}`,
      `SELECT id, candidate_id, status, error, metrics, reused_from, finished_at
       FROM evaluations WHERE run_id = ? AND id > ? ORDER BY id`,
      runId,
      afterId,
    );
  }

  /** The run's event log, summarised. */
  runActivity(runId: string): RunActivity {
    return (
      this.row(
        activityRow,
        `the events of run ${runId}`,
        `SELECT max(CASE WHEN kind = ? THEN id END) AS stop,
           max(CASE WHEN kind IN ('resumed', 'finished') THEN id END) AS session,
           max(at) AS last
         FROM run_events WHERE run_id = ?`,
        STOP_REQUESTED_EVENT,
        runId,
      ) ?? { lastStopRequestId: null, lastSessionEventId: null, lastEventAt: null }
    );
  }

  /** The store's current end. */
  end(): StoreEnd {
    const row = this.row(
      endRow,
      'the end of the store',
      `SELECT (SELECT coalesce(max(rowid), 0) FROM candidates) AS c,
         (SELECT coalesce(max(id), 0) FROM evaluations) AS e,
         (SELECT coalesce(max(id), 0) FROM run_events) AS v`,
    );
    const runs = this.rows(runUpdateRow, 'the runs', 'SELECT id, updated_at FROM runs');
    return {
      candidateRowid: row?.c ?? 0,
      evaluationId: row?.e ?? 0,
      eventId: row?.v ?? 0,
      runsUpdatedAt: new Map(runs.map((r) => [r.id, r.updated_at])),
    };
  }

  /** What was added after `from` up to `to`; each candidate list is cut at `limit` + 1. */
  changesBetween(from: StoreEnd, to: StoreEnd, limit: number): StoreChanges {
    return {
      added: this.rows(
        candidateKeyRow,
        'the candidates added',
        'SELECT id, run_id FROM candidates WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?',
        from.candidateRowid,
        to.candidateRowid,
        limit + 1,
      ),
      evaluated: this.rows(
        candidateKeyRow,
        'the evaluations added',
        `SELECT candidate_id AS id, run_id FROM evaluations WHERE id > ? AND id <= ?
         ORDER BY id LIMIT ?`,
        from.evaluationId,
        to.evaluationId,
        limit + 1,
      ),
      eventRuns: this.rows(
        runIdRow,
        'the events added',
        'SELECT DISTINCT run_id FROM run_events WHERE id > ? AND id <= ?',
        from.eventId,
        to.eventId,
      ),
    };
  }
}
