/**
 * The run store: one SQLite file (WAL mode) that holds every run of a search, its candidates and
 * their lineage, every evaluation with its per-epoch records and objective values, snapshots of
 * the strategy's state, and a log of notable events.
 *
 * The store appends and queries; it holds no search logic. Deduplication works through
 * `findReusableEvaluation(hash, evaluationKey)`: the caller computes both (the architecture hash
 * and the evaluation identity of run/identity.ts), asks before training, and records a reuse with
 * `reusedFrom`. Only `ok` results are reused; a run's decisions (`decision` set) never are.
 *
 * One process writes (the search, or the coordinator of distributed workers); any number of
 * readers (a dashboard) may open the same file at the same time, `readonly` if they like. Every
 * write method is one transaction; `transaction(fn)` groups several into one. better-sqlite3 is
 * synchronous, so a transaction's function must not be async.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LEGACY_KEY_PREFIX, RunStoreError, applyMigrations, checkSchema } from './schema.js';
import { openReadOnlyDatabase } from './read-only.js';

export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed';
export type EvaluationStatus = 'ok' | 'killed' | 'failed';
/**
 * A verdict of a run on one of its candidates, not a result: screened out by a proxy or predictor
 * screen, not promoted by a pruner (successive halving, Hyperband), refused before training by a
 * constraint. Stored for the run itself (a resume does not screen or train it again) and never
 * reused by another run.
 */
export type EvaluationDecision = 'screened-out' | 'not-promoted' | 'pruned' | 'infeasible';
export const EVALUATION_DECISIONS: readonly EvaluationDecision[] = [
  'screened-out',
  'not-promoted',
  'pruned',
  'infeasible',
];
export type StrategyPhase = 'asked' | 'told';

/** How many strategy snapshots are kept per run (older ones are pruned). */
export const STRATEGY_STATES_KEPT = 20;

/** The event a dashboard writes to ask a running search to stop. */
export const STOP_REQUESTED_EVENT = 'stop-requested';

export interface RunRecord {
  readonly id: string;
  readonly name: string | null;
  readonly status: RunStatus;
  readonly space: string;
  readonly strategy: string;
  readonly dataset: string;
  readonly seed: number;
  readonly config: unknown;
  readonly codeVersion: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly error: string | null;
}

export interface NewRun {
  /** A unique, human-friendly name; `getRun` finds a run by id or by name. */
  readonly name?: string | null;
  readonly space: string;
  readonly strategy: string;
  readonly dataset: string;
  readonly seed: number;
  /** The whole search configuration (JSON). */
  readonly config: unknown;
  readonly codeVersion: string;
}

export interface CandidateRecord {
  readonly id: string;
  readonly runId: string;
  /** Order of creation within the run, from 1. */
  readonly seq: number;
  readonly generation: number;
  /** The canonical genome text. */
  readonly genome: string;
  /** The space's JSON form of the genome (keeps layer identities). */
  readonly genomeJson: unknown;
  /** The compiled IR, or null when none was stored. */
  readonly architecture: unknown;
  readonly hash: string;
  readonly operator: string;
  readonly params: number | null;
  readonly flops: number | null;
  /** Parent candidate ids, in the order they were given. */
  readonly parents: string[];
  readonly createdAt: string;
}

export interface NewCandidate {
  /** Generated (`<run id>-c<seq>`) when missing. */
  readonly id?: string;
  readonly generation: number;
  readonly genome: string;
  readonly genomeJson: unknown;
  readonly architecture?: unknown;
  readonly hash: string;
  readonly operator: string;
  readonly params?: number | null;
  readonly flops?: number | null;
  /** Ids of candidates already in the store, or earlier in the same batch. */
  readonly parents?: readonly string[];
}

export interface EvaluationRecord {
  readonly id: number;
  readonly candidateId: string;
  readonly runId: string;
  readonly hash: string;
  /** The evaluation identity (run/identity.ts); `legacy:...` for rows of older stores. */
  readonly evaluationKey: string;
  readonly status: EvaluationStatus;
  /** Set when the row is a decision of its run rather than a result (see {@link EvaluationDecision}). */
  readonly decision: EvaluationDecision | null;
  readonly error: string | null;
  /** Epochs trained (the budget actually spent). */
  readonly fidelity: number;
  /** E.g. accuracy, val_loss, test_accuracy, params, flops, train_seconds. */
  readonly metrics: Record<string, number>;
  /** Per-epoch records as the evaluator wrote them. */
  readonly epochs: unknown[];
  readonly objectives: Record<string, number>;
  /** The evaluation whose result was reused instead of training, if any. */
  readonly reusedFrom: number | null;
  readonly worker: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** An evaluation with the candidate it belongs to. */
export interface EvaluationView extends EvaluationRecord {
  readonly genome: string;
  readonly generation: number;
  readonly seq: number;
  readonly operator: string;
}

export interface NewEvaluation {
  readonly candidateId: string;
  readonly status: EvaluationStatus;
  /** A decision of the run (never reused by another run) instead of a result. */
  readonly decision?: EvaluationDecision | null;
  /** Required when status is `failed`. */
  readonly error?: string | null;
  readonly fidelity: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly epochs?: readonly unknown[];
  readonly objectives?: Readonly<Record<string, number>>;
  /**
   * The evaluation identity (run/identity.ts: architecture, data, protocol, fidelity, truncation,
   * weights origin, evaluator, seed), computed by the caller.
   */
  readonly evaluationKey: string;
  readonly reusedFrom?: number | null;
  readonly worker?: string | null;
  readonly startedAt: string | Date;
  readonly finishedAt: string | Date;
}

/** A from-scratch re-training of a candidate (or a baseline) after the search. */
export interface FinalTrainingRecord {
  readonly id: number;
  readonly runId: string;
  /** The candidate re-trained; null for baselines. */
  readonly candidateId: string | null;
  /** The candidate id or the baseline's name. */
  readonly name: string;
  readonly role: 'candidate' | 'baseline';
  readonly architecture: unknown;
  /** Protocol, epochs, augmentation: what the numbers were measured under. */
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  readonly status: 'ok' | 'failed';
  readonly error: string | null;
  /** accuracy (validation), test_accuracy, params, flops, train_seconds, ... */
  readonly metrics: Record<string, number>;
  readonly epochs: unknown[];
  /** The saved model file (weights and architecture), if kept. */
  readonly modelPath: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export type NewFinalTraining = Omit<FinalTrainingRecord, 'id' | 'startedAt' | 'finishedAt'> & {
  readonly startedAt: string | Date;
  readonly finishedAt: string | Date;
};

interface FinalTrainingRow {
  id: number;
  run_id: string;
  candidate_id: string | null;
  name: string;
  role: 'candidate' | 'baseline';
  architecture: string;
  settings: string;
  seed: number;
  status: 'ok' | 'failed';
  error: string | null;
  metrics: string;
  epochs: string;
  model_path: string | null;
  started_at: string;
  finished_at: string;
}

export interface StrategyStateRecord {
  readonly runId: string;
  readonly seq: number;
  readonly phase: StrategyPhase;
  readonly state: unknown;
  readonly createdAt: string;
}

export interface RunEvent {
  readonly id: number;
  readonly runId: string;
  readonly at: string;
  readonly kind: string;
  readonly message: string;
}

export interface PageOptions {
  readonly limit?: number;
  readonly offset?: number;
}

export interface CandidateQuery extends PageOptions {
  readonly generation?: number;
}

export interface OpenOptions {
  /** Open an existing store for reading only (no migrations; the schema must be current). */
  readonly readonly?: boolean;
  /** How long to wait for another connection's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/** What a candidate hash is computed against: the input shape and the class count. */
export interface HashTarget {
  readonly input: { readonly channels: number; readonly height: number; readonly width: number };
  readonly classes: number;
}

/**
 * A hash of a genome text plus the input shape and class count it is compiled for (for stores
 * written by hand). Searches key candidates on their compiled IR instead (run/identity.ts
 * `architectureHash`): a text can leave out options that change the network.
 */
export function candidateHash(genomeText: string, target: HashTarget): string {
  const { channels, height, width } = target.input;
  const text = `nascent-candidate/1\n${genomeText}\ninput ${channels}x${height}x${width}\nclasses ${target.classes}\n`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// rows and JSON

interface RunRow {
  id: string;
  name: string | null;
  status: RunStatus;
  space: string;
  strategy: string;
  dataset: string;
  seed: number;
  config: string;
  code_version: string;
  created_at: string;
  updated_at: string;
  error: string | null;
}

interface CandidateRow {
  id: string;
  run_id: string;
  seq: number;
  generation: number;
  genome: string;
  genome_json: string;
  architecture: string | null;
  hash: string;
  operator: string;
  params: number | null;
  flops: number | null;
  created_at: string;
  parents: string;
}

interface EvaluationRow {
  id: number;
  candidate_id: string;
  run_id: string;
  hash: string;
  evaluation_key: string;
  status: EvaluationStatus;
  decision: string | null;
  error: string | null;
  fidelity: number;
  metrics: string;
  epochs: string;
  reused_from: number | null;
  worker: string | null;
  started_at: string;
  finished_at: string;
  objectives: string;
}

interface EvaluationViewRow extends EvaluationRow {
  genome: string;
  generation: number;
  seq: number;
  operator: string;
}

interface StateRow {
  run_id: string;
  seq: number;
  phase: StrategyPhase;
  state: string;
  created_at: string;
}

interface EventRow {
  id: number;
  run_id: string;
  at: string;
  kind: string;
  message: string;
}

function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new RunStoreError(`${what} cannot be stored as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (text === undefined)
    throw new RunStoreError(`${what} cannot be stored as JSON (${typeof value})`);
  return text;
}

/** Non-finite numbers survive the round trip (JSON has no NaN or Infinity). */
const NON_FINITE: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

function numbersToJson(value: unknown, what: string): string {
  try {
    return JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'number' && !Number.isFinite(item) ? String(item) : item,
    );
  } catch (error) {
    throw new RunStoreError(`${what} cannot be stored as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RunStoreError(`${what} holds invalid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function parseNumbersJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text, (_key, item: unknown) =>
      typeof item === 'string' && item in NON_FINITE ? NON_FINITE[item] : item,
    ) as unknown;
  } catch (error) {
    throw new RunStoreError(`${what} holds invalid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A JSON object of numbers; null (SQLite's NaN) and anything else read back as NaN. */
function numberRecord(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [key, item] of Object.entries(value)) {
    out[key] = typeof item === 'number' ? item : Number.NaN;
  }
  return out;
}

function runFromRow(row: RunRow): RunRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    space: row.space,
    strategy: row.strategy,
    dataset: row.dataset,
    seed: row.seed,
    config: parseJson(row.config, `run ${row.id} config`),
    codeVersion: row.code_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    error: row.error,
  };
}

function candidateFromRow(row: CandidateRow): CandidateRecord {
  const parents = parseJson(row.parents, `candidate ${row.id} parents`);
  return {
    id: row.id,
    runId: row.run_id,
    seq: row.seq,
    generation: row.generation,
    genome: row.genome,
    genomeJson: parseJson(row.genome_json, `candidate ${row.id} genome_json`),
    architecture:
      row.architecture === null
        ? null
        : parseJson(row.architecture, `candidate ${row.id} architecture`),
    hash: row.hash,
    operator: row.operator,
    params: row.params,
    flops: row.flops,
    parents: Array.isArray(parents)
      ? parents.filter((p): p is string => typeof p === 'string')
      : [],
    createdAt: row.created_at,
  };
}

function evaluationFromRow(row: EvaluationRow): EvaluationRecord {
  const epochs = parseNumbersJson(row.epochs, `evaluation ${row.id} epochs`);
  return {
    id: row.id,
    candidateId: row.candidate_id,
    runId: row.run_id,
    hash: row.hash,
    evaluationKey: row.evaluation_key,
    status: row.status,
    decision: decisionFromColumn(row.decision),
    error: row.error,
    fidelity: row.fidelity,
    metrics: numberRecord(parseNumbersJson(row.metrics, `evaluation ${row.id} metrics`)),
    epochs: Array.isArray(epochs) ? (epochs as unknown[]) : [],
    objectives: numberRecord(parseJson(row.objectives, `evaluation ${row.id} objectives`)),
    reusedFrom: row.reused_from,
    worker: row.worker,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function decisionFromColumn(value: string | null): EvaluationDecision | null {
  if (value === null) return null;
  // A decision this version does not know is still a decision: never taken for a result.
  return (EVALUATION_DECISIONS as readonly string[]).includes(value)
    ? (value as EvaluationDecision)
    : 'pruned';
}

function evaluationViewFromRow(row: EvaluationViewRow): EvaluationView {
  return {
    ...evaluationFromRow(row),
    genome: row.genome,
    generation: row.generation,
    seq: row.seq,
    operator: row.operator,
  };
}

function stateFromRow(row: StateRow): StrategyStateRecord {
  return {
    runId: row.run_id,
    seq: row.seq,
    phase: row.phase,
    state: parseJson(row.state, `strategy state ${row.run_id}#${row.seq}`),
    createdAt: row.created_at,
  };
}

function eventFromRow(row: EventRow): RunEvent {
  return { id: row.id, runId: row.run_id, at: row.at, kind: row.kind, message: row.message };
}

function timestamp(value: string | Date): string {
  return typeof value === 'string' ? value : value.toISOString();
}

function now(): string {
  return new Date().toISOString();
}

function pageArgs(options: PageOptions): [number, number] {
  const limit = options.limit ?? -1;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < -1) {
    throw new RunStoreError(`limit must be a whole number >= 0 (got ${limit})`);
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RunStoreError(`offset must be a whole number >= 0 (got ${offset})`);
  }
  return [limit, offset];
}

function isSqliteError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

const CANDIDATE_SELECT = `
SELECT c.*,
  (SELECT json_group_array(parent_id)
     FROM (SELECT parent_id FROM lineage WHERE child_id = c.id ORDER BY position)) AS parents
FROM candidates c`;

const OBJECTIVES_COLUMN = `(SELECT json_group_object(o.name, o.value)
     FROM objectives o WHERE o.evaluation_id = e.id) AS objectives`;

const EVALUATION_SELECT = `SELECT e.*, ${OBJECTIVES_COLUMN} FROM evaluations e`;

const EVALUATION_VIEW_SELECT = `
SELECT e.*, c.genome, c.generation, c.seq, c.operator, ${OBJECTIVES_COLUMN}
FROM evaluations e JOIN candidates c ON c.id = e.candidate_id`;

// ---------------------------------------------------------------------------------------------

export class RunStore {
  readonly path: string;
  readonly readonly: boolean;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  private constructor(db: Database.Database, path: string, readonly: boolean) {
    this.db = db;
    this.path = path;
    this.readonly = readonly;
  }

  /**
   * Opens (creating when missing, with its folder) a run store and brings its schema up to date.
   * `:memory:` opens a private in-memory store.
   */
  static open(path: string, options: OpenOptions = {}): RunStore {
    const memory = path === ':memory:';
    const file = memory ? path : resolve(path);
    const readonly = options.readonly ?? false;
    let db: Database.Database;
    try {
      if (!memory && !readonly) mkdirSync(dirname(file), { recursive: true });
      // Read-only: never creates the file or its folder, and reads a store in a read-only place.
      db =
        readonly && !memory
          ? openReadOnlyDatabase(file).db
          : new Database(file, { readonly, fileMustExist: readonly });
    } catch (error) {
      if (error instanceof RunStoreError) throw error;
      throw new RunStoreError(`cannot open run store ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      db.pragma('foreign_keys = ON');
      if (readonly) {
        // Reading the header is what fails for a file that is not SQLite.
        db.pragma('schema_version');
        checkSchema(db, file);
      } else {
        if (!memory) db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        applyMigrations(db, file);
      }
    } catch (error) {
      db.close();
      if (error instanceof RunStoreError) throw error;
      if (
        isSqliteError(error) &&
        (error.code === 'SQLITE_NOTADB' || error.code === 'SQLITE_CORRUPT')
      ) {
        throw new RunStoreError(
          `${file} is not a Nascent run store: it is not an SQLite database (${error.message})`,
          { cause: error },
        );
      }
      throw new RunStoreError(`cannot open run store ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new RunStore(db, file, readonly);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (!this.db.open) return;
    if (!this.readonly) {
      try {
        this.db.pragma('optimize');
      } catch {
        // best effort: a busy database is still closed below
      }
    }
    this.statements.clear();
    this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /**
   * Runs `fn` in one transaction (BEGIN IMMEDIATE; a savepoint when nested): everything or,
   * if it throws, nothing. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    const wrapped = (): T => {
      const result = fn();
      if (result instanceof Promise) {
        throw new RunStoreError(
          'RunStore.transaction needs a synchronous function (got a Promise)',
        );
      }
      return result;
    };
    const transaction = this.db.transaction(wrapped);
    // A read-only connection cannot take the write lock; its transactions are read snapshots.
    return this.readonly ? transaction.deferred() : transaction.immediate();
  }

  private assertWritable(what: string): void {
    if (this.readonly) {
      throw new RunStoreError(`cannot ${what}: run store ${this.path} is open read-only`);
    }
  }

  private stmt<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], R>;
  }

  // ---- runs -----------------------------------------------------------------------------------

  createRun(run: NewRun): RunRecord {
    this.assertWritable('create a run');
    return this.transaction(() => {
      const name = run.name ?? null;
      if (name !== null) {
        const clash = this.stmt<RunRow>('SELECT * FROM runs WHERE name = ? OR id = ?').get(
          name,
          name,
        );
        if (clash !== undefined) {
          throw new RunStoreError(
            `a run named "${name}" already exists in ${this.path} (${clash.id})`,
          );
        }
      }
      const at = now();
      let id = '';
      for (let attempt = 0; ; attempt += 1) {
        id = `run-${at.slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
        if (this.findRun(id) === undefined) break;
        if (attempt > 100) throw new RunStoreError('could not generate a unique run id');
      }
      this.stmt(
        `INSERT INTO runs (id, name, status, space, strategy, dataset, seed, config, code_version,
           created_at, updated_at, error)
         VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
      ).run(
        id,
        name,
        run.space,
        run.strategy,
        run.dataset,
        run.seed,
        toJson(run.config, 'run config'),
        run.codeVersion,
        at,
        at,
      );
      return this.getRun(id);
    });
  }

  /** A run by id or by name, or undefined. */
  findRun(idOrName: string): RunRecord | undefined {
    const row =
      this.stmt<RunRow>('SELECT * FROM runs WHERE id = ?').get(idOrName) ??
      this.stmt<RunRow>('SELECT * FROM runs WHERE name = ?').get(idOrName);
    return row === undefined ? undefined : runFromRow(row);
  }

  /** A run by id or by name; throws a clear error (listing the runs there are) if none. */
  getRun(idOrName: string): RunRecord {
    const run = this.findRun(idOrName);
    if (run !== undefined) return run;
    const rows = this.stmt<{ id: string; name: string | null }>(
      'SELECT id, name FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 11',
    ).all();
    if (rows.length === 0) {
      throw new RunStoreError(`no run "${idOrName}" in ${this.path}: the store has no runs yet`);
    }
    const listed = rows
      .slice(0, 10)
      .map((r) => (r.name === null ? r.id : `${r.id} (${r.name})`))
      .join(', ');
    const more = rows.length > 10 ? ', ...' : '';
    throw new RunStoreError(
      `no run "${idOrName}" in ${this.path}; runs there (newest first): ${listed}${more}`,
    );
  }

  /** Every run, oldest first. */
  listRuns(): RunRecord[] {
    return this.stmt<RunRow>('SELECT * FROM runs ORDER BY created_at, rowid').all().map(runFromRow);
  }

  setRunStatus(id: string, status: RunStatus, error?: string | null): RunRecord {
    this.assertWritable('set a run status');
    return this.transaction(() => {
      const run = this.getRun(id);
      this.stmt('UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?').run(
        status,
        error ?? null,
        now(),
        run.id,
      );
      return this.getRun(run.id);
    });
  }

  private touchRun(id: string): void {
    this.stmt('UPDATE runs SET updated_at = ? WHERE id = ?').run(now(), id);
  }

  // ---- candidates -----------------------------------------------------------------------------

  /** Adds candidates in one transaction: ids (when missing), seq, lineage. */
  addCandidates(runId: string, candidates: readonly NewCandidate[]): CandidateRecord[] {
    this.assertWritable('add candidates');
    return this.transaction(() => {
      const run = this.getRun(runId);
      const last = this.stmt<{ n: number }>(
        'SELECT coalesce(max(seq), 0) AS n FROM candidates WHERE run_id = ?',
      ).get(run.id);
      let seq = last?.n ?? 0;
      const at = now();
      const insert = this.stmt(
        `INSERT INTO candidates (id, run_id, seq, generation, genome, genome_json, architecture,
           hash, operator, params, flops, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const link = this.stmt(
        'INSERT INTO lineage (child_id, parent_id, position) VALUES (?, ?, ?)',
      );
      const exists = this.stmt<{ id: string }>('SELECT id FROM candidates WHERE id = ?');
      const added: CandidateRecord[] = [];
      for (const candidate of candidates) {
        seq += 1;
        const id = candidate.id ?? `${run.id}-c${seq}`;
        if (exists.get(id) !== undefined) {
          throw new RunStoreError(`candidate id ${id} already exists in ${this.path}`);
        }
        const genomeJson = toJson(candidate.genomeJson, `candidate ${id} genomeJson`);
        const architecture =
          candidate.architecture === undefined || candidate.architecture === null
            ? null
            : toJson(candidate.architecture, `candidate ${id} architecture`);
        const params = candidate.params ?? null;
        const flops = candidate.flops ?? null;
        insert.run(
          id,
          run.id,
          seq,
          candidate.generation,
          candidate.genome,
          genomeJson,
          architecture,
          candidate.hash,
          candidate.operator,
          params,
          flops,
          at,
        );
        const parents = [...new Set(candidate.parents ?? [])];
        parents.forEach((parent, position) => {
          if (parent === id || exists.get(parent) === undefined) {
            throw new RunStoreError(`candidate ${id}: parent ${parent} is not in the run store`);
          }
          link.run(id, parent, position);
        });
        added.push({
          id,
          runId: run.id,
          seq,
          generation: candidate.generation,
          genome: candidate.genome,
          genomeJson: JSON.parse(genomeJson) as unknown,
          architecture: architecture === null ? null : (JSON.parse(architecture) as unknown),
          hash: candidate.hash,
          operator: candidate.operator,
          params,
          flops,
          parents,
          createdAt: at,
        });
      }
      if (added.length > 0) this.touchRun(run.id);
      return added;
    });
  }

  findCandidate(id: string): CandidateRecord | undefined {
    const row = this.stmt<CandidateRow>(`${CANDIDATE_SELECT} WHERE c.id = ?`).get(id);
    return row === undefined ? undefined : candidateFromRow(row);
  }

  getCandidate(id: string): CandidateRecord {
    const candidate = this.findCandidate(id);
    if (candidate === undefined) throw new RunStoreError(`no candidate ${id} in ${this.path}`);
    return candidate;
  }

  /** A run's candidates in creation order (seq), optionally of one generation, paged. */
  candidates(runId: string, query: CandidateQuery = {}): CandidateRecord[] {
    const [limit, offset] = pageArgs(query);
    if (query.generation !== undefined) {
      return this.stmt<CandidateRow>(
        `${CANDIDATE_SELECT} WHERE c.run_id = ? AND c.generation = ? ORDER BY c.seq LIMIT ? OFFSET ?`,
      )
        .all(runId, query.generation, limit, offset)
        .map(candidateFromRow);
    }
    return this.stmt<CandidateRow>(
      `${CANDIDATE_SELECT} WHERE c.run_id = ? ORDER BY c.seq LIMIT ? OFFSET ?`,
    )
      .all(runId, limit, offset)
      .map(candidateFromRow);
  }

  candidateCount(runId: string): number {
    const row = this.stmt<{ n: number }>(
      'SELECT count(*) AS n FROM candidates WHERE run_id = ?',
    ).get(runId);
    return row?.n ?? 0;
  }

  /** A run's candidates that have no evaluation row yet (in flight when a run was killed). */
  pendingCandidates(runId: string): CandidateRecord[] {
    return this.stmt<CandidateRow>(
      `${CANDIDATE_SELECT} WHERE c.run_id = ?
         AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.candidate_id = c.id)
       ORDER BY c.seq`,
    )
      .all(runId)
      .map(candidateFromRow);
  }

  /** Ids of a candidate's parents, in order. */
  parents(candidateId: string): string[] {
    return this.stmt<{ parent_id: string }>(
      'SELECT parent_id FROM lineage WHERE child_id = ? ORDER BY position',
    )
      .all(candidateId)
      .map((row) => row.parent_id);
  }

  /** Ids of the candidates made from this one, in creation order. */
  children(candidateId: string): string[] {
    return this.stmt<{ child_id: string }>(
      `SELECT l.child_id FROM lineage l JOIN candidates c ON c.id = l.child_id
       WHERE l.parent_id = ? ORDER BY c.created_at, c.seq`,
    )
      .all(candidateId)
      .map((row) => row.child_id);
  }

  // ---- evaluations ----------------------------------------------------------------------------

  addEvaluation(evaluation: NewEvaluation): EvaluationRecord {
    this.assertWritable('add an evaluation');
    if (evaluation.status === 'failed' && !evaluation.error) {
      throw new RunStoreError(
        `evaluation of ${evaluation.candidateId}: a failed evaluation needs its error`,
      );
    }
    if (
      evaluation.decision !== undefined &&
      evaluation.decision !== null &&
      !EVALUATION_DECISIONS.includes(evaluation.decision)
    ) {
      throw new RunStoreError(
        `evaluation of ${evaluation.candidateId}: decision ${JSON.stringify(evaluation.decision)} is not one of ${EVALUATION_DECISIONS.join(', ')}`,
      );
    }
    if (!Number.isFinite(evaluation.fidelity) || evaluation.fidelity < 0) {
      throw new RunStoreError(
        `evaluation of ${evaluation.candidateId}: fidelity must be a number >= 0 (got ${evaluation.fidelity})`,
      );
    }
    return this.transaction(() => {
      const candidate = this.stmt<{ run_id: string; hash: string }>(
        'SELECT run_id, hash FROM candidates WHERE id = ?',
      ).get(evaluation.candidateId);
      if (candidate === undefined) {
        throw new RunStoreError(`no candidate ${evaluation.candidateId} in ${this.path}`);
      }
      const reusedFrom = evaluation.reusedFrom ?? null;
      if (reusedFrom !== null && this.findEvaluation(reusedFrom) === undefined) {
        throw new RunStoreError(
          `evaluation of ${evaluation.candidateId}: reused evaluation ${reusedFrom} does not exist`,
        );
      }
      const result = this.stmt(
        `INSERT INTO evaluations (candidate_id, run_id, hash, evaluation_key, status, decision,
           error, fidelity, metrics, epochs, reused_from, worker, started_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        evaluation.candidateId,
        candidate.run_id,
        candidate.hash,
        evaluation.evaluationKey,
        evaluation.status,
        evaluation.decision ?? null,
        evaluation.error ?? null,
        evaluation.fidelity,
        numbersToJson(evaluation.metrics, 'evaluation metrics'),
        numbersToJson(evaluation.epochs ?? [], 'evaluation epochs'),
        reusedFrom,
        evaluation.worker ?? null,
        timestamp(evaluation.startedAt),
        timestamp(evaluation.finishedAt),
      );
      const id = Number(result.lastInsertRowid);
      const objective = this.stmt(
        'INSERT INTO objectives (evaluation_id, name, value) VALUES (?, ?, ?)',
      );
      for (const [name, value] of Object.entries(evaluation.objectives ?? {})) {
        objective.run(id, name, value);
      }
      this.touchRun(candidate.run_id);
      const stored = this.findEvaluation(id);
      if (stored === undefined) throw new RunStoreError(`evaluation ${id} vanished`);
      return stored;
    });
  }

  findEvaluation(id: number): EvaluationRecord | undefined {
    const row = this.stmt<EvaluationRow>(`${EVALUATION_SELECT} WHERE e.id = ?`).get(id);
    return row === undefined ? undefined : evaluationFromRow(row);
  }

  /** Every evaluation of one candidate, oldest first. */
  candidateEvaluations(candidateId: string): EvaluationRecord[] {
    return this.stmt<EvaluationRow>(`${EVALUATION_SELECT} WHERE e.candidate_id = ? ORDER BY e.id`)
      .all(candidateId)
      .map(evaluationFromRow);
  }

  /**
   * The earliest `ok` result of this candidate hash under this evaluation identity, in any run of
   * the store. Never a killed or failed one, never a run's decision (a candidate screened out or
   * not promoted), never a legacy row (its identity cannot be recomputed).
   */
  findReusableEvaluation(hash: string, evaluationKey: string): EvaluationRecord | undefined {
    if (evaluationKey.startsWith(LEGACY_KEY_PREFIX)) return undefined;
    const row = this.stmt<EvaluationRow>(
      `${EVALUATION_SELECT}
       WHERE e.hash = ? AND e.evaluation_key = ? AND e.status = 'ok' AND e.decision IS NULL
       ORDER BY e.id LIMIT 1`,
    ).get(hash, evaluationKey);
    return row === undefined ? undefined : evaluationFromRow(row);
  }

  /** A run's evaluations in the order they were recorded, with their candidates, paged. */
  evaluations(runId: string, options: PageOptions = {}): EvaluationView[] {
    const [limit, offset] = pageArgs(options);
    return this.stmt<EvaluationViewRow>(
      `${EVALUATION_VIEW_SELECT} WHERE e.run_id = ? ORDER BY e.id LIMIT ? OFFSET ?`,
    )
      .all(runId, limit, offset)
      .map(evaluationViewFromRow);
  }

  evaluationCount(runId: string): number {
    const row = this.stmt<{ n: number }>(
      'SELECT count(*) AS n FROM evaluations WHERE run_id = ?',
    ).get(runId);
    return row?.n ?? 0;
  }

  // ---- strategy state -------------------------------------------------------------------------

  /** Appends a snapshot of the strategy's state; keeps the latest STRATEGY_STATES_KEPT. */
  saveStrategyState(runId: string, phase: StrategyPhase, state: unknown): StrategyStateRecord {
    this.assertWritable('save a strategy state');
    const json = toJson(state, `strategy state of ${runId}`);
    return this.transaction(() => {
      const run = this.getRun(runId);
      const last = this.stmt<{ n: number }>(
        'SELECT coalesce(max(seq), 0) AS n FROM strategy_states WHERE run_id = ?',
      ).get(run.id);
      const seq = (last?.n ?? 0) + 1;
      const at = now();
      this.stmt(
        'INSERT INTO strategy_states (run_id, seq, phase, state, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(run.id, seq, phase, json, at);
      this.stmt('DELETE FROM strategy_states WHERE run_id = ? AND seq <= ?').run(
        run.id,
        seq - STRATEGY_STATES_KEPT,
      );
      return { runId: run.id, seq, phase, state: parseJson(json, 'strategy state'), createdAt: at };
    });
  }

  latestStrategyState(runId: string): StrategyStateRecord | undefined {
    const row = this.stmt<StateRow>(
      'SELECT * FROM strategy_states WHERE run_id = ? ORDER BY seq DESC LIMIT 1',
    ).get(runId);
    return row === undefined ? undefined : stateFromRow(row);
  }

  /** The kept snapshots, oldest first. */
  strategyStates(runId: string): StrategyStateRecord[] {
    return this.stmt<StateRow>('SELECT * FROM strategy_states WHERE run_id = ? ORDER BY seq')
      .all(runId)
      .map(stateFromRow);
  }

  // ---- events ---------------------------------------------------------------------------------

  // ---- final trainings -------------------------------------------------------------------------

  addFinalTraining(training: NewFinalTraining): FinalTrainingRecord {
    this.assertWritable('add a final training');
    if (training.status === 'failed' && !training.error)
      throw new RunStoreError(`final training of ${training.name}: a failed one needs its error`);
    return this.transaction(() => {
      const run = this.getRun(training.runId);
      if (training.candidateId !== null) this.getCandidate(training.candidateId);
      const iso = (t: string | Date): string => (typeof t === 'string' ? t : t.toISOString());
      const result = this.stmt(
        `INSERT INTO final_trainings (run_id, candidate_id, name, role, architecture, settings,
           seed, status, error, metrics, epochs, model_path, started_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        run.id,
        training.candidateId,
        training.name,
        training.role,
        toJson(training.architecture, 'final training architecture'),
        toJson(training.settings, 'final training settings'),
        training.seed,
        training.status,
        training.error,
        toJson(training.metrics, 'final training metrics'),
        toJson(training.epochs, 'final training epochs'),
        training.modelPath,
        iso(training.startedAt),
        iso(training.finishedAt),
      );
      this.touchRun(run.id);
      return this.finalTrainings(run.id).find(
        (t) => t.id === Number(result.lastInsertRowid),
      ) as FinalTrainingRecord;
    });
  }

  /** A run's final trainings, oldest first. */
  finalTrainings(runId: string): FinalTrainingRecord[] {
    return this.stmt<FinalTrainingRow>('SELECT * FROM final_trainings WHERE run_id = ? ORDER BY id')
      .all(this.getRun(runId).id)
      .map((row) => ({
        id: row.id,
        runId: row.run_id,
        candidateId: row.candidate_id,
        name: row.name,
        role: row.role,
        architecture: parseJson(row.architecture, `final training ${row.id} architecture`),
        settings: parseJson(row.settings, `final training ${row.id} settings`) as Record<
          string,
          unknown
        >,
        seed: row.seed,
        status: row.status,
        error: row.error,
        metrics: numberRecord(parseNumbersJson(row.metrics, `final training ${row.id} metrics`)),
        epochs: (parseNumbersJson(row.epochs, `final training ${row.id} epochs`) ??
          []) as unknown[],
        modelPath: row.model_path,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
      }));
  }

  logEvent(runId: string, kind: string, message: string): RunEvent {
    this.assertWritable('log an event');
    return this.transaction(() => {
      const run = this.getRun(runId);
      const at = now();
      const result = this.stmt(
        'INSERT INTO run_events (run_id, at, kind, message) VALUES (?, ?, ?, ?)',
      ).run(run.id, at, kind, message);
      return { id: Number(result.lastInsertRowid), runId: run.id, at, kind, message };
    });
  }

  /** A run's latest event of this kind, or undefined. */
  lastEvent(runId: string, kind: string): RunEvent | undefined {
    const row = this.stmt<EventRow>(
      'SELECT * FROM run_events WHERE run_id = ? AND kind = ? ORDER BY id DESC LIMIT 1',
    ).get(runId, kind);
    return row === undefined ? undefined : eventFromRow(row);
  }

  /** A run's events, oldest first. */
  events(runId: string, options: PageOptions = {}): RunEvent[] {
    const [limit, offset] = pageArgs(options);
    return this.stmt<EventRow>(
      'SELECT * FROM run_events WHERE run_id = ? ORDER BY id LIMIT ? OFFSET ?',
    )
      .all(runId, limit, offset)
      .map(eventFromRow);
  }
}
