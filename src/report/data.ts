/**
 * What a run report shows, read from the run store and validated: every candidate with its
 * result, the ranking and the Pareto front (computed as `nascent show` computes them), fitness
 * per generation, proxy scores and training curves.
 *
 * A candidate's result is its last evaluation (the one the search told its strategy). A reused
 * evaluation has no epochs of its own: its curves come from the evaluation it reused.
 */
import { z } from 'zod';
import { searchConfigSchema } from '../run/config.js';
import { paretoFront } from '../search/pareto.js';
import { sortByRanking } from '../search/ranking.js';
import type { Constraint, EvaluationStatus, Objective } from '../search/strategy.js';
import { type Architecture, parseArchitecture } from '../space/ir.js';
import type { RunReader } from '../store/read-model.js';
import type { CandidateRecord, EvaluationRecord, RunRecord } from '../store/run-store.js';
import { median } from '../util/stats.js';

/**
 * Metrics every training evaluation records; any other numeric metric is taken for a proxy
 * score (a cheap estimate of accuracy) and plotted against validation accuracy.
 */
export const STANDARD_METRICS: ReadonlySet<string> = new Set([
  'accuracy',
  'val_loss',
  'test_accuracy',
  'params',
  'flops',
  'macs',
  'train_seconds',
  'train_images',
  'inherited_tensors',
  // Known before training (run/precheck.ts): not a proxy score.
  'memory_estimate_bytes',
  'infeasible',
]);

/** One epoch of a training, in the engine's names (`EpochRecord`); absent values are missing. */
export interface EpochPoint {
  readonly epoch: number;
  readonly trainLoss?: number;
  readonly trainAccuracy?: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
}

/** A candidate with its last evaluation. */
export interface EvaluatedCandidate {
  readonly candidate: CandidateRecord;
  /** The candidate id without its run's prefix (`c12` for `<run id>-c12`). */
  readonly shortId: string;
  readonly evaluation: EvaluationRecord;
  readonly status: EvaluationStatus;
  readonly metrics: Readonly<Record<string, number>>;
  /** The training's epochs (those of the reused evaluation for a reuse). */
  readonly epochs: readonly EpochPoint[];
  /** The validated architecture, or undefined (see `architectureProblem`). */
  readonly architecture: Architecture | undefined;
  readonly architectureProblem: string | undefined;
}

/** Fitness of one generation's `ok` candidates in the first objective's metric. */
export interface GenerationFitness {
  readonly generation: number;
  /** Candidates of the generation with a result, and how many of them ended `ok`. */
  readonly evaluated: number;
  readonly ok: number;
  /** The metric of the generation's best candidate by the run's ranking. */
  readonly best: number | undefined;
  readonly median: number | undefined;
  /** The metric of the best candidate of this and every earlier generation. */
  readonly bestSoFar: number | undefined;
}

export interface ReportData {
  readonly run: RunRecord;
  readonly objectives: readonly Objective[];
  readonly constraints: readonly Constraint[];
  /** The objectives of the Pareto front: the run's, or accuracy against params for one. */
  readonly frontObjectives: readonly Objective[];
  /** Every candidate with a result, in creation order. */
  readonly evaluated: readonly EvaluatedCandidate[];
  /** Candidates that have no evaluation (a run stopped mid-generation). */
  readonly pending: readonly CandidateRecord[];
  /** `evaluated`, best first by the run's objectives and constraints. */
  readonly ranked: readonly EvaluatedCandidate[];
  /** The Pareto front of the `ok` candidates, best first. */
  readonly front: readonly EvaluatedCandidate[];
  readonly generations: readonly GenerationFitness[];
  /** The metric the fitness chart follows (the first objective's). */
  readonly fitnessMetric: Objective;
  /** Non-standard numeric metrics that some `ok` candidate recorded, sorted by name. */
  readonly proxyMetrics: readonly string[];
}

const storedConfigSchema = z.object({
  objectives: searchConfigSchema.shape.objectives,
  constraints: searchConfigSchema.shape.constraints,
});

function storedConfig(run: RunRecord): { objectives: Objective[]; constraints: Constraint[] } {
  const result = storedConfigSchema.safeParse(run.config);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 4)
      .map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`)
      .join('; ');
    throw new Error(`run ${run.id}: its stored configuration cannot be read: ${issues}`);
  }
  return result.data;
}

const finite = z.number().refine(Number.isFinite);
const optionalNumber = finite.nullish();
const epochRecordSchema = z.object({
  epoch: z.number().int().min(0),
  trainLoss: optionalNumber,
  train_loss: optionalNumber,
  loss: optionalNumber,
  trainAccuracy: optionalNumber,
  train_accuracy: optionalNumber,
  valLoss: optionalNumber,
  val_loss: optionalNumber,
  valAccuracy: optionalNumber,
  val_accuracy: optionalNumber,
});

function first(...values: (number | null | undefined)[]): number | undefined {
  for (const value of values) if (typeof value === 'number') return value;
  return undefined;
}

/**
 * Epoch records as stored, in the engine's camelCase names or the snake_case ones; records
 * that are not objects with a whole `epoch` are left out.
 */
export function epochPoints(records: readonly unknown[]): EpochPoint[] {
  const points: EpochPoint[] = [];
  for (const record of records) {
    const parsed = epochRecordSchema.safeParse(record);
    if (!parsed.success) continue;
    const r = parsed.data;
    points.push({
      epoch: r.epoch,
      trainLoss: first(r.trainLoss, r.train_loss, r.loss),
      trainAccuracy: first(r.trainAccuracy, r.train_accuracy),
      valLoss: first(r.valLoss, r.val_loss),
      valAccuracy: first(r.valAccuracy, r.val_accuracy),
    });
  }
  return points;
}

/** The epochs of an evaluation, following reuses back to the training that produced them. */
function trainingEpochs(store: RunReader, evaluation: EvaluationRecord): EpochPoint[] {
  let current: EvaluationRecord | undefined = evaluation;
  const seen = new Set<number>();
  while (current && current.epochs.length === 0 && current.reusedFrom !== null) {
    if (seen.has(current.id)) break;
    seen.add(current.id);
    current = store.findEvaluation(current.reusedFrom);
  }
  return current ? epochPoints(current.epochs) : [];
}

function validArchitecture(candidate: CandidateRecord): {
  architecture: Architecture | undefined;
  architectureProblem: string | undefined;
} {
  if (candidate.architecture === null) {
    return { architecture: undefined, architectureProblem: 'no architecture was stored' };
  }
  try {
    return {
      architecture: parseArchitecture(candidate.architecture),
      architectureProblem: undefined,
    };
  } catch (error) {
    return {
      architecture: undefined,
      architectureProblem: error instanceof Error ? error.message : String(error),
    };
  }
}

function metricOf(item: EvaluatedCandidate, metric: string): number | undefined {
  const value = item.metrics[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function fitnessByGeneration(
  evaluated: readonly EvaluatedCandidate[],
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
  metric: string,
): GenerationFitness[] {
  const generations = [...new Set(evaluated.map((e) => e.candidate.generation))].sort(
    (a, b) => a - b,
  );
  const rows: GenerationFitness[] = [];
  let champion: EvaluatedCandidate | undefined;
  for (const generation of generations) {
    const members = evaluated.filter((e) => e.candidate.generation === generation);
    const ok = members.filter((e) => e.status === 'ok');
    const best = sortByRanking(ok, objectives, constraints)[0];
    if (best)
      champion = sortByRanking(champion ? [champion, best] : [best], objectives, constraints)[0];
    const values = ok.flatMap((e) => {
      const value = metricOf(e, metric);
      return value === undefined ? [] : [value];
    });
    rows.push({
      generation,
      evaluated: members.length,
      ok: ok.length,
      best: best ? metricOf(best, metric) : undefined,
      median: median(values),
      bestSoFar: champion ? metricOf(champion, metric) : undefined,
    });
  }
  return rows;
}

function shortId(run: RunRecord, id: string): string {
  return id.startsWith(`${run.id}-`) ? id.slice(run.id.length + 1) : id;
}

/** Reads one run (by id or name) from the store: throws when it does not exist. */
export function loadReportData(store: RunReader, runIdOrName: string): ReportData {
  const run = store.getRun(runIdOrName);
  const { objectives, constraints } = storedConfig(run);
  const lastEvaluation = new Map<string, EvaluationRecord>();
  for (const evaluation of store.evaluations(run.id)) {
    lastEvaluation.set(evaluation.candidateId, evaluation);
  }
  const evaluated: EvaluatedCandidate[] = [];
  const pending: CandidateRecord[] = [];
  for (const candidate of store.candidates(run.id)) {
    const evaluation = lastEvaluation.get(candidate.id);
    if (!evaluation) {
      pending.push(candidate);
      continue;
    }
    evaluated.push({
      candidate,
      shortId: shortId(run, candidate.id),
      evaluation,
      status: evaluation.status,
      metrics: evaluation.metrics,
      epochs: trainingEpochs(store, evaluation),
      ...validArchitecture(candidate),
    });
  }
  const frontObjectives: Objective[] =
    objectives.length > 1
      ? objectives
      : [
          { metric: 'accuracy', direction: 'maximize' },
          { metric: 'params', direction: 'minimize' },
        ];
  const ok = evaluated.filter((e) => e.status === 'ok');
  const fitnessMetric = objectives[0] ?? { metric: 'accuracy', direction: 'maximize' };
  const proxyMetrics = [
    ...new Set(
      ok.flatMap((e) =>
        Object.entries(e.metrics)
          .filter(([name, value]) => !STANDARD_METRICS.has(name) && Number.isFinite(value))
          .map(([name]) => name),
      ),
    ),
  ].sort();
  return {
    run,
    objectives,
    constraints,
    frontObjectives,
    evaluated,
    pending,
    ranked: sortByRanking(evaluated, objectives, constraints),
    front: sortByRanking(paretoFront(ok, frontObjectives, constraints), objectives, constraints),
    generations: fitnessByGeneration(evaluated, objectives, constraints, fitnessMetric.metric),
    fitnessMetric,
    proxyMetrics,
  };
}
