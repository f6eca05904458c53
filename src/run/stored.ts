/**
 * The JSON a run keeps in the store, decoded in one place with zod: the run's configuration and
 * the search loop's state (the strategy's snapshot, the generation, the ask not yet answered).
 * A record that does not decode is reported with the run and the field, never used half-read.
 */
import { z } from 'zod';
import type { RunRecord, StrategyStateRecord } from '../store/index.js';
import { type SearchConfig, searchConfigSchema } from './config.js';

/** The search loop's state, saved after every ask (`asked`) and every tell (`told`). */
export interface LoopState {
  /** The strategy's snapshot (its own format, decoded by the strategy). */
  readonly strategy: unknown;
  readonly generation: number;
  /** Candidate ids of the last ask that has not been told yet. */
  readonly asked: readonly string[];
}

const loopStateSchema = z
  .object({
    strategy: z.unknown(),
    generation: z.number().int().min(0),
    asked: z.array(z.string()),
  })
  .strict();

export class StoredRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredRecordError';
  }
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`)
    .join('; ');
}

/**
 * A run's stored configuration, validated; `changes` replace stored settings first (what a
 * resume may change: budget, pool, device, store, queue).
 */
export function decodeRunConfig(
  run: Pick<RunRecord, 'id' | 'config'>,
  changes: Readonly<Partial<SearchConfig>> = {},
): SearchConfig {
  const stored = run.config;
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored))
    throw new StoredRecordError(`run ${run.id} has no stored configuration (a mapping)`);
  const result = searchConfigSchema.safeParse({ ...stored, ...changes });
  if (!result.success)
    throw new StoredRecordError(
      `run ${run.id}'s stored configuration is not valid for this Nascent: ${describe(result.error)}`,
    );
  return result.data;
}

/** The loop state of a stored strategy-state record. */
export function decodeLoopState(
  record: Pick<StrategyStateRecord, 'runId' | 'seq' | 'state'>,
): LoopState {
  const result = loopStateSchema.safeParse(record.state);
  if (!result.success)
    throw new StoredRecordError(
      `run ${record.runId}'s saved search state #${record.seq} cannot be read: ${describe(result.error)}`,
    );
  return result.data;
}
