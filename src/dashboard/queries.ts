/**
 * What the dashboard reads from a run store, aggregated on the server so that a run of 20,000
 * candidates costs the browser a page of rows and a few thousand chart points at most.
 *
 * Everything comes through the store's read model (store/read-model.ts), opened read-only: its
 * records, the incremental reads of each run's index (see run-index.ts) and the live feed's
 * cursors. Every request first compares the store's change token (its highest row ids and update
 * time); only when it moved are the indexes refreshed, and results computed from an index are
 * cached under the index's version.
 */
import { z } from 'zod';
import {
  type Architecture,
  analyzeArchitecture,
  formatShape,
  parseArchitecture,
} from '../space/ir.js';
import type { CandidateRecord, EvaluationRecord, RunRecord } from '../store/index.js';
import { RunReadModel, type StoreEnd } from '../store/read-model.js';
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
export type LiveCursor = StoreEnd;

export class DashboardData {
  private readonly indexes = new Map<string, RunIndex>();
  private readonly cache = new Map<string, { version: string; value: unknown }>();
  private token = '';

  private constructor(
    /** The store path as the user gave it (shown in commands). */
    readonly storePath: string,
    private readonly store: RunReadModel,
  ) {}

  /** Opens a run store for reading; throws RunStoreError (naming the file) when it cannot. */
  static open(storePath: string): DashboardData {
    return new DashboardData(storePath, RunReadModel.open(storePath));
  }

  close(): void {
    this.store.close();
  }

  /** Changes whenever another connection commits to the store (SQLite's data_version). */
  dataVersion(): number {
    return this.store.dataVersion();
  }

  /** A string that changes whenever anything the dashboard shows changes. */
  private changeToken(): string {
    return this.store.changeToken();
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
      index = new RunIndex(runId, this.store);
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
    const activity = this.store.runActivity(run.id);
    let lastActivityAt = run.updatedAt;
    let lastFinish = Number.NEGATIVE_INFINITY;
    for (const evaluation of index.evaluations) lastFinish = Math.max(lastFinish, evaluation.at);
    if (Number.isFinite(lastFinish) && lastFinish > Date.parse(lastActivityAt)) {
      lastActivityAt = new Date(lastFinish).toISOString();
    }
    if (activity.lastEventAt && activity.lastEventAt > lastActivityAt) {
      lastActivityAt = activity.lastEventAt;
    }
    const stop = activity.lastStopRequestId;
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
      stopRequested:
        run.status === 'running' && stop !== null && stop > (activity.lastSessionEventId ?? 0),
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
  private candidateRows(keys: readonly { id: string; runId: string }[]): CandidateRow[] {
    const seen = new Set<string>();
    return keys.flatMap(({ id, runId }) => {
      if (seen.has(id)) return [];
      seen.add(id);
      const entry = this.index(runId).byId.get(id);
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
    return this.store.end();
  }

  /** What changed after `cursor`, and the cursor after it. */
  changesSince(cursor: LiveCursor): { delta: LiveDelta; cursor: LiveCursor } {
    const next = this.liveCursor();
    const { added, evaluated, eventRuns } = this.store.changesBetween(cursor, next, DELTA_ROWS);
    const changedRuns = new Set<string>([
      ...added.map((key) => key.runId),
      ...evaluated.map((key) => key.runId),
      ...eventRuns,
    ]);
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
