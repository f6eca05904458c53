/**
 * The dashboard's HTTP API: the JSON the server sends and the browser reads. Types only, shared
 * by the server (src/dashboard) and the front end (web/), so both sides agree at compile time.
 */

export type RunStatusName = 'running' | 'finished' | 'stopped' | 'failed';
/** A candidate's status: its latest evaluation's, or `pending` while it has none. */
export type CandidateStatus = 'ok' | 'killed' | 'failed' | 'pending';

/** An objective of a run, as its configuration states it. */
export interface ObjectiveInfo {
  readonly metric: string;
  readonly direction: 'maximize' | 'minimize';
}

/** What the server serves: the run store's path as it was given. */
export interface DashboardInfo {
  readonly store: string;
}

/** One row of the runs list. */
export interface RunSummary {
  readonly id: string;
  readonly name: string | null;
  readonly status: RunStatusName;
  readonly strategy: string;
  readonly space: string;
  readonly dataset: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly error: string | null;
  readonly objectives: readonly ObjectiveInfo[];
  /** Best value of each objective over the `ok` candidates (null when none has it). */
  readonly best: Readonly<Record<string, number | null>>;
  readonly candidates: number;
  /** Candidates with at least one evaluation. */
  readonly evaluated: number;
  readonly ok: number;
  readonly killed: number;
  readonly failed: number;
  readonly generations: number;
  /** From the run's creation to its last recorded activity. */
  readonly elapsedSeconds: number;
  readonly lastActivityAt: string;
  /** A stop was requested (from the dashboard) and the run has not ended since. */
  readonly stopRequested: boolean;
  /** The command that continues this run. */
  readonly resumeCommand: string;
}

/** One candidate of a run's table, with its latest evaluation. */
export interface CandidateRow {
  readonly id: string;
  readonly runId: string;
  readonly seq: number;
  readonly generation: number;
  readonly genome: string;
  readonly operator: string;
  readonly status: CandidateStatus;
  /** Validation accuracy (best epoch). */
  readonly accuracy: number | null;
  readonly params: number | null;
  readonly flops: number | null;
  readonly trainSeconds: number | null;
  readonly error: string | null;
  readonly reused: boolean;
}

export const CANDIDATE_SORT_KEYS = [
  'seq',
  'generation',
  'accuracy',
  'params',
  'flops',
  'status',
  'trainSeconds',
] as const;
export type CandidateSortKey = (typeof CANDIDATE_SORT_KEYS)[number];

export interface CandidatePage {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly rows: readonly CandidateRow[];
}

/** Size measure on the Pareto chart's horizontal axis. */
export type SizeMetric = 'params' | 'flops';

/**
 * Points of the Pareto chart, column by column. Small runs send every point; large ones send one
 * representative per cell of a log-size by accuracy grid (the cell's best), `count` saying how
 * many points the cell holds.
 */
export interface PointColumns {
  readonly id: readonly string[];
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly generation: readonly number[];
  readonly count: readonly number[];
}

export interface ParetoChart {
  readonly x: SizeMetric;
  /** The metric on the vertical axis and whether more is better. */
  readonly y: ObjectiveInfo;
  /** Candidates with both values (ok evaluations only). */
  readonly total: number;
  /** The non-dominated points (smaller x, better y), by increasing x. */
  readonly front: PointColumns;
  readonly cloud: PointColumns;
  readonly binned: boolean;
}

export interface GenerationStats {
  readonly generation: number;
  readonly candidates: number;
  readonly ok: number;
  readonly killed: number;
  readonly failed: number;
  readonly pending: number;
  /** Best and median fitness over the generation's ok candidates. */
  readonly best: number | null;
  readonly median: number | null;
}

/** Cumulative evaluations by status at moments of the run. */
export interface TimelinePoint {
  /** Milliseconds since the epoch. */
  readonly t: number;
  readonly ok: number;
  readonly killed: number;
  readonly failed: number;
}

/** Killed or failed candidates grouped by reason (numbers in the message replaced by #). */
export interface ProblemGroup {
  readonly status: 'killed' | 'failed';
  readonly reason: string;
  readonly count: number;
  /** The first message of the group as written, and a few candidate ids. */
  readonly example: string;
  readonly candidates: readonly string[];
}

export interface RunOverview {
  readonly run: RunSummary;
  /** The metric that fitness means here: the run's first objective. */
  readonly fitness: ObjectiveInfo;
  readonly pareto: ParetoChart;
  readonly generations: readonly GenerationStats[];
  readonly timeline: readonly TimelinePoint[];
  readonly problems: readonly ProblemGroup[];
}

export interface CandidateLink {
  readonly id: string;
  readonly generation: number;
  readonly genome: string;
  readonly operator: string;
  readonly status: CandidateStatus;
  readonly accuracy: number | null;
}

/** A per-epoch training record (null where the evaluator recorded nothing). */
export interface EpochPoint {
  readonly epoch: number;
  readonly trainLoss: number | null;
  readonly trainAccuracy: number | null;
  readonly valLoss: number | null;
  readonly valAccuracy: number | null;
  readonly lr: number | null;
  readonly seconds: number | null;
}

export interface EvaluationDetail {
  readonly id: number;
  readonly status: 'ok' | 'killed' | 'failed';
  readonly error: string | null;
  readonly fidelity: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly epochs: readonly EpochPoint[];
  /** The evaluation whose training was reused, and whose epochs are shown. */
  readonly reusedFrom: number | null;
  readonly worker: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface LayerRow {
  readonly id: string;
  readonly op: string;
  readonly label: string;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly params: number;
  readonly flops: number;
  readonly macs: number;
}

export interface DiagramNode {
  readonly id: string;
  readonly op: string;
  readonly title: string;
  /** The output shape, or empty. */
  readonly detail: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  /** SVG path data. */
  readonly path: string;
}

export interface Diagram {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
}

export interface ExportLink {
  readonly format: string;
  readonly label: string;
  readonly href: string;
}

export interface CandidateDetail {
  readonly id: string;
  readonly runId: string;
  readonly runName: string | null;
  readonly seq: number;
  readonly generation: number;
  readonly genome: string;
  readonly operator: string;
  readonly hash: string;
  readonly params: number | null;
  readonly flops: number | null;
  readonly createdAt: string;
  readonly status: CandidateStatus;
  readonly parents: readonly CandidateLink[];
  readonly children: readonly CandidateLink[];
  readonly childrenTotal: number;
  /** Oldest first. */
  readonly evaluations: readonly EvaluationDetail[];
  /** The per-epoch curves of the latest evaluation that trained (following reuse). */
  readonly curves: readonly EpochPoint[];
  /** Metrics named `proxy_*` (training-free scores), from the latest evaluation. */
  readonly proxies: Readonly<Record<string, number>>;
  readonly layers: readonly LayerRow[];
  readonly diagram: Diagram | null;
  /** Why the layers and diagram are missing, when they are. */
  readonly architectureError: string | null;
  readonly exports: readonly ExportLink[];
}

export interface CompareSeries {
  readonly run: RunSummary;
  readonly fitness: ObjectiveInfo;
  /** Best fitness so far after each evaluation (downsampled). */
  readonly progress: readonly { readonly evaluations: number; readonly best: number }[];
  readonly generations: readonly GenerationStats[];
  readonly front: PointColumns;
}

export interface CompareResult {
  readonly x: SizeMetric;
  readonly runs: readonly CompareSeries[];
}

/** What the live feed (server-sent events, event `delta`) pushes when the store changes. */
export interface LiveDelta {
  /** Runs that changed (status, counts, best values). */
  readonly runs: readonly RunSummary[];
  /** Candidates added or evaluated since the previous delta, in store order. */
  readonly candidates: readonly CandidateRow[];
  /** More changed than a delta carries: reload what is shown. */
  readonly truncated: boolean;
}

export interface ApiError {
  readonly error: string;
}
