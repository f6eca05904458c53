/**
 * The search loop: ask the strategy, record the proposals, evaluate them, tell the strategy,
 * save its state. Evaluating a batch is, in order:
 * 1. results already stored for the batch (a resumed run) are taken as they are;
 * 2. pre-training checks (run/precheck.ts) refuse what must not train;
 * 3. the screen (run/screen.ts) keeps the most promising;
 * 4. the rest train in a pool (run/pool.ts), each answered from the store when it can be
 *    (run/reuse.ts), under the budget (run/budget.ts), successive halving promoting the best of a
 *    low-fidelity rung when configured.
 * Every result is in the store the moment it is known (run/results.ts), so a run killed at any
 * point resumes losing at most the evaluations in flight.
 */
import {
  type CandidateEvaluator,
  type EvaluationRequest,
  type EvaluationSettings,
  failedCandidateResult,
} from '../evaluate/evaluator.js';
import type { PredictorExample } from '../evaluate/predictor.js';
import { sortByRanking } from '../search/ranking.js';
import { createStrategy, restoreStrategy } from '../search/registry.js';
import type { Evaluated, Strategy } from '../search/strategy.js';
import type { Architecture } from '../space/ir.js';
import { type CandidateRecord, type RunStore, STOP_REQUESTED_EVENT } from '../store/index.js';
import { RunBudget } from './budget.js';
import type { SearchEventListener } from './events.js';
import type { RunPlan, SpaceGenome } from './plan.js';
import { runPool } from './pool.js';
import { checkBeforeTraining } from './precheck.js';
import { recordProposals } from './proposals.js';
import { pruneBatch } from './pruning.js';
import { type Outcome, type RecordedOutcome, ResultRecorder } from './results.js';
import { type EvaluationKeys, type WeightsOrigin, evaluationIdentity } from './identity.js';
import { type InFlightTrainings, reusableOutcome, storedOutcome, trackTraining } from './reuse.js';
import {
  type CandidateScreen,
  SCREENED_OUT_METRIC,
  SCREEN_METRIC,
  type ScreenVerdict,
} from './screen.js';
import type { LoopState } from './stored.js';
import type { DartsTournamentHost } from './tournament-host.js';
import { InheritedWeights, candidateIdsIn, weightsDirectory } from './weights.js';

/** What a search loop works with; the runner (run/runner.ts) makes it. */
export interface LoopContext {
  readonly store: RunStore;
  readonly runId: string;
  readonly plan: RunPlan;
  readonly evaluator: CandidateEvaluator;
  /** The run's evaluation identities (run/identity.ts). */
  readonly keys: EvaluationKeys;
  readonly screen?: CandidateScreen;
  readonly tournaments?: DartsTournamentHost<SpaceGenome>;
  readonly onEvent?: SearchEventListener;
}

/** The state the loop resumes from: the last saved loop state and its phase. */
export interface SavedLoop {
  readonly phase: string;
  readonly state: LoopState;
}

type Results = Map<string, Outcome>;

export class SearchLoop {
  private readonly store: RunStore;
  private readonly runId: string;
  private readonly plan: RunPlan;
  private readonly keys: EvaluationKeys;
  private readonly budget: RunBudget;
  private readonly recorder: ResultRecorder;
  /** Weights children inherit, on disk (null when the run does not inherit weights). */
  private readonly weights: InheritedWeights | null;
  /**
   * Metrics known before training (the memory estimate, screening scores) of candidates kept for
   * training, stored with their results.
   */
  private readonly extraMetrics = new Map<string, Record<string, number>>();
  /** Stop requests (from the dashboard) older than this session's start are void. */
  private readonly sessionStartEventId: number;
  stopRequested = false;

  constructor(private readonly context: LoopContext) {
    const { store, runId, plan } = context;
    this.store = store;
    this.runId = runId;
    this.plan = plan;
    this.keys = context.keys;
    this.budget = RunBudget.fromStore(store, runId, plan.budget);
    this.recorder = new ResultRecorder(store, runId, plan.objectives, context.onEvent);
    // Workers of a queue start from scratch (no weights travel over it): nothing to keep.
    this.weights =
      plan.inheritWeights && plan.queue === undefined
        ? new InheritedWeights(
            weightsDirectory(store.path, runId),
            2 * plan.strategy.populationSize,
          )
        : null;
    this.sessionStartEventId = store.lastEvent(runId, 'resumed')?.id ?? 0;
  }

  /** Whether a stop was asked for (here or from the dashboard, since this session started). */
  private stopAsked(): boolean {
    if (
      !this.stopRequested &&
      (this.store.lastEvent(this.runId, STOP_REQUESTED_EVENT)?.id ?? 0) > this.sessionStartEventId
    )
      this.stopRequested = true;
    return this.stopRequested;
  }

  /** Why the run must stop now, or undefined. */
  private exhausted(): string | undefined {
    if (this.stopAsked()) return 'stopped on request';
    return this.budget.exhausted();
  }

  private strategyFrom(saved: SavedLoop | undefined): Strategy<SpaceGenome> {
    const { name, options } = this.plan.strategy;
    return saved
      ? (restoreStrategy(name, saved.state.strategy, options) as Strategy<SpaceGenome>)
      : (createStrategy(name, options) as Strategy<SpaceGenome>);
  }

  private saveTold(strategy: Strategy<SpaceGenome>, generation: number): void {
    const snapshot = strategy.snapshot();
    this.store.saveStrategyState(this.runId, 'told', {
      strategy: snapshot,
      generation,
      asked: [],
    } satisfies LoopState);
    // The disk policy of run/weights.ts: keep what the strategy may still breed from.
    this.weights?.retainOnly(candidateIdsIn(snapshot, this.runId));
  }

  /** Runs until the budget is spent or a stop is asked for; returns why it stopped. */
  async run(saved: SavedLoop | undefined): Promise<string> {
    const strategy = this.strategyFrom(saved);
    let generation = saved?.state.generation ?? 0;
    const generationsBudget = this.plan.budget.generations;

    // A resumed run first answers the ask it was killed in.
    if (saved?.phase === 'asked' && saved.state.asked.length > 0) {
      const candidates = saved.state.asked.map((id) => this.store.getCandidate(id));
      const stop = await this.evaluateAndTell(strategy, candidates, generation);
      if (stop) return stop;
      generation += 1;
    }

    for (;;) {
      if (generationsBudget !== undefined && generation >= generationsBudget)
        return `${generationsBudget} generation${generationsBudget === 1 ? '' : 's'} done`;
      const reason = this.exhausted();
      if (reason) return reason;
      if (await this.context.tournaments?.holdPending(strategy, this.store, this.runId))
        this.saveTold(strategy, generation);
      const proposals = strategy.ask(this.plan.strategy.populationSize);
      if (proposals.length === 0)
        throw new Error(
          `strategy ${strategy.name} proposed nothing while no evaluation was pending`,
        );
      const candidates = recordProposals(
        this.store,
        this.runId,
        this.plan,
        strategy,
        generation,
        proposals,
      );
      this.context.onEvent?.({ type: 'generation', generation, candidates: candidates.length });
      const stop = await this.evaluateAndTell(strategy, candidates, generation);
      if (stop) return stop;
      generation += 1;
    }
  }

  /** Where a candidate's starting weights come from, and the weights. */
  private startingWeights(candidate: CandidateRecord): {
    weights: ReturnType<InheritedWeights['parents']>['weights'];
    origin: WeightsOrigin;
  } {
    return this.weights
      ? this.weights.parents(candidate.parents)
      : { weights: [], origin: 'scratch' };
  }

  private keyFor(candidate: CandidateRecord, settings: EvaluationSettings): string {
    return this.keys.keyFor(settings, this.startingWeights(candidate).origin);
  }

  /** Evaluates a batch (skipping what is already in the store), tells the strategy, saves its state. */
  private async evaluateAndTell(
    strategy: Strategy<SpaceGenome>,
    candidates: readonly CandidateRecord[],
    generation: number,
  ): Promise<string | undefined> {
    const results: Results = new Map();
    for (const candidate of candidates) {
      const existing = storedOutcome(
        this.store,
        candidate,
        this.keyFor(candidate, this.plan.evaluation),
      );
      if (existing) results.set(candidate.id, existing);
    }
    let todo = this.refuseInfeasible(
      candidates.filter((c) => !results.has(c.id)),
      results,
    );
    if (this.context.screen && todo.length > 0)
      todo = await this.applyScreen(this.context.screen, candidates, todo, results);
    const halving = this.plan.pruners.successiveHalving;
    const rungPruner = halving !== undefined || this.plan.pruners.hyperband !== undefined;
    if (rungPruner && todo.length > 1 && this.context.evaluator.startSession) {
      await this.pruneWithRungs(todo, results);
    } else if (halving && todo.length > 1) {
      // No training sessions here (queue workers): promoted candidates retrain from scratch.
      await this.successiveHalving(todo, halving, results);
    } else {
      await this.pool(todo, this.plan.evaluation, results);
    }
    const missing = candidates.filter((c) => !results.has(c.id));
    if (missing.length > 0) return this.exhausted() ?? 'stopped before the generation was complete';
    const told: Evaluated<SpaceGenome>[] = candidates.map((candidate) => {
      const result = results.get(candidate.id) as Outcome;
      return {
        id: candidate.id,
        genome: this.plan.space.fromJSON(candidate.genomeJson),
        parents: candidate.parents,
        status: result.status,
        metrics: result.metrics,
      };
    });
    strategy.tell(told);
    this.saveTold(strategy, generation + 1);
    return undefined;
  }

  /**
   * Records every candidate that a pre-training check refuses as failed, untrained (each counts
   * as an evaluation, so a space of infeasible networks still spends its budget); returns the
   * others.
   */
  private refuseInfeasible(todo: readonly CandidateRecord[], results: Results): CandidateRecord[] {
    const feasible: CandidateRecord[] = [];
    for (const candidate of todo) {
      const known: Record<string, number> = {
        ...(candidate.params !== null ? { params: candidate.params } : {}),
        ...(candidate.flops !== null ? { flops: candidate.flops } : {}),
      };
      const verdict = checkBeforeTraining(this.plan, candidate.architecture as Architecture, known);
      if (verdict.error === undefined) {
        // Stored with its result (the memory estimate beside what training measures).
        this.extraMetrics.set(candidate.id, verdict.metrics);
        feasible.push(candidate);
        continue;
      }
      if (this.exhausted() !== undefined || !this.budget.reserve()) continue;
      const outcome = this.recorder.decision(
        candidate,
        this.keyFor(candidate, this.plan.evaluation),
        {
          status: 'failed',
          metrics: verdict.metrics,
          error: verdict.error,
          decision: 'infeasible',
        },
      );
      results.set(candidate.id, outcome);
    }
    return feasible;
  }

  /** The run's trained candidates (latest result per network), as predictor examples. */
  private trainedExamples(): PredictorExample[] {
    const latest = new Map<string, PredictorExample>();
    for (const evaluation of this.store.evaluations(this.runId)) {
      const accuracy = evaluation.metrics.accuracy;
      if (evaluation.status !== 'ok' || accuracy === undefined) continue;
      const candidate = this.store.getCandidate(evaluation.candidateId);
      if (candidate.architecture === null) continue;
      latest.set(candidate.hash, {
        architecture: candidate.architecture as Architecture,
        accuracy,
      });
    }
    return [...latest.values()];
  }

  /**
   * Scores the candidates left to evaluate and records all but the best as screened out (killed,
   * never trained), so a resume does not screen them again. Candidates whose result the store
   * already has are not screened (they cost nothing), and candidates of this generation that were
   * kept before a crash count towards `keep`. Returns the candidates to train.
   */
  private async applyScreen(
    screen: CandidateScreen,
    generation: readonly CandidateRecord[],
    todo: readonly CandidateRecord[],
    results: Results,
  ): Promise<CandidateRecord[]> {
    const known = todo.filter((c) =>
      this.store.findReusableEvaluation(c.hash, this.keyFor(c, this.plan.evaluation)),
    );
    const unknown = todo.filter((c) => !known.includes(c));
    const keptBefore = generation.filter((c) => {
      const result = results.get(c.id);
      return result !== undefined && result.metrics[SCREENED_OUT_METRIC] === undefined;
    }).length;
    const keep = Math.max(0, screen.settings.keep - keptBefore);
    if (unknown.length === 0) return [...todo];
    if (screen.settings.by === 'online') {
      const examples = this.trainedExamples();
      if (await screen.refit(examples))
        this.store.logEvent(
          this.runId,
          'predictor',
          `online predictor refitted on ${examples.length} trained candidates`,
        );
    }
    if (!screen.ready) return [...todo];
    // Scored even when all are kept: every candidate then carries the scores (a vote can be an
    // objective).
    const verdicts = await screen.score(
      unknown.map((c) => ({ id: c.id, architecture: c.architecture as Architecture })),
    );
    const metricName = SCREEN_METRIC[screen.settings.by];
    const kept: CandidateRecord[] = [...known];
    unknown.forEach((candidate, i) => {
      const verdict = verdicts[i] as ScreenVerdict;
      if (verdict.rank <= keep) {
        this.extraMetrics.set(candidate.id, {
          ...this.extraMetrics.get(candidate.id),
          ...verdict.metrics,
        });
        kept.push(candidate);
        return;
      }
      const metrics: Record<string, number> = {
        ...(candidate.params !== null ? { params: candidate.params } : {}),
        ...(candidate.flops !== null ? { flops: candidate.flops } : {}),
        ...verdict.metrics,
        [SCREENED_OUT_METRIC]: 1,
      };
      this.extraMetrics.delete(candidate.id);
      const error = `screened out: ${metricName} ${verdict.score.toFixed(4)} ranks ${verdict.rank} of ${unknown.length}, and only the best ${keep} are trained`;
      results.set(
        candidate.id,
        this.recorder.decision(candidate, this.keyFor(candidate, this.plan.evaluation), {
          status: 'killed',
          metrics,
          error,
          decision: 'screened-out',
        }),
      );
    });
    return todo.filter((c) => kept.includes(c));
  }

  /** The request that trains a candidate under the run's full settings. */
  private request(
    candidate: CandidateRecord,
    settings: EvaluationSettings,
    key: string,
    parentWeights: ReturnType<InheritedWeights['parents']>['weights'],
  ): EvaluationRequest {
    const onEvent = this.context.onEvent;
    return {
      candidateId: candidate.id,
      genome: candidate.genome,
      space: this.plan.space.name,
      architecture: candidate.architecture as Architecture,
      settings,
      parentWeights,
      keepWeights: this.plan.inheritWeights,
      identity: evaluationIdentity({ architectureHash: candidate.hash, key }),
      onEpoch: (record) =>
        onEvent?.({
          type: 'candidate-epoch',
          id: candidate.id,
          epoch: record.epoch,
          epochs: settings.epochs,
          valAccuracy: record.valAccuracy,
        }),
    };
  }

  /**
   * Successive halving or Hyperband with rung continuation (run/pruning.ts). Candidates the
   * store answers are reused first; a network twice in the batch trains once, its twin taking
   * its result.
   */
  private async pruneWithRungs(todo: readonly CandidateRecord[], results: Results): Promise<void> {
    const full = this.plan.evaluation;
    const evaluator = this.context.evaluator;
    const startSession = evaluator.startSession?.bind(evaluator);
    if (!startSession) throw new Error('internal: rung pruning needs training sessions');
    const toPrune: CandidateRecord[] = [];
    const first = new Map<string, CandidateRecord>();
    const twins: { candidate: CandidateRecord; of: CandidateRecord; key: string }[] = [];
    for (const candidate of todo) {
      const key = this.keyFor(candidate, full);
      const previous = await reusableOutcome(this.store, candidate, key, new Map());
      if (previous) {
        if (this.exhausted() !== undefined || !this.budget.reserve()) continue;
        this.extraMetrics.delete(candidate.id);
        this.weights?.alias(candidate.id, previous.candidateId);
        results.set(candidate.id, this.recorder.reused(candidate, key, previous));
        continue;
      }
      const identity = `${candidate.hash}\u0000${key}`;
      const original = first.get(identity);
      if (original) {
        twins.push({ candidate, of: original, key });
        continue;
      }
      first.set(identity, candidate);
      toPrune.push(candidate);
    }
    const recorded = new Map<string, RecordedOutcome>();
    await pruneBatch(
      {
        plan: this.plan,
        evaluator: { startSession, concurrency: evaluator.concurrency },
        request: (candidate) => {
          const start = this.startingWeights(candidate);
          this.context.onEvent?.({
            type: 'candidate-start',
            id: candidate.id,
            genome: candidate.genome,
            generation: candidate.generation,
            epochs: full.epochs,
          });
          return this.request(candidate, full, this.keys.keyFor(full, start.origin), start.weights);
        },
        mayStart: () => this.exhausted() === undefined && this.budget.reserve(),
        mustStop: () => this.exhausted() !== undefined,
        spendEpochs: (epochs) => this.budget.spendEpochs(epochs),
        record: (candidate, result, decision) => {
          if (result.weights) this.weights?.save(candidate.id, result.weights);
          const extra = this.extraMetrics.get(candidate.id);
          this.extraMetrics.delete(candidate.id);
          const outcome = this.recorder.trained(
            candidate,
            this.keyFor(candidate, full),
            result,
            extra,
            decision,
          );
          recorded.set(candidate.id, outcome);
          return outcome;
        },
        recordFailure: (candidate, error) => {
          const now = new Date().toISOString();
          const outcome = this.recorder.trained(
            candidate,
            this.keyFor(candidate, full),
            failedCandidateResult(error, now, now),
          );
          recorded.set(candidate.id, outcome);
          return outcome;
        },
      },
      toPrune,
      results,
    );
    for (const { candidate, of, key } of twins) {
      const outcome = recorded.get(of.id);
      if (!outcome || this.exhausted() !== undefined || !this.budget.reserve()) continue;
      this.extraMetrics.delete(candidate.id);
      if (outcome.status === 'ok') {
        this.weights?.alias(candidate.id, of.id);
        results.set(
          candidate.id,
          this.recorder.reused(candidate, key, {
            status: outcome.status,
            metrics: outcome.metrics,
            id: outcome.evaluationId,
          }),
        );
      } else {
        results.set(
          candidate.id,
          this.recorder.decision(candidate, key, {
            status: outcome.status,
            metrics: outcome.metrics,
            error: `the same network as ${of.id}, which was ${outcome.status} in this batch`,
            decision: 'pruned',
          }),
        );
      }
    }
  }

  private async successiveHalving(
    candidates: readonly CandidateRecord[],
    halving: { readonly minEpochs: number; readonly eta: number },
    results: Results,
  ): Promise<void> {
    const full = this.plan.evaluation;
    const low: EvaluationSettings = { ...full, epochs: Math.min(halving.minEpochs, full.epochs) };
    const lowResults: Results = new Map();
    await this.pool(candidates, low, lowResults, { checkBudget: false });
    const ranked = sortByRanking(
      candidates.flatMap((c) => {
        const result = lowResults.get(c.id);
        return result?.status === 'ok' ? [{ id: c.id, metrics: result.metrics }] : [];
      }),
      this.plan.objectives,
      this.plan.constraints,
    );
    const promoted = new Set(
      ranked.slice(0, Math.max(1, Math.floor(candidates.length / halving.eta))).map((r) => r.id),
    );
    for (const candidate of candidates) {
      const result = lowResults.get(candidate.id);
      if (!result || promoted.has(candidate.id)) continue;
      // Recorded under the run's own key, so a resume never trains it again.
      const status = result.status === 'ok' ? 'killed' : result.status;
      results.set(
        candidate.id,
        this.recorder.decision(
          candidate,
          this.keyFor(candidate, full),
          {
            status,
            decision: 'not-promoted',
            metrics: result.metrics,
            error: `not promoted by successive halving after ${low.epochs} epoch${low.epochs === 1 ? '' : 's'}`,
          },
          { emit: false },
        ),
      );
    }
    await this.pool(
      candidates.filter((c) => promoted.has(c.id)),
      full,
      results,
    );
  }

  /**
   * Evaluates candidates `concurrency` at a time; each result is stored the moment it is known.
   * With `checkBudget`, each evaluation reserves its share of the budget before it starts, so no
   * more start than the budget allows, however many run at once.
   */
  private async pool(
    candidates: readonly CandidateRecord[],
    settings: EvaluationSettings,
    results: Results,
    { checkBudget }: { checkBudget: boolean } = { checkBudget: true },
  ): Promise<void> {
    const inFlight: InFlightTrainings = new Map();
    await runPool(
      candidates,
      this.context.evaluator.concurrency,
      async (candidate) => {
        results.set(candidate.id, await this.evaluateOne(candidate, settings, inFlight));
      },
      () => !checkBudget || (this.exhausted() === undefined && this.budget.reserve()),
    );
  }

  private async evaluateOne(
    candidate: CandidateRecord,
    settings: EvaluationSettings,
    inFlight: InFlightTrainings,
  ): Promise<RecordedOutcome> {
    const start = this.startingWeights(candidate);
    const key = this.keys.keyFor(settings, start.origin);
    // Never train the same network twice under the same identity: reuse what the store has, or
    // wait for the identical candidate already training in this batch.
    const previous = await reusableOutcome(this.store, candidate, key, inFlight);
    if (previous) {
      this.extraMetrics.delete(candidate.id);
      this.weights?.alias(candidate.id, previous.candidateId);
      return this.recorder.reused(candidate, key, previous);
    }
    const training = this.train(candidate, settings, key, start.weights);
    trackTraining(inFlight, candidate, key, training);
    return training;
  }

  private async train(
    candidate: CandidateRecord,
    settings: EvaluationSettings,
    key: string,
    parentWeights: ReturnType<InheritedWeights['parents']>['weights'],
  ): Promise<RecordedOutcome> {
    const onEvent = this.context.onEvent;
    onEvent?.({
      type: 'candidate-start',
      id: candidate.id,
      genome: candidate.genome,
      generation: candidate.generation,
      epochs: settings.epochs,
    });
    const result = await this.context.evaluator.evaluate(
      this.request(candidate, settings, key, parentWeights),
    );
    if (result.weights) this.weights?.save(candidate.id, result.weights);
    const extra = this.extraMetrics.get(candidate.id);
    this.extraMetrics.delete(candidate.id);
    this.budget.spendEpochs(result.fidelity);
    return this.recorder.trained(candidate, key, result, extra);
  }
}
