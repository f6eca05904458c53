/**
 * The search loop: ask the strategy, record the proposals, evaluate them (in a local pool, with
 * deduplication, early kill, successive halving and weight inheritance), record every result as
 * it comes, tell the strategy, record its state. Every step is in the store before the next one
 * starts, so a run killed at any point resumes losing at most the evaluations in flight.
 */
import type { WeightMap } from '../engine/engine.js';
import { engineInfo } from '../engine/engine.js';
import { AccuracyPredictor, type PredictorExample } from '../evaluate/predictor.js';
import { getProtocol } from '../evaluate/protocols.js';
import { type Architecture, analyzeArchitecture } from '../space/ir.js';
import { createSpace } from '../space/registry.js';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import {
  type CandidateRecord,
  RunStore,
  STOP_REQUESTED_EVENT,
  candidateHash,
} from '../store/index.js';
import {
  type CandidateEvaluator,
  type CandidateResult,
  type EvaluationSettings,
  evaluationKey,
} from '../evaluate/evaluator.js';
import { type SearchConfig, configuredProtocol, searchConfigSchema } from './config.js';
import { createEvaluator, datasetTarget } from './evaluators.js';
import { sortByRanking } from '../search/ranking.js';
import { createStrategy, restoreStrategy } from '../search/registry.js';
import {
  CandidateScreen,
  SCREENED_OUT_METRIC,
  SCREEN_METRIC,
  type ScreenVerdict,
} from './screen.js';
import { PredictorScreenedSpace } from './screened-space.js';
import type { Evaluated, Strategy } from '../search/strategy.js';
import { DartsTournamentHost } from './tournament-host.js';

export const CODE_VERSION = '0.1.0';

export type SearchEvent =
  | { type: 'run'; runId: string; resumed: boolean; config: SearchConfig }
  | { type: 'generation'; generation: number; candidates: number }
  | { type: 'candidate-start'; id: string; genome: string; generation: number; epochs: number }
  | {
      type: 'candidate-epoch';
      id: string;
      epoch: number;
      epochs: number;
      valAccuracy: number | null;
    }
  | {
      type: 'candidate-done';
      id: string;
      genome: string;
      generation: number;
      status: CandidateResult['status'];
      metrics: Record<string, number>;
      error?: string;
      reused: boolean;
    }
  | { type: 'finished'; runId: string; reason: string; evaluated: number };

export interface RunSearchOptions {
  config: SearchConfig;
  /** Continue this run from the store (the config then comes from the run, with `config`'s budget and pool). */
  resume?: string;
  onEvent?: (event: SearchEvent) => void;
  /** Evaluate with this instead of what the configuration names (the caller closes it). */
  evaluator?: CandidateEvaluator;
}

/** Genomes as the loop handles them: whatever the configured space uses. */
type SpaceGenome = unknown;

interface LoopState {
  strategy: unknown;
  generation: number;
  /** Candidate ids of the last ask that has not been told yet. */
  asked: string[];
}

interface Budget {
  evaluations: number;
  epochs: number;
  started: number;
}

export async function runSearch(
  options: RunSearchOptions,
): Promise<{ runId: string; reason: string }> {
  const store = RunStore.open(options.config.store);
  try {
    return await runWithStore(store, options);
  } finally {
    store.close();
  }
}

async function runWithStore(
  store: RunStore,
  options: RunSearchOptions,
): Promise<{ runId: string; reason: string }> {
  let config = options.config;
  let runId: string;
  let saved: { phase: string; state: unknown } | undefined;
  if (options.resume) {
    const run = store.getRun(options.resume);
    // The stored config, with the new budget, pool, device and queue (what a resume may change).
    config = searchConfigSchema.parse({
      ...(run.config as Record<string, unknown>),
      budget: options.config.budget,
      pool: options.config.pool,
      device: options.config.device,
      store: options.config.store,
      ...(options.config.queue !== undefined ? { queue: options.config.queue } : {}),
    });
    runId = run.id;
    saved = store.latestStrategyState(runId);
    store.setRunStatus(runId, 'running');
    store.logEvent(runId, 'resumed', `resumed with budget ${JSON.stringify(config.budget)}`);
  } else {
    // Strategy options are the strategy's to validate: a wrong one (e.g. from `--set`) is
    // reported now, before a run is recorded and a dataset loaded.
    createStrategy(
      config.strategy.name,
      strategyOptionsFor(config, createSpace(config.space), datasetTarget(config)),
    );
    runId = store.createRun({
      ...(config.name ? { name: uniqueRunName(store, config.name) } : {}),
      space: config.space.name,
      strategy: config.strategy.name,
      dataset: config.dataset.name,
      seed: config.seed,
      config,
      codeVersion: CODE_VERSION,
    }).id;
  }
  options.onEvent?.({ type: 'run', runId, resumed: Boolean(options.resume), config });

  const log = (message: string): void => void process.stderr.write(`${message}\n`);
  let owned: CandidateEvaluator | undefined;
  let screen: CandidateScreen | undefined;
  let search: SearchLoop | undefined;
  try {
    const evaluator = options.evaluator ?? (owned = await createEvaluator(config, log));
    if (config.evaluation.screen) {
      screen = await CandidateScreen.create(config, log);
      log(`screening: ${screen.description}`);
    }
    search = new SearchLoop(store, runId, config, evaluator, options.onEvent, screen, log);
    const reason = await search.run(saved);
    const status = search.stopRequested ? 'stopped' : 'finished';
    store.setRunStatus(runId, status);
    store.logEvent(runId, status, reason);
    options.onEvent?.({ type: 'finished', runId, reason, evaluated: store.evaluationCount(runId) });
    return { runId, reason };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    store.setRunStatus(runId, 'failed', message);
    throw error;
  } finally {
    search?.close();
    screen?.close();
    await owned?.close();
  }
}

/** What the configured strategy is constructed with. */
function strategyOptionsFor(
  config: SearchConfig,
  space: SearchSpace<SpaceGenome>,
  target: CompileTarget,
) {
  return {
    space,
    target,
    objectives: config.objectives,
    constraints: config.constraints,
    seed: config.seed,
    populationSize: config.strategy.populationSize,
    ...config.strategy.options,
    ...(config.strategy.dartsTournament
      ? {
          dartsTournament: {
            every: config.strategy.dartsTournament.every,
            size: config.strategy.dartsTournament.size,
          },
        }
      : {}),
  };
}

/** The configured name, or `name-2`, `name-3`, ... when the store already has a run of that name. */
function uniqueRunName(store: RunStore, name: string): string {
  for (let n = 1; ; n += 1) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    if (!store.findRun(candidate)) return candidate;
  }
}

/**
 * Wall time a run used before this session: each session runs from its start (the run's creation,
 * then each `resumed` event) to the last evaluation that finished in it. Time between that
 * evaluation and a crash is not counted (at most the one evaluation lost in flight).
 */
export function earlierSessionsMilliseconds(
  store: RunStore,
  runId: string,
  evaluations: readonly { finishedAt: string }[],
): number {
  const starts = [
    Date.parse(store.getRun(runId).createdAt),
    ...store
      .events(runId)
      .filter((event) => event.kind === 'resumed')
      .map((event) => Date.parse(event.at)),
  ].sort((a, b) => a - b);
  const lastFinish = starts.map((start) => start);
  for (const evaluation of evaluations) {
    const finished = Date.parse(evaluation.finishedAt);
    // The session it finished in: the last one that started at or before it.
    let session = -1;
    for (let i = 0; i < starts.length && (starts[i] as number) <= finished; i++) session = i;
    if (session >= 0) lastFinish[session] = Math.max(lastFinish[session] as number, finished);
  }
  return starts.reduce((total, start, i) => total + (lastFinish[i] as number) - start, 0);
}

class SearchLoop {
  private readonly space: SearchSpace<SpaceGenome>;
  private readonly target: CompileTarget;
  private readonly settings: EvaluationSettings;
  private readonly key: string;
  private readonly weights = new Map<string, WeightMap>();
  /** Screening scores of candidates kept for training, stored with their results. */
  private readonly screenMetrics = new Map<string, Record<string, number>>();
  private readonly budget: Budget;
  /** Stop requests (from the dashboard) older than this session's start are void. */
  private readonly sessionStartEventId: number;
  private readonly tournaments: DartsTournamentHost<SpaceGenome> | undefined;
  stopRequested = false;

  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly config: SearchConfig,
    private readonly evaluator: CandidateEvaluator,
    private readonly onEvent?: (event: SearchEvent) => void,
    private readonly screen?: CandidateScreen,
    log?: (message: string) => void,
  ) {
    const screenOperators = config.evaluation.screenOperators;
    this.space = screenOperators
      ? new PredictorScreenedSpace(
          createSpace(config.space),
          AccuracyPredictor.load(screenOperators.predictor),
          screenOperators.candidates,
        )
      : createSpace(config.space);
    this.target = datasetTarget(config);
    const protocol = getProtocol(configuredProtocol(config));
    const cores = engineInfo().hardwareCores;
    this.settings = {
      protocol,
      epochs: config.evaluation.epochs ?? protocol.training.epochs,
      ...(config.evaluation.maxStepsPerEpoch
        ? { maxStepsPerEpoch: config.evaluation.maxStepsPerEpoch }
        : {}),
      ...(config.evaluation.killBelow ? { killBelow: config.evaluation.killBelow } : {}),
      ...(config.evaluation.augment ? { augment: config.evaluation.augment } : {}),
      seed: config.seed,
      threads: config.pool.threads ?? Math.max(1, Math.floor(cores / config.pool.size)),
      device: config.device,
    };
    this.key = evaluationKey(this.datasetIdentity(), this.settings, evaluator.identity);
    const evaluations = store.evaluations(runId, {});
    this.budget = {
      // Candidates screened out were never trained: they do not count.
      evaluations: evaluations.filter((e) => e.metrics[SCREENED_OUT_METRIC] === undefined).length,
      epochs: evaluations.reduce((sum, e) => sum + (e.reusedFrom === null ? e.fidelity : 0), 0),
      // A wall-time budget spans sessions: a resumed run counts the time its earlier ones used.
      started: Date.now() - earlierSessionsMilliseconds(store, runId, evaluations),
    };
    this.sessionStartEventId = store.lastEvent(runId, 'resumed')?.id ?? 0;
    this.tournaments = config.strategy.dartsTournament
      ? new DartsTournamentHost(config, this.space, this.target, this.settings.threads ?? 1, log)
      : undefined;
  }

  close(): void {
    this.tournaments?.close();
  }

  private datasetIdentity(): Record<string, unknown> {
    const d = this.config.dataset;
    return {
      name: d.name,
      subset: d.subset ?? null,
      testSubset: d.testSubset ?? null,
      validationFraction: d.validationFraction ?? null,
      splitSeed: this.config.seed,
    };
  }

  private strategyOptions() {
    return strategyOptionsFor(this.config, this.space, this.target);
  }

  /** Why the run must stop now, or undefined. */
  private exhausted(): string | undefined {
    if (
      this.stopRequested ||
      (this.store.lastEvent(this.runId, STOP_REQUESTED_EVENT)?.id ?? 0) > this.sessionStartEventId
    ) {
      this.stopRequested = true;
      return 'stopped on request';
    }
    const b = this.config.budget;
    if (b.evaluations !== undefined && this.budget.evaluations >= b.evaluations)
      return `${b.evaluations} evaluations done`;
    if (b.epochs !== undefined && this.budget.epochs >= b.epochs)
      return `${b.epochs} training epochs spent`;
    if (b.minutes !== undefined && Date.now() - this.budget.started >= b.minutes * 60_000)
      return `${b.minutes} minutes elapsed`;
    return undefined;
  }

  async run(saved: { phase: string; state: unknown } | undefined): Promise<string> {
    let strategy: Strategy<SpaceGenome>;
    let state: LoopState | undefined = saved?.state as LoopState | undefined;
    if (state) {
      strategy = restoreStrategy(
        this.config.strategy.name,
        state.strategy,
        this.strategyOptions(),
      ) as Strategy<SpaceGenome>;
    } else {
      strategy = createStrategy(
        this.config.strategy.name,
        this.strategyOptions(),
      ) as Strategy<SpaceGenome>;
    }
    let generation = state?.generation ?? 0;
    const generationsBudget = this.config.budget.generations;

    // A resumed run first answers the ask it was killed in.
    if (saved?.phase === 'asked' && state && state.asked.length > 0) {
      const candidates = state.asked.map((id) => this.store.getCandidate(id));
      const stop = await this.evaluateAndTell(strategy, candidates, generation);
      if (stop) return stop;
      generation += 1;
    }

    for (;;) {
      if (generationsBudget !== undefined && generation >= generationsBudget)
        return `${generationsBudget} generation${generationsBudget === 1 ? '' : 's'} done`;
      const reason = this.exhausted();
      if (reason) return reason;
      if (await this.tournaments?.holdPending(strategy, this.store, this.runId)) {
        this.store.saveStrategyState(this.runId, 'told', {
          strategy: strategy.snapshot(),
          generation,
          asked: [],
        } satisfies LoopState);
      }
      const proposals = strategy.ask(this.config.strategy.populationSize);
      if (proposals.length === 0)
        throw new Error(
          `strategy ${strategy.name} proposed nothing while no evaluation was pending`,
        );
      const candidates = this.store.transaction(() => {
        const added = this.store.addCandidates(
          this.runId,
          proposals.map((proposal) => {
            const text = this.space.format(proposal.genome);
            const architecture = this.space.compile(proposal.genome, this.target);
            const summary = analyzeArchitecture(architecture);
            return {
              generation,
              genome: text,
              genomeJson: this.space.toJSON(proposal.genome),
              architecture,
              hash: candidateHash(text, this.target),
              operator: proposal.operator,
              params: summary.params,
              flops: summary.flops,
              parents: [...proposal.parents],
            };
          }),
        );
        state = { strategy: strategy.snapshot(), generation, asked: added.map((c) => c.id) };
        this.store.saveStrategyState(this.runId, 'asked', state);
        return added;
      });
      this.onEvent?.({ type: 'generation', generation, candidates: candidates.length });
      const stop = await this.evaluateAndTell(strategy, candidates, generation);
      if (stop) return stop;
      generation += 1;
    }
  }

  /** Evaluates a batch (skipping what is already in the store), tells the strategy, saves its state. */
  private async evaluateAndTell(
    strategy: Strategy<SpaceGenome>,
    candidates: readonly CandidateRecord[],
    generation: number,
  ): Promise<string | undefined> {
    const results = new Map<
      string,
      { status: CandidateResult['status']; metrics: Record<string, number> }
    >();
    for (const candidate of candidates) {
      const existing = this.store
        .candidateEvaluations(candidate.id)
        .filter((evaluation) => evaluation.evaluationKey === this.key)
        .at(-1);
      if (existing)
        results.set(candidate.id, { status: existing.status, metrics: existing.metrics });
    }
    let todo = candidates.filter((c) => !results.has(c.id));
    if (this.screen && todo.length > 0)
      todo = await this.applyScreen(this.screen, candidates, todo, results);
    const halving = this.config.evaluation.successiveHalving;
    if (halving && todo.length > 1) {
      await this.successiveHalving(todo, halving, results);
    } else {
      await this.pool(todo, this.settings, results);
    }
    const missing = candidates.filter((c) => !results.has(c.id));
    if (missing.length > 0) return this.exhausted() ?? 'stopped before the generation was complete';
    const told: Evaluated<SpaceGenome>[] = candidates.map((candidate) => {
      const result = results.get(candidate.id) as {
        status: CandidateResult['status'];
        metrics: Record<string, number>;
      };
      return {
        id: candidate.id,
        genome: this.space.fromJSON(candidate.genomeJson),
        parents: candidate.parents,
        status: result.status,
        metrics: result.metrics,
      };
    });
    strategy.tell(told);
    this.store.saveStrategyState(this.runId, 'told', {
      strategy: strategy.snapshot(),
      generation: generation + 1,
      asked: [],
    } satisfies LoopState);
    return undefined;
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
    results: Map<string, { status: CandidateResult['status']; metrics: Record<string, number> }>,
  ): Promise<CandidateRecord[]> {
    const known = todo.filter((c) => this.store.findReusableEvaluation(c.hash, this.key));
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
        this.screenMetrics.set(candidate.id, verdict.metrics);
        kept.push(candidate);
        return;
      }
      const metrics: Record<string, number> = {
        ...(candidate.params !== null ? { params: candidate.params } : {}),
        ...(candidate.flops !== null ? { flops: candidate.flops } : {}),
        ...verdict.metrics,
        [SCREENED_OUT_METRIC]: 1,
      };
      const error = `screened out: ${metricName} ${verdict.score.toFixed(4)} ranks ${verdict.rank} of ${unknown.length}, and only the best ${keep} are trained`;
      const now = new Date().toISOString();
      this.store.addEvaluation({
        candidateId: candidate.id,
        status: 'killed',
        error,
        fidelity: 0,
        metrics,
        objectives: this.objectiveValues(metrics),
        evaluationKey: this.key,
        startedAt: now,
        finishedAt: now,
      });
      results.set(candidate.id, { status: 'killed', metrics });
      this.emitDone(candidate, 'killed', metrics, false, error);
    });
    return todo.filter((c) => kept.includes(c));
  }

  private async successiveHalving(
    candidates: readonly CandidateRecord[],
    halving: { minEpochs: number; eta: number },
    results: Map<string, { status: CandidateResult['status']; metrics: Record<string, number> }>,
  ): Promise<void> {
    const low: EvaluationSettings = {
      ...this.settings,
      epochs: Math.min(halving.minEpochs, this.settings.epochs),
    };
    const lowResults = new Map<
      string,
      { status: CandidateResult['status']; metrics: Record<string, number> }
    >();
    await this.pool(candidates, low, lowResults, { checkBudget: false });
    const ranked = sortByRanking(
      candidates.flatMap((c) => {
        const result = lowResults.get(c.id);
        return result?.status === 'ok' ? [{ id: c.id, metrics: result.metrics }] : [];
      }),
      this.config.objectives,
      this.config.constraints,
    );
    const promoted = new Set(
      ranked.slice(0, Math.max(1, Math.floor(candidates.length / halving.eta))).map((r) => r.id),
    );
    for (const candidate of candidates) {
      const result = lowResults.get(candidate.id);
      if (!result || promoted.has(candidate.id)) continue;
      // Recorded under the run's own key, so a resume never trains it again.
      const status = result.status === 'ok' ? 'killed' : result.status;
      const now = new Date().toISOString();
      this.store.addEvaluation({
        candidateId: candidate.id,
        status,
        error: `not promoted by successive halving after ${low.epochs} epoch${low.epochs === 1 ? '' : 's'}`,
        fidelity: 0,
        metrics: result.metrics,
        objectives: this.objectiveValues(result.metrics),
        evaluationKey: this.key,
        startedAt: now,
        finishedAt: now,
      });
      results.set(candidate.id, { status, metrics: result.metrics });
    }
    await this.pool(
      candidates.filter((c) => promoted.has(c.id)),
      this.settings,
      results,
    );
  }

  /** Runs evaluations `pool.size` at a time; each result is stored the moment it is known. */
  private async pool(
    candidates: readonly CandidateRecord[],
    settings: EvaluationSettings,
    results: Map<string, { status: CandidateResult['status']; metrics: Record<string, number> }>,
    { checkBudget }: { checkBudget: boolean } = { checkBudget: true },
  ): Promise<void> {
    const key =
      settings === this.settings
        ? this.key
        : evaluationKey(this.datasetIdentity(), settings, this.evaluator.identity);
    const inFlight = new Map<
      string,
      Promise<{
        status: CandidateResult['status'];
        metrics: Record<string, number>;
        evaluationId: number;
      }>
    >();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < candidates.length) {
        if (checkBudget && this.exhausted()) return;
        const candidate = candidates[next] as CandidateRecord;
        next += 1;
        const result = await this.evaluateOne(candidate, settings, key, inFlight);
        results.set(candidate.id, result);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.evaluator.concurrency, candidates.length) }, worker),
    );
  }

  private async evaluateOne(
    candidate: CandidateRecord,
    settings: EvaluationSettings,
    key: string,
    inFlight: Map<
      string,
      Promise<{
        status: CandidateResult['status'];
        metrics: Record<string, number>;
        evaluationId: number;
      }>
    >,
  ): Promise<{ status: CandidateResult['status']; metrics: Record<string, number> }> {
    // Never train the same network twice under the same protocol: reuse what the store has, or
    // wait for the identical candidate already training in this batch.
    const previous =
      this.store.findReusableEvaluation(candidate.hash, key) ??
      (await inFlight.get(candidate.hash));
    if (previous) {
      const evaluationId = 'evaluationId' in previous ? previous.evaluationId : previous.id;
      const metrics = previous.metrics as Record<string, number>;
      const now = new Date().toISOString();
      this.store.addEvaluation({
        candidateId: candidate.id,
        status: previous.status,
        fidelity: 0,
        metrics,
        epochs: [],
        objectives: this.objectiveValues(metrics),
        evaluationKey: key,
        reusedFrom: evaluationId,
        startedAt: now,
        finishedAt: now,
      });
      this.budget.evaluations += 1;
      this.emitDone(candidate, previous.status, metrics, true);
      return { status: previous.status, metrics };
    }
    const promise = this.train(candidate, settings, key);
    inFlight.set(candidate.hash, promise);
    const result = await promise;
    return result;
  }

  private async train(
    candidate: CandidateRecord,
    settings: EvaluationSettings,
    key: string,
  ): Promise<{
    status: CandidateResult['status'];
    metrics: Record<string, number>;
    evaluationId: number;
  }> {
    this.onEvent?.({
      type: 'candidate-start',
      id: candidate.id,
      genome: candidate.genome,
      generation: candidate.generation,
      epochs: settings.epochs,
    });
    const inherit = this.config.evaluation.inheritWeights;
    const parentWeights = inherit
      ? candidate.parents.flatMap((id) => {
          const weights = this.weights.get(id);
          return weights ? [weights] : [];
        })
      : [];
    const result = await this.evaluator.evaluate({
      candidateId: candidate.id,
      genome: candidate.genome,
      space: this.space.name,
      architecture: candidate.architecture as Architecture,
      settings,
      parentWeights,
      keepWeights: inherit,
      onEpoch: (record) =>
        this.onEvent?.({
          type: 'candidate-epoch',
          id: candidate.id,
          epoch: record.epoch,
          epochs: settings.epochs,
          valAccuracy: record.valAccuracy,
        }),
    });
    if (result.weights) {
      this.weights.set(candidate.id, result.weights);
      const keep = 3 * this.config.strategy.populationSize;
      for (const id of this.weights.keys()) {
        if (this.weights.size <= keep) break;
        this.weights.delete(id);
      }
    }
    const metrics = { ...this.screenMetrics.get(candidate.id), ...result.metrics };
    this.screenMetrics.delete(candidate.id);
    const evaluation = this.store.addEvaluation({
      candidateId: candidate.id,
      status: result.status,
      ...(result.error ? { error: result.error } : {}),
      fidelity: result.fidelity,
      metrics,
      epochs: result.epochs,
      objectives: this.objectiveValues(metrics),
      evaluationKey: key,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
    });
    if (result.status === 'failed')
      this.store.logEvent(
        this.runId,
        'failed',
        `${candidate.id} ${candidate.genome}: ${result.error ?? ''}`,
      );
    this.budget.evaluations += 1;
    this.budget.epochs += result.fidelity;
    this.emitDone(candidate, result.status, metrics, false, result.error);
    return { status: result.status, metrics, evaluationId: evaluation.id };
  }

  private emitDone(
    candidate: CandidateRecord,
    status: CandidateResult['status'],
    metrics: Record<string, number>,
    reused: boolean,
    error?: string,
  ): void {
    this.onEvent?.({
      type: 'candidate-done',
      id: candidate.id,
      genome: candidate.genome,
      generation: candidate.generation,
      status,
      metrics,
      reused,
      ...(error ? { error } : {}),
    });
  }

  private objectiveValues(metrics: Record<string, number>): Record<string, number> {
    const values: Record<string, number> = {};
    for (const objective of this.config.objectives) {
      const value = metrics[objective.metric];
      if (value !== undefined) values[objective.metric] = value;
    }
    return values;
  }
}
