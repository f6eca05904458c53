/**
 * Aggregations the dashboard computes on the server from a run's index: the Pareto chart (front
 * plus a binned cloud), per-generation fitness, the evaluation timeline, best-so-far progress,
 * killed and failed candidates grouped by reason, and sorted, filtered pages of candidates.
 * Pure functions; each is linear or n log n in the run's size.
 */
import type {
  CandidatePage,
  CandidateSortKey,
  CandidateStatus,
  GenerationStats,
  ObjectiveInfo,
  ParetoChart,
  PointColumns,
  ProblemGroup,
  SizeMetric,
  TimelinePoint,
} from './api-types.js';
import {
  type IndexedCandidate,
  type IndexedEvaluation,
  candidateRow,
  finite,
} from './run-index.js';

/** Above this many points the Pareto cloud is binned. */
export const CLOUD_EXACT_LIMIT = 4000;
const CLOUD_X_BINS = 80;
const CLOUD_Y_BINS = 50;
const TIMELINE_POINTS = 240;
const PROGRESS_POINTS = 400;
const PROBLEM_GROUPS = 20;
const PROBLEM_EXAMPLES = 5;

export interface Point {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly generation: number;
  count: number;
}

function better(direction: ObjectiveInfo['direction'], a: number, b: number): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function columns(points: readonly Point[]): PointColumns {
  return {
    id: points.map((p) => p.id),
    x: points.map((p) => p.x),
    y: points.map((p) => p.y),
    generation: points.map((p) => p.generation),
    count: points.map((p) => p.count),
  };
}

/**
 * The two-objective Pareto front (smaller x, better y), by increasing x: one sort and one sweep.
 * Of points with equal values only the first (in input order) is kept.
 */
export function paretoFront2d(
  points: readonly Point[],
  direction: ObjectiveInfo['direction'],
): Point[] {
  const sign = direction === 'maximize' ? 1 : -1;
  const sorted = [...points].sort((a, b) => a.x - b.x || sign * (b.y - a.y));
  const front: Point[] = [];
  let bestY = Number.NEGATIVE_INFINITY;
  for (const point of sorted) {
    if (sign * point.y > bestY) {
      front.push(point);
      bestY = sign * point.y;
    }
  }
  return front;
}

/** One point per cell of a log(x) by y grid: the cell's best, carrying the cell's count. */
export function binPoints(
  points: readonly Point[],
  direction: ObjectiveInfo['direction'],
): Point[] {
  let [xLow, xHigh, yLow, yHigh] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of points) {
    const lx = Math.log10(p.x);
    xLow = Math.min(xLow, lx);
    xHigh = Math.max(xHigh, lx);
    yLow = Math.min(yLow, p.y);
    yHigh = Math.max(yHigh, p.y);
  }
  const xSpan = xHigh - xLow || 1;
  const ySpan = yHigh - yLow || 1;
  const cells = new Map<number, Point>();
  for (const p of points) {
    const cx = Math.min(
      CLOUD_X_BINS - 1,
      Math.floor(((Math.log10(p.x) - xLow) / xSpan) * CLOUD_X_BINS),
    );
    const cy = Math.min(CLOUD_Y_BINS - 1, Math.floor(((p.y - yLow) / ySpan) * CLOUD_Y_BINS));
    const key = cx * CLOUD_Y_BINS + cy;
    const held = cells.get(key);
    if (held === undefined) cells.set(key, { ...p, count: 1 });
    else if (better(direction, p.y, held.y)) cells.set(key, { ...p, count: held.count + 1 });
    else held.count += 1;
  }
  return [...cells.values()];
}

/** The ok candidates that have both a size and a value of the vertical metric. */
export function chartPoints(
  candidates: readonly IndexedCandidate[],
  x: SizeMetric,
  y: ObjectiveInfo,
): Point[] {
  const points: Point[] = [];
  for (const entry of candidates) {
    const size = x === 'params' ? entry.params : entry.flops;
    const value = finite(entry.metrics[y.metric]);
    if (entry.status !== 'ok' || value === null || size === null || !(size > 0)) continue;
    points.push({ id: entry.id, x: size, y: value, generation: entry.generation, count: 1 });
  }
  return points;
}

export function paretoChart(
  candidates: readonly IndexedCandidate[],
  x: SizeMetric,
  y: ObjectiveInfo,
): ParetoChart {
  const points = chartPoints(candidates, x, y);
  const binned = points.length > CLOUD_EXACT_LIMIT;
  return {
    x,
    y,
    total: points.length,
    front: columns(paretoFront2d(points, y.direction)),
    cloud: columns(binned ? binPoints(points, y.direction) : points),
    binned,
  };
}

/** Status counts, and best and median fitness of the ok candidates, per generation. */
export function generationStats(
  candidates: readonly IndexedCandidate[],
  fitness: ObjectiveInfo,
): GenerationStats[] {
  const byGeneration = new Map<
    number,
    { counts: Record<CandidateStatus, number> & { candidates: number }; values: number[] }
  >();
  for (const entry of candidates) {
    let stats = byGeneration.get(entry.generation);
    if (stats === undefined) {
      stats = { counts: { candidates: 0, ok: 0, killed: 0, failed: 0, pending: 0 }, values: [] };
      byGeneration.set(entry.generation, stats);
    }
    stats.counts.candidates += 1;
    stats.counts[entry.status] += 1;
    const value = finite(entry.metrics[fitness.metric]);
    if (entry.status === 'ok' && value !== null) stats.values.push(value);
  }
  return [...byGeneration.entries()]
    .sort(([a], [b]) => a - b)
    .map(([generation, { counts, values }]) => {
      const sorted = values.sort((a, b) => a - b);
      const best =
        sorted.length === 0
          ? null
          : fitness.direction === 'maximize'
            ? (sorted.at(-1) as number)
            : (sorted[0] as number);
      return { generation, ...counts, best, median: median(sorted) };
    });
}

/** Cumulative evaluations by status at up to TIMELINE_POINTS moments (always the last one). */
export function timeline(evaluations: readonly IndexedEvaluation[]): TimelinePoint[] {
  const sorted = evaluations.filter((e) => Number.isFinite(e.at)).sort((a, b) => a.at - b.at);
  const step = Math.max(1, Math.ceil(sorted.length / TIMELINE_POINTS));
  const points: TimelinePoint[] = [];
  const counts = { ok: 0, killed: 0, failed: 0 };
  sorted.forEach((evaluation, index) => {
    counts[evaluation.status] += 1;
    if (index % step === step - 1 || index === sorted.length - 1) {
      points.push({ t: evaluation.at, ...counts });
    }
  });
  return points;
}

/** Best fitness so far against evaluations recorded, at up to PROGRESS_POINTS points. */
export function progress(
  evaluations: readonly IndexedEvaluation[],
  fitness: ObjectiveInfo,
): { evaluations: number; best: number }[] {
  const step = Math.max(1, Math.ceil(evaluations.length / PROGRESS_POINTS));
  const points: { evaluations: number; best: number }[] = [];
  let best: number | null = null;
  evaluations.forEach((evaluation, index) => {
    const value = finite(evaluation.metrics[fitness.metric]);
    if (
      evaluation.status === 'ok' &&
      value !== null &&
      (best === null || better(fitness.direction, value, best))
    ) {
      best = value;
    }
    if (best !== null && (index % step === step - 1 || index === evaluations.length - 1)) {
      points.push({ evaluations: index + 1, best });
    }
  });
  return points;
}

/** A message with its numbers replaced by `#`, so that messages differing only there group. */
export function reasonPattern(message: string): string {
  return message.replace(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi, '#');
}

/** Killed and failed candidates grouped by status and reason, largest group first. */
export function problemGroups(candidates: readonly IndexedCandidate[]): ProblemGroup[] {
  const groups = new Map<
    string,
    {
      status: 'killed' | 'failed';
      reason: string;
      count: number;
      example: string;
      candidates: string[];
    }
  >();
  for (const entry of candidates) {
    if (entry.status !== 'killed' && entry.status !== 'failed') continue;
    const message = entry.error ?? '(no reason recorded)';
    const reason = reasonPattern(message);
    const key = `${entry.status}\n${reason}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, {
        status: entry.status,
        reason,
        count: 1,
        example: message,
        candidates: [entry.id],
      });
    } else {
      group.count += 1;
      if (group.candidates.length < PROBLEM_EXAMPLES) group.candidates.push(entry.id);
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count).slice(0, PROBLEM_GROUPS);
}

export interface CandidateQuery {
  readonly offset: number;
  readonly limit: number;
  readonly sort: CandidateSortKey;
  readonly descending: boolean;
  readonly status?: CandidateStatus;
  readonly generation?: number;
}

const SORT_VALUES: Readonly<
  Record<CandidateSortKey, (e: IndexedCandidate) => number | string | null>
> = {
  seq: (e) => e.seq,
  generation: (e) => e.generation,
  accuracy: (e) => finite(e.metrics.accuracy),
  params: (e) => e.params,
  flops: (e) => e.flops,
  status: (e) => e.status,
  trainSeconds: (e) => finite(e.metrics.train_seconds),
};

/** One page of candidates: filtered, sorted (missing values last, then by seq), sliced. */
export function candidatePage(
  candidates: readonly IndexedCandidate[],
  query: CandidateQuery,
): CandidatePage {
  if (query.sort === 'seq' && query.status === undefined && query.generation === undefined) {
    // The index is in seq order already: slice instead of sorting.
    const from = query.descending ? candidates.length - query.offset - query.limit : query.offset;
    const to = query.descending ? candidates.length - query.offset : query.offset + query.limit;
    const slice = candidates.slice(Math.max(0, from), Math.max(0, to));
    return {
      total: candidates.length,
      offset: query.offset,
      limit: query.limit,
      rows: (query.descending ? slice.reverse() : slice).map(candidateRow),
    };
  }
  const value = SORT_VALUES[query.sort];
  const sign = query.descending ? -1 : 1;
  const selected = candidates.filter(
    (e) =>
      (query.status === undefined || e.status === query.status) &&
      (query.generation === undefined || e.generation === query.generation),
  );
  const keyed = selected.map((entry) => ({ entry, key: value(entry) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) {
      if (a.key !== b.key) return a.key === null ? 1 : -1;
    } else if (a.key !== b.key) {
      return sign * (a.key < b.key ? -1 : 1);
    }
    return sign * (a.entry.seq - b.entry.seq);
  });
  return {
    total: selected.length,
    offset: query.offset,
    limit: query.limit,
    rows: keyed.slice(query.offset, query.offset + query.limit).map((k) => candidateRow(k.entry)),
  };
}
