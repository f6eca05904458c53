/**
 * A search from start to end: open the store, resolve the configuration into its run plan
 * (run/plan.ts), create the run (or take up a stored one), make the evaluator, the screen and the
 * tournament host the plan asks for, run the search loop (run/loop.ts), record how it ended, and
 * close everything it opened.
 */
import { SKIPPED_IMAGES_EVENT, isSkippedImagesMessage } from '../data/folder.js';
import type { CandidateEvaluator } from '../evaluate/evaluator.js';
import { defaultMemoryLimitBytes } from '../evaluate/memory.js';
import { createStrategy } from '../search/registry.js';
import { RunStore } from '../store/index.js';
import type { SearchConfig } from './config.js';
import { createEvaluator } from './evaluators.js';
import type { SearchEventListener } from './events.js';
import { EvaluationKeys } from './identity.js';
import { SearchLoop, type SavedLoop } from './loop.js';
import { type RunPlan, resolveRunPlan } from './plan.js';
import { CandidateScreen } from './screen.js';
import { decodeLoopState, decodeRunConfig } from './stored.js';
import { DartsTournamentHost } from './tournament-host.js';

export { earlierSessionsMilliseconds } from './budget.js';
export type { SearchEvent } from './events.js';

export const CODE_VERSION = '0.1.0';

export interface RunSearchOptions {
  config: SearchConfig;
  /** Continue this run from the store (the config then comes from the run, with `config`'s budget and pool). */
  resume?: string;
  onEvent?: SearchEventListener;
  /** Evaluate with this instead of what the configuration names (the caller closes it). */
  evaluator?: CandidateEvaluator;
}

/** A `--name` the store already has: refused, since a name picks one run (`--resume NAME`). */
export class DuplicateRunNameError extends Error {
  constructor(name: string, existingId: string, store: string) {
    super(
      `the store ${store} already has a run named "${name}" (${existingId}): choose another --name, or continue that run with nascent search --resume ${existingId}`,
    );
    this.name = 'DuplicateRunNameError';
  }
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

/** The run to work on: a new one, or the stored run to resume with the session's changes. */
function openRun(
  store: RunStore,
  options: RunSearchOptions,
): { runId: string; plan: RunPlan; saved: SavedLoop | undefined } {
  if (options.resume) {
    const run = store.getRun(options.resume);
    // The stored config, with the new budget, pool, device and queue (what a resume may change).
    const config = decodeRunConfig(run, {
      budget: options.config.budget,
      pool: options.config.pool,
      device: options.config.device,
      store: options.config.store,
      ...(options.config.queue !== undefined ? { queue: options.config.queue } : {}),
    });
    const plan = resolveRunPlan(config, { defaultMemoryLimitBytes });
    const record = store.latestStrategyState(run.id);
    const saved = record ? { phase: record.phase, state: decodeLoopState(record) } : undefined;
    store.setRunStatus(run.id, 'running');
    store.logEvent(run.id, 'resumed', `resumed with budget ${JSON.stringify(config.budget)}`);
    return { runId: run.id, plan, saved };
  }
  const config = options.config;
  if (config.name !== undefined) {
    const existing = store.findRun(config.name);
    if (existing) throw new DuplicateRunNameError(config.name, existing.id, config.store);
  }
  const plan = resolveRunPlan(config, { defaultMemoryLimitBytes });
  // Strategy options are the strategy's to validate: a wrong one (e.g. from `--set`) is
  // reported now, before a run is recorded and a dataset loaded.
  createStrategy(plan.strategy.name, plan.strategy.options);
  const runId = store.createRun({
    ...(config.name ? { name: config.name } : {}),
    space: config.space.name,
    strategy: config.strategy.name,
    dataset: config.dataset.name,
    seed: config.seed,
    config,
    codeVersion: CODE_VERSION,
  }).id;
  return { runId, plan, saved: undefined };
}

async function runWithStore(
  store: RunStore,
  options: RunSearchOptions,
): Promise<{ runId: string; reason: string }> {
  const { runId, plan, saved } = openRun(store, options);
  options.onEvent?.({ type: 'run', runId, resumed: Boolean(options.resume), config: plan.config });

  const log = (message: string): void => {
    process.stderr.write(`${message}\n`);
    // the images a folder dataset skipped are part of the run's record
    if (isSkippedImagesMessage(message)) store.logEvent(runId, SKIPPED_IMAGES_EVENT, message);
  };
  let owned: CandidateEvaluator | undefined;
  let screen: CandidateScreen | undefined;
  let tournaments: DartsTournamentHost<unknown> | undefined;
  try {
    const evaluator = options.evaluator ?? (owned = await createEvaluator(plan, log, runId));
    if (!evaluator.startSession && (plan.pruners.hyperband || plan.pruners.successiveHalving)) {
      if (plan.pruners.hyperband)
        throw new Error(
          `hyperband continues promoted candidates from their rung, which needs local training: ${evaluator.description} cannot`,
        );
      log(
        `successive halving over ${evaluator.description}: trainings cannot continue there, so promoted candidates train again from scratch`,
      );
    }
    if (plan.pruners.screen) {
      screen = await CandidateScreen.create(plan, log);
      log(`screening: ${screen.description}`);
    }
    if (plan.strategy.dartsTournament) tournaments = new DartsTournamentHost(plan, log);
    const search = new SearchLoop({
      store,
      runId,
      plan,
      evaluator,
      keys: await EvaluationKeys.forRun(plan, evaluator),
      ...(screen ? { screen } : {}),
      ...(tournaments ? { tournaments } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
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
    tournaments?.close();
    screen?.close();
    await owned?.close();
  }
}
