/**
 * What the dashboard reads from a run store, aggregated on the server so that a run of 20,000
 * candidates costs the browser a page of rows and a few thousand chart points at most.
 *
 * Two read-only connections to the store: a `RunStore` (which checks the schema and decodes
 * records) and a raw SQLite handle for the incremental reads of each run's index (see
 * run-index.ts) and the live feed's cursors. Every request first compares the store's change
 * token (its highest row ids and update time); only when it moved are the indexes refreshed, and
 * results computed from an index are cached under the index's version.
 */
import Database from 'better-sqlite3';
import { z } from 'zod';
import {
  type Architecture,
  analyzeArchitecture,
  formatShape,
  parseArchitecture,
} from '../space/ir.js';
import {
  type CandidateRecord,
  type EvaluationRecord,
  type RunRecord,
  RunStore,
} from '../store/index.js';
import {
  type CandidateQuery,
  candidatePage,
  generationStats,
  paretoChart,
  problemGroups,
  progress,
  timeline,
} from './aggregate.js';
import type {
  CandidateDetail,
  CandidateLink,
  CandidatePage,
  CandidateRow,
  CompareResult,
  CompareSeries,
  EpochPoint,
  EvaluationDetail,
  LayerRow,
  LiveDelta,
  ObjectiveInfo,
  RunOverview,
  RunSummary,
  SizeMetric,
} from './api-types.js';
import { CANDIDATE_EXPORTS, type CandidateExport } from './exports.js';
import { layoutArchitecture } from './layout.js';
import { RunIndex, candidateRow, finite } from './run-index.js';
import { STOP_REQUESTED_EVENT } from '../store/index.js';

/** An error a user caused (an unknown run, a bad parameter): answered with this HTTP status. */
export class DashboardRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'DashboardRequestError';
  }
}

/** Children listed on a candidate page (the total is given too). */
const LINKED_CHILDREN = 100;
/** A live delta carries at most this many candidate rows; beyond, it says `truncated`. */
const DELTA_ROWS = 200;

const DEFAULT_FITNESS: ObjectiveInfo = { metric: 'accuracy', direction: 'maximize' };

const runConfigSchema = z.object({
  objectives: z
    .array(z.object({ metric: z.string(), direction: z.enum(['maximize', 'minimize']) }))
    .min(1),
});

/** The run's objectives from its stored configuration (accuracy, maximised, when it has none). */
export function runObjectives(run: RunRecord): ObjectiveInfo[] {
  const parsed = runConfigSchema.safeParse(run.config);
  return parsed.success ? parsed.data.objectives : [DEFAULT_FITNESS];
}

/** The Pareto chart's vertical axis: the first objective that is not a size, else accuracy. */
function accuracyAxis(objectives: readonly ObjectiveInfo[]): ObjectiveInfo {
  return objectives.find((o) => o.metric !== 'params' && o.metric !== 'flops') ?? DEFAULT_FITNESS;
}

/** Quotes a command-line argument for a POSIX shell when it needs it. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Where the live feed has read up to. */
export interface LiveCursor {
  readonly candidateRowid: number;
  readonly evaluationId: number;
  readonly eventId: number;
  readonly runsUpdatedAt: ReadonlyMap<string, string>;
}

export class DashboardData {
  private readonly indexes = new Map<string, RunIndex>();
  private readonly cache = new Map<string, { version: string; value: unknown }>();
  private token = '';

  private constructor(
    /** The store path as the user gave it (shown in commands). */
    readonly storePath: string,
    private readonly store: RunStore,
    private readonly db: Database.Database,
  ) {}

  /** Opens a run store for reading; throws RunStoreError (naming the file) when it cannot. */
  static open(storePath: string): DashboardData {
    const store = RunStore.open(storePath, { readonly: true });
    let db: Database.Database;
    try {
      db = new Database(store.path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
    } catch (error) {
      store.close();
      throw error;
    }
    return new DashboardData(storePath, store, db);
  }

  close(): void {
    this.store.close();
    if (this.db.open) this.db.close();
  }

  /** Changes whenever another connection commits to the store (SQLite's data_version). */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** A string that changes whenever anything the dashboard shows changes. */
  private changeToken(): string {
    const row = this.db
      .prepare<[], { c: number; e: number; v: number; u: string; r: number }>(
        `SELECT (SELECT coalesce(max(rowid), 0) FROM candidates) AS c,
           (SELECT coalesce(max(id), 0) FROM evaluations) AS e,
           (SELECT coalesce(max(id), 0) FROM run_events) AS v,
           (SELECT coalesce(max(updated_at), '') FROM runs) AS u,
           (SELECT count(*) FROM runs) AS r`,
      )
      .get();
    return row === undefined ? '' : `${row.c}/${row.e}/${row.v}/${row.u}/${row.r}`;
  }

  /** The run's index, brought up to date when the store changed since it was last read. */
  private index(runId: string): RunIndex {
    const token = this.changeToken();
    if (token !== this.token) {
      for (const index of this.indexes.values()) index.refresh();
      this.token = token;
    }
    let index = this.indexes.get(runId);
    if (index === undefined) {
      index = new RunIndex(runId, this.db);
      index.refresh();
      this.indexes.set(runId, index);
    }
    return index;
  }

  private cached<T>(key: string, version: string, compute: () => T): T {
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.version === version) return hit.value as T;
    const value = compute();
    this.cache.set(key, { version, value });
    return value;
  }

  /** Reads every run's rows and computes its default overview, so that first views are quick. */
  warm(): void {
    for (const run of this.store.listRuns()) this.overview(run.id, 'params');
  }

  /** A run by id or name; 404 when there is none. */
  run(idOrName: string): RunRecord {
    const run = this.store.findRun(idOrName);
    if (run === undefined)
      throw new DashboardRequestError(`no run "${idOrName}" in the store`, 404);
    return run;
  }

  // ---- runs -------------------------------------------------------------------------------

  /** Every run, newest first. */
  listRuns(): RunSummary[] {
    return this.store
      .listRuns()
      .reverse()
      .map((run) => this.summary(run));
  }

  runSummary(idOrName: string): RunSummary {
    return this.summary(this.run(idOrName));
  }

  private summary(run: RunRecord): RunSummary {
    const index = this.index(run.id);
    const version = `${index.version}/${run.updatedAt}/${run.status}/${this.token}`;
    return this.cached(`summary:${run.id}`, version, () => this.summarize(run, index));
  }

  private summarize(run: RunRecord, index: RunIndex): RunSummary {
    const objectives = runObjectives(run);
    const counts = { ok: 0, killed: 0, failed: 0, pending: 0 };
    let generations = 0;
    const best: Record<string, number | null> = {};
    for (const objective of objectives) best[objective.metric] = null;
    for (const entry of index.candidates) {
      counts[entry.status] += 1;
      generations = Math.max(generations, entry.generation + 1);
      if (entry.status !== 'ok') continue;
      for (const objective of objectives) {
        const value = finite(entry.metrics[objective.metric]);
        const held = best[objective.metric] ?? null;
        if (
          value !== null &&
          (held === null || (objective.direction === 'maximize' ? value > held : value < held))
        ) {
          best[objective.metric] = value;
        }
      }
    }
    const events = this.db
      .prepare<[string], { stop: number | null; session: number | null; last: string | null }>(
        `SELECT max(CASE WHEN kind = '${STOP_REQUESTED_EVENT}' THEN id END) AS stop,
           max(CASE WHEN kind IN ('resumed', 'finished') THEN id END) AS session,
           max(at) AS last
         FROM run_events WHERE run_id = ?`,
      )
      .get(run.id);
    let lastActivityAt = run.updatedAt;
    let lastFinish = Number.NEGATIVE_INFINITY;
    for (const evaluation of index.evaluations) lastFinish = Math.max(lastFinish, evaluation.at);
    if (Number.isFinite(lastFinish) && lastFinish > Date.parse(lastActivityAt)) {
      lastActivityAt = new Date(lastFinish).toISOString();
    }
    if (events?.last && events.last > lastActivityAt) lastActivityAt = events.last;
    const stop = events?.stop ?? null;
    return {
      id: run.id,
      name: run.name,
      status: run.status,
      strategy: run.strategy,
      space: run.space,
      dataset: run.dataset,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      error: run.error,
      objectives,
      best,
      candidates: index.candidates.length,
      evaluated: counts.ok + counts.killed + counts.failed,
      ok: counts.ok,
      killed: counts.killed,
      failed: counts.failed,
      generations,
      elapsedSeconds: Math.max(0, (Date.parse(lastActivityAt) - Date.parse(run.createdAt)) / 1000),
      lastActivityAt,
      stopRequested: run.status === 'running' && stop !== null && stop > (events?.session ?? 0),
      resumeCommand: `nascent search --resume ${shellWord(run.name ?? run.id)} --store ${shellWord(this.storePath)}`,
    };
  }

  // ---- one run ----------------------------------------------------------------------------

  /** The run overview: Pareto chart, generations, timeline and problems. */
  overview(idOrName: string, x: SizeMetric): RunOverview {
    const run = this.run(idOrName);
    const index = this.index(run.id);
    const summary = this.summary(run);
    return this.cached<RunOverview>(`overview:${run.id}:${x}`, `${index.version}`, () => {
      const objectives = runObjectives(run);
      const fitness = objectives[0] ?? DEFAULT_FITNESS;
      return {
        run: summary,
        fitness,
        pareto: paretoChart(index.candidates, x, accuracyAxis(objectives)),
        generations: generationStats(index.candidates, fitness),
        timeline: timeline(index.evaluations),
        problems: problemGroups(index.candidates),
      };
    });
  }

  /** A page of a run's candidates, filtered and sorted. */
  candidatePage(idOrName: string, query: CandidateQuery): CandidatePage {
    const run = this.run(idOrName);
    return candidatePage(this.index(run.id).candidates, query);
  }

  /** Candidates from their runs' indexes, in the order given (unknown ones skipped). */
  private candidateRows(keys: readonly { id: string; run_id: string }[]): CandidateRow[] {
    const seen = new Set<string>();
    return keys.flatMap(({ id, run_id }) => {
      if (seen.has(id)) return [];
      seen.add(id);
      const entry = this.index(run_id).byId.get(id);
      return entry === undefined ? [] : [candidateRow(entry)];
    });
  }

  // ---- one candidate ----------------------------------------------------------------------

  /** A candidate by id; 404 when there is none. */
  candidateRecord(id: string): CandidateRecord {
    const candidate = this.store.findCandidate(id);
    if (candidate === undefined) {
      throw new DashboardRequestError(`no candidate "${id}" in the store`, 404);
    }
    return candidate;
  }

  /** Everything the candidate page shows; `exportHref` makes each download's link. */
  candidate(
    id: string,
    exportHref: (candidate: CandidateRecord, format: CandidateExport) => string,
  ): CandidateDetail {
    const candidate = this.candidateRecord(id);
    const run = this.store.findRun(candidate.runId);
    const evaluations = this.store.candidateEvaluations(candidate.id);
    const latest = evaluations.at(-1);
    const childIds = this.store.children(candidate.id);
    const index = this.index(candidate.runId);
    const link = (linkId: string): CandidateLink[] => {
      const entry = index.byId.get(linkId);
      if (entry === undefined) return [];
      const row = candidateRow(entry);
      return [
        {
          id: row.id,
          generation: row.generation,
          genome: row.genome,
          operator: row.operator,
          status: row.status,
          accuracy: row.accuracy,
        },
      ];
    };
    const proxies: Record<string, number> = {};
    for (const [name, value] of Object.entries(latest?.metrics ?? {})) {
      if (name.startsWith('proxy_') && Number.isFinite(value)) proxies[name] = value;
    }
    return {
      id: candidate.id,
      runId: candidate.runId,
      runName: run?.name ?? null,
      seq: candidate.seq,
      generation: candidate.generation,
      genome: candidate.genome,
      operator: candidate.operator,
      hash: candidate.hash,
      params: candidate.params,
      flops: candidate.flops,
      createdAt: candidate.createdAt,
      status: latest?.status ?? 'pending',
      parents: candidate.parents.flatMap(link),
      children: childIds.slice(0, LINKED_CHILDREN).flatMap(link),
      childrenTotal: childIds.length,
      evaluations: evaluations.map(evaluationDetail),
      curves: this.curves(evaluations),
      proxies,
      ...architectureView(candidate.architecture),
      exports: CANDIDATE_EXPORTS.filter((format) => format.available(candidate)).map((format) => ({
        format: format.format,
        label: format.label,
        href: exportHref(candidate, format),
      })),
    };
  }

  /** The epochs of the latest evaluation that trained, following a reused result to its source. */
  private curves(evaluations: readonly EvaluationRecord[]): EpochPoint[] {
    for (const evaluation of [...evaluations].reverse()) {
      const trained =
        evaluation.reusedFrom === null
          ? evaluation
          : this.store.findEvaluation(evaluation.reusedFrom);
      if (trained !== undefined && trained.epochs.length > 0) return trained.epochs.map(epochPoint);
    }
    return [];
  }

  // ---- several runs -----------------------------------------------------------------------

  /** Series of several runs for one chart. */
  compare(idsOrNames: readonly string[], x: SizeMetric): CompareResult {
    const runs = idsOrNames.map((idOrName): CompareSeries => {
      const run = this.run(idOrName);
      const index = this.index(run.id);
      const objectives = runObjectives(run);
      const fitness = objectives[0] ?? DEFAULT_FITNESS;
      return {
        run: this.summary(run),
        fitness,
        ...this.cached(`compare:${run.id}:${x}`, `${index.version}`, () => ({
          progress: progress(index.evaluations, fitness),
          generations: generationStats(index.candidates, fitness),
          front: paretoChart(index.candidates, x, accuracyAxis(objectives)).front,
        })),
      };
    });
    return { x, runs };
  }

  // ---- live feed --------------------------------------------------------------------------

  /** The cursor at the store's current end. */
  liveCursor(): LiveCursor {
    const row = this.db
      .prepare<[], { c: number; e: number; v: number }>(
        `SELECT (SELECT coalesce(max(rowid), 0) FROM candidates) AS c,
           (SELECT coalesce(max(id), 0) FROM evaluations) AS e,
           (SELECT coalesce(max(id), 0) FROM run_events) AS v`,
      )
      .get();
    return {
      candidateRowid: row?.c ?? 0,
      evaluationId: row?.e ?? 0,
      eventId: row?.v ?? 0,
      runsUpdatedAt: new Map(
        this.db
          .prepare<[], { id: string; updated_at: string }>('SELECT id, updated_at FROM runs')
          .all()
          .map((r) => [r.id, r.updated_at]),
      ),
    };
  }

  /** What changed after `cursor`, and the cursor after it. */
  changesSince(cursor: LiveCursor): { delta: LiveDelta; cursor: LiveCursor } {
    const next = this.liveCursor();
    const added = this.db
      .prepare<[number, number, number], { id: string; run_id: string }>(
        'SELECT id, run_id FROM candidates WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?',
      )
      .all(cursor.candidateRowid, next.candidateRowid, DELTA_ROWS + 1);
    const evaluated = this.db
      .prepare<[number, number, number], { id: string; run_id: string }>(
        `SELECT candidate_id AS id, run_id FROM evaluations WHERE id > ? AND id <= ?
         ORDER BY id LIMIT ?`,
      )
      .all(cursor.evaluationId, next.evaluationId, DELTA_ROWS + 1);
    const events = this.db
      .prepare<[number, number], { run_id: string }>(
        'SELECT DISTINCT run_id FROM run_events WHERE id > ? AND id <= ?',
      )
      .all(cursor.eventId, next.eventId);
    const changedRuns = new Set<string>(
      [...added, ...evaluated, ...events].map((row) => row.run_id),
    );
    for (const [id, updatedAt] of next.runsUpdatedAt) {
      if (cursor.runsUpdatedAt.get(id) !== updatedAt) changedRuns.add(id);
    }
    const truncated = added.length > DELTA_ROWS || evaluated.length > DELTA_ROWS;
    const rows = truncated ? [] : this.candidateRows([...added, ...evaluated]);
    const runs = [...changedRuns].flatMap((id) => {
      const run = this.store.findRun(id);
      return run === undefined ? [] : [this.summary(run)];
    });
    return { delta: { runs, candidates: rows, truncated }, cursor: next };
  }
}

function architectureView(
  stored: unknown,
): Pick<CandidateDetail, 'layers' | 'diagram' | 'architectureError'> {
  if (stored === null) {
    return {
      layers: [],
      diagram: null,
      architectureError: 'no architecture was stored with this candidate',
    };
  }
  try {
    const architecture: Architecture = parseArchitecture(stored);
    const summary = analyzeArchitecture(architecture);
    const layers: LayerRow[] = summary.layers.map((layer, i) => ({
      id: layer.id,
      op: layer.op,
      label: layer.label,
      inputs: architecture.nodes[i]?.inputs ?? [],
      output: formatShape(layer.outputShape),
      params: layer.params,
      flops: layer.flops,
      macs: layer.macs,
    }));
    return { layers, diagram: layoutArchitecture(architecture, summary), architectureError: null };
  } catch (error) {
    return {
      layers: [],
      diagram: null,
      architectureError: error instanceof Error ? error.message : String(error),
    };
  }
}

function epochPoint(value: unknown, index: number): EpochPoint {
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  return {
    epoch: finite(record.epoch) ?? index + 1,
    trainLoss: finite(record.trainLoss),
    trainAccuracy: finite(record.trainAccuracy),
    valLoss: finite(record.valLoss),
    valAccuracy: finite(record.valAccuracy),
    lr: finite(record.lr),
    seconds: finite(record.seconds),
  };
}

function evaluationDetail(evaluation: EvaluationRecord): EvaluationDetail {
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(evaluation.metrics)) {
    if (Number.isFinite(value)) metrics[name] = value;
  }
  return {
    id: evaluation.id,
    status: evaluation.status,
    error: evaluation.error,
    fidelity: evaluation.fidelity,
    metrics,
    epochs: evaluation.epochs.map(epochPoint),
    reusedFrom: evaluation.reusedFrom,
    worker: evaluation.worker,
    startedAt: evaluation.startedAt,
    finishedAt: evaluation.finishedAt,
  };
}
