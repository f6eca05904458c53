/**
 * The evaluation identity: one hash of everything that changes an evaluation's result, so that a
 * stored result is reused only where training the candidate again would give the same numbers.
 *
 * It covers
 * - the compiled IR (the architecture's JSON, node labels aside, which only name layers for
 *   people), not the space's text: the cells space's macro options (`channels`,
 *   `cellsPerStage`) are in the IR and so in the identity;
 * - the dataset: its content identity (a checksum of its images and labels, data/identity.ts),
 *   the training subset, the test subset, the validation split actually used and the split seed;
 * - the resolved protocol: every hyperparameter (the description text aside);
 * - the fidelity: epochs, steps per epoch and any other budget field of the settings;
 * - the augmentation;
 * - every rule that truncates training (`killBelow` and any other stop rule of the settings);
 * - where the starting weights came from: `scratch`, or a hash of the parents' trained weights
 *   that were copied in (in the order they were given: the first parent wins);
 * - the evaluator's own identity (a table's checksum, the proxies' batch size);
 * - the seed.
 *
 * Threads and the device are left out: they change how fast a result comes, not what it means.
 *
 * The store keeps the network's part ({@link architectureHash}, the candidate's hash) and the rest
 * ({@link evaluationKey}) side by side; {@link evaluationIdentity} joins them into one string.
 */
import { createHash } from 'node:crypto';
import { datasetContentIdentity } from '../data/identity.js';
import {
  type CandidateEvaluator,
  type EvaluationSettings,
  augmentationIdentity,
} from '../evaluate/evaluator.js';
import { validationSplit } from '../evaluate/prepared-data.js';
import type { TrainingProtocol } from '../evaluate/protocols.js';
import type { RunPlan } from './plan.js';

/** Format tag hashed into every evaluation identity (bumped when what it covers changes). */
export const EVALUATION_IDENTITY_FORMAT = 'nascent-evaluation/2';

/** The dataset's content identity of a run whose evaluator never reads the dataset (a table). */
export const DATASET_NOT_READ = 'not-read';

/**
 * JSON with object keys sorted at every level and `undefined` members left out, so equal values
 * always give equal text. Non-finite numbers are written as strings (`"NaN"`, `"Infinity"`).
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(canonical(value));
  return text === undefined ? 'null' : text;
}

function canonical(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => canonical(item) ?? null);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function') continue;
    out[key] = canonical(item);
  }
  return out;
}

/** A copy of `value` without the members named. */
function without<T extends object>(value: T, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => !names.includes(name)));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The architecture without what only names things for people (node labels). */
function architectureForIdentity(architecture: unknown): unknown {
  if (architecture === null || typeof architecture !== 'object') return architecture;
  const nodes = (architecture as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes)) return architecture;
  return {
    ...architecture,
    nodes: nodes.map((node: unknown) => {
      if (node === null || typeof node !== 'object') return node;
      return without(node as Record<string, unknown>, ['label']);
    }),
  };
}

/**
 * The deduplication hash of a candidate: hex SHA-256 of its compiled IR (node labels aside). The
 * IR holds the input shape and the output layer, so the same text compiled for another dataset,
 * or with other macro options, is another network.
 */
export function architectureHash(architecture: unknown): string {
  return sha256(`nascent-architecture/1\n${canonicalJson(architectureForIdentity(architecture))}`);
}

/** The dataset part of an evaluation identity. */
export interface DatasetIdentity {
  readonly name: string;
  /** {@link datasetContentIdentity} of the files, or {@link DATASET_NOT_READ}. */
  readonly content: string;
  readonly subset: number | null;
  readonly testSubset: number | null;
  /** The validation split the training uses (the dataset's fraction, else the protocol's split). */
  readonly validationFraction: number;
  readonly validationCount: number | null;
  readonly splitSeed: number;
}

/** Which images of a dataset a run uses, as its configuration says. */
export interface DatasetChoice {
  readonly name: string;
  readonly dataDir?: string | null | undefined;
  readonly subset?: number | null | undefined;
  readonly testSubset?: number | null | undefined;
  /** The dataset's own validation fraction; the protocol's split when absent. */
  readonly validationFraction?: number | null | undefined;
  readonly splitSeed: number;
}

/** The dataset identity of `choice` under `protocol`, with `content` already known. */
export function datasetIdentity(
  choice: DatasetChoice,
  protocol: Pick<TrainingProtocol, 'validationFraction' | 'validationCount'>,
  content: string,
): DatasetIdentity {
  const split = validationSplit(protocol, choice.validationFraction ?? undefined);
  return {
    name: choice.name,
    content,
    subset: choice.subset ?? null,
    testSubset: choice.testSubset ?? null,
    validationFraction: split.validationFraction,
    validationCount: split.validationCount ?? null,
    splitSeed: choice.splitSeed,
  };
}

/**
 * The dataset identity of `choice` under `protocol`, checksumming the dataset's files (once per
 * process); `readsData: false` (an evaluator that never reads the dataset) skips the checksum.
 */
export async function resolveDatasetIdentity(
  choice: DatasetChoice,
  protocol: Pick<TrainingProtocol, 'validationFraction' | 'validationCount'>,
  options: { readonly readsData?: boolean } = {},
): Promise<DatasetIdentity> {
  const content =
    options.readsData === false
      ? DATASET_NOT_READ
      : await datasetContentIdentity(choice.name, { dataDir: choice.dataDir });
  return datasetIdentity(choice, protocol, content);
}

/**
 * Where a candidate's starting weights come from: `scratch`, or a hash of the parents' trained
 * weights that were copied in (run/weights.ts), in the order they were given.
 */
export type WeightsOrigin = string;

/**
 * The settings as they identify a result: everything but threads and device, the protocol without
 * its description, the augmentation as null when it changes nothing. Fields added to the settings
 * later (a schedule length, stop rules) are covered without a change here.
 */
export function resultSettings(settings: EvaluationSettings): Record<string, unknown> {
  return {
    ...without(settings, ['threads', 'device', 'protocol', 'augment']),
    protocol: without(settings.protocol, ['description']),
    augment: augmentationIdentity(settings.augment),
  };
}

/** Everything but the network that changes an evaluation's result. */
export interface EvaluationKeyInput {
  readonly dataset: DatasetIdentity;
  readonly settings: EvaluationSettings;
  readonly weights: WeightsOrigin;
  /** The evaluator's {@link CandidateEvaluator.identity} (undefined for training evaluators). */
  readonly evaluator?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The evaluation key (hex SHA-256, 64 digits): the identity of an evaluation but for the network,
 * which the store keeps beside it as the candidate's {@link architectureHash}. A stored result is
 * reused only where both are equal (`RunStore.findReusableEvaluation(hash, key)`).
 */
export function evaluationKey(input: EvaluationKeyInput): string {
  return sha256(
    `${EVALUATION_IDENTITY_FORMAT}\n${canonicalJson({
      dataset: input.dataset,
      settings: resultSettings(input.settings),
      weights: input.weights,
      evaluator: input.evaluator ?? null,
    })}`,
  );
}

/**
 * The evaluation identity (hex SHA-256): the architecture hash of the network and its evaluation
 * key in one string, e.g. for a queue job. Equal identities mean equal results.
 */
export function evaluationIdentity(
  input: ({ readonly architecture: unknown } | { readonly architectureHash: string }) &
    ({ readonly key: string } | EvaluationKeyInput),
): string {
  const network =
    'architectureHash' in input ? input.architectureHash : architectureHash(input.architecture);
  const key = 'key' in input ? input.key : evaluationKey(input);
  return sha256(`${EVALUATION_IDENTITY_FORMAT}\n${network}\n${key}`);
}

/**
 * The evaluation keys of one run: its dataset identity (the files checksummed once, when the run
 * starts) and its evaluator's identity, combined with each evaluation's settings and weights
 * origin.
 */
export class EvaluationKeys {
  constructor(
    readonly dataset: DatasetIdentity,
    private readonly evaluatorIdentity: Readonly<Record<string, unknown>> | undefined,
  ) {}

  /**
   * The keys of a run: the configured dataset under the run's protocol, checksummed unless the
   * evaluator never reads it ({@link CandidateEvaluator.readsData}).
   */
  static async forRun(
    plan: Pick<RunPlan, 'config' | 'protocol'>,
    evaluator: Pick<CandidateEvaluator, 'identity' | 'readsData'>,
  ): Promise<EvaluationKeys> {
    const d = plan.config.dataset;
    const dataset = await resolveDatasetIdentity(
      {
        name: d.name,
        dataDir: d.dataDir,
        subset: d.subset,
        testSubset: d.testSubset,
        validationFraction: d.validationFraction,
        splitSeed: plan.config.seed,
      },
      plan.protocol,
      { readsData: evaluator.readsData !== false },
    );
    return new EvaluationKeys(dataset, evaluator.identity);
  }

  /** The key results under these settings and this weights origin are stored and reused under. */
  keyFor(settings: EvaluationSettings, origin: WeightsOrigin = 'scratch'): string {
    return evaluationKey({
      dataset: this.dataset,
      settings,
      weights: origin,
      evaluator: this.evaluatorIdentity,
    });
  }
}
