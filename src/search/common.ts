/**
 * Machinery shared by the strategies: option validation (zod, with messages that name the
 * option), snapshot encoding and validation, matching told results to outstanding proposals,
 * a generation's worth of proposals and results, and the selection and variation helpers.
 */
import { z } from 'zod';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { Random, type RandomState } from '../util/random.js';
import { nearestKey } from '../util/unknown-keys.js';
import type {
  Constraint,
  EvaluationStatus,
  Evaluated,
  Objective,
  Proposal,
  Strategy,
} from './strategy.js';

/** Options every strategy takes. */
export interface BaseStrategyOptions<G> {
  readonly space: SearchSpace<G>;
  readonly target: CompileTarget;
  /** What to optimise; single-objective strategies rank by the first and break ties by the rest. */
  readonly objectives: readonly Objective[];
  /** Candidates that break one are infeasible and rank below every feasible one. */
  readonly constraints?: readonly Constraint[];
  readonly seed: number;
}

/** Invalid strategy options; the message names the option and the rule. */
export class StrategyOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrategyOptionsError';
  }
}

/** A snapshot that cannot be restored: foreign, malformed, or taken with other options. */
export class StrategySnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrategySnapshotError';
  }
}

/** A told result that answers no outstanding proposal of the strategy. */
export class UnmatchedResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnmatchedResultError';
  }
}

// ---------------------------------------------------------------------------------------------
// Options

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SPACE_METHODS = [
  'sample',
  'mutate',
  'crossover',
  'format',
  'parse',
  'toJSON',
  'fromJSON',
  'compile',
] as const;

const spaceSchema = z.custom<SearchSpace<unknown>>(
  (value) =>
    isRecord(value) && SPACE_METHODS.every((method) => typeof value[method] === 'function'),
  { error: `space must be a SearchSpace (with ${SPACE_METHODS.join(', ')})` },
);

const objectiveSchema = z.object({
  metric: z.string().min(1, 'an objective needs a metric name'),
  direction: z.enum(['maximize', 'minimize'], {
    error: 'an objective direction is "maximize" or "minimize"',
  }),
});

const constraintSchema = z.object({
  metric: z.string().min(1, 'a constraint needs a metric name'),
  op: z.enum(['>=', '<='], { error: 'a constraint op is ">=" or "<="' }),
  value: z.number({ error: 'a constraint value must be a finite number' }),
});

/** Zod shapes of the options every strategy takes. */
export const baseOptionsShape = {
  space: spaceSchema,
  target: z.custom<CompileTarget>(isRecord, {
    error: 'target must be a compile target ({ input, classes })',
  }),
  objectives: z
    .array(objectiveSchema, { error: 'objectives must be an array of { metric, direction }' })
    .min(1, 'objectives must name at least one objective'),
  constraints: z
    .array(constraintSchema, { error: 'constraints must be an array of { metric, op, value }' })
    .default([]),
  seed: z.number({ error: 'seed must be a number' }).int('seed must be a safe integer'),
};

export function intOption(name: string, min: number) {
  return z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(min, `${name} must be at least ${String(min)}`);
}

export function probabilityOption(name: string) {
  return z
    .number({ error: `${name} must be a number` })
    .min(0, `${name} must be between 0 and 1`)
    .max(1, `${name} must be between 0 and 1`);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${String(part)}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function describeIssues(issues: z.ZodError['issues'], unknownNoun: string, known?: string[]) {
  return issues
    .slice(0, 5)
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const names = issue.keys.map((key) => `"${key}"`).join(', ');
        const where = issue.path.length > 0 ? ` in ${formatPath(issue.path)}` : '';
        const list = known && issue.path.length === 0 ? ` (known: ${known.join(', ')})` : '';
        const nearest = issue.keys
          .map((key) => (known && issue.path.length === 0 ? nearestKey(key, known) : undefined))
          .filter((key) => key !== undefined);
        const hint = nearest.length > 0 ? `; did you mean ${nearest.join(', ')}?` : '';
        return `unknown ${unknownNoun}${issue.keys.length > 1 ? 's' : ''} ${names}${where}${list}${hint}`;
      }
      const path = formatPath(issue.path);
      if (path === '' || issue.message.startsWith(String(issue.path[0]))) return issue.message;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses options with `schema`; throws a {@link StrategyOptionsError} naming what is wrong. */
export function parseOptions<S extends z.ZodType>(
  strategy: string,
  schema: S,
  value: unknown,
  known: string[],
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new StrategyOptionsError(
      `${strategy} options: ${describeIssues(result.error.issues, 'option', known)}`,
    );
  }
  return result.data;
}

/** The validated options as plain JSON (the space by name), kept in snapshots. */
export function optionsFingerprint(
  options: Readonly<Record<string, unknown>> & { readonly space: SearchSpace<unknown> },
): string {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    plain[key] = key === 'space' ? options.space.name : value;
  }
  return JSON.stringify(plain);
}

function checkFingerprint(strategy: string, saved: Record<string, unknown>, current: string) {
  const given = JSON.parse(current) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(given)])].sort();
  const differences: string[] = [];
  for (const key of keys) {
    const a = JSON.stringify(saved[key]) as string | undefined;
    const b = JSON.stringify(given[key]) as string | undefined;
    if (a !== b) differences.push(`${key} (snapshot ${a ?? 'unset'}, given ${b ?? 'unset'})`);
  }
  if (differences.length > 0) {
    throw new StrategySnapshotError(
      `the "${strategy}" snapshot was taken with other options: ${differences.join('; ')}; ` +
        'restore it with the options it was taken with',
    );
  }
}

/** Throws unless `count` is a non-negative integer. */
export function checkCount(strategy: string, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`${strategy}.ask: count must be a non-negative integer, got ${count}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Construction without initial sampling (restore overwrites the state anyway)

let restoring = false;

/** Runs `make` (a constructor call) with {@link isRestoring} true. */
export function constructForRestore<T>(make: () => T): T {
  restoring = true;
  try {
    return make();
  } finally {
    restoring = false;
  }
}

/** True inside {@link constructForRestore}: constructors skip drawing their first proposals. */
export function isRestoring(): boolean {
  return restoring;
}

// ---------------------------------------------------------------------------------------------
// Snapshots

export const SNAPSHOT_VERSION = 1;

const uint32 = z.number().int().min(0).max(0xffffffff);
const counter = z.number().int().min(0);
const statusSchema = z.enum(['ok', 'killed', 'failed']);
const metricsSchema = z.record(z.string(), z.number());

export const memberSchema = z.object({
  id: z.string(),
  genome: z.unknown(),
  parents: z.array(z.string()),
  status: statusSchema,
  metrics: metricsSchema,
});
export type MemberJson = z.infer<typeof memberSchema>;

export const proposalSchema = z.object({
  genome: z.unknown(),
  parents: z.array(z.string()),
  operator: z.string(),
});
export type ProposalJson = z.infer<typeof proposalSchema>;

const outcomeSchema = z.object({ id: z.string(), status: statusSchema, metrics: metricsSchema });

export const batchSchema = z
  .object({
    proposals: z.array(proposalSchema),
    asked: counter,
    results: z.array(outcomeSchema.nullable()),
  })
  .refine((batch) => batch.results.length === batch.proposals.length, {
    error: 'batch.results must have one entry per proposal',
  })
  .refine((batch) => batch.asked <= batch.proposals.length, {
    error: 'batch.asked exceeds the number of proposals',
  })
  .refine((batch) => batch.results.every((result, i) => result === null || i < batch.asked), {
    error: 'batch has a result for a proposal that was never asked',
  });
export type BatchJson = z.infer<typeof batchSchema>;

/** The fields every snapshot has, for `z.object({ ...snapshotHeader('ga'), ... })`. */
export function snapshotHeader<N extends string>(strategy: N) {
  return {
    strategy: z.literal(strategy),
    version: z.literal(SNAPSHOT_VERSION),
    options: z.record(z.string(), z.unknown()),
    random: z.object({
      algorithm: z.literal('sfc32'),
      words: z.tuple([uint32, uint32, uint32, uint32]),
    }),
    asked: counter,
    told: counter,
  };
}

/**
 * Validates a snapshot of `strategy` and that it was taken with the same options (given here
 * as their fingerprint). Throws a {@link StrategySnapshotError} on a snapshot of another
 * strategy, a malformed one, or other options.
 */
export function parseSnapshot<S extends z.ZodType<{ options: Record<string, unknown> }>>(
  strategy: string,
  schema: S,
  snapshot: unknown,
): z.output<S> {
  if (!isRecord(snapshot) || typeof snapshot['strategy'] !== 'string') {
    throw new StrategySnapshotError(
      `not a strategy snapshot: expected an object with strategy "${strategy}"`,
    );
  }
  if (snapshot['strategy'] !== strategy) {
    throw new StrategySnapshotError(
      `cannot restore a "${snapshot['strategy']}" snapshot as a "${strategy}" strategy`,
    );
  }
  const result = schema.safeParse(snapshot);
  if (!result.success) {
    throw new StrategySnapshotError(
      `invalid "${strategy}" snapshot: ${describeIssues(result.error.issues, 'field')}`,
    );
  }
  return result.data;
}

/** Throws unless the snapshot's options equal the given ones. */
export function checkSnapshotOptions(
  strategy: string,
  saved: Record<string, unknown>,
  fingerprint: string,
): void {
  checkFingerprint(strategy, saved, fingerprint);
}

/** Throws a {@link StrategySnapshotError} with `message` unless `ok`. */
export function checkSnapshot(strategy: string, ok: boolean, message: string): void {
  if (!ok) throw new StrategySnapshotError(`inconsistent "${strategy}" snapshot: ${message}`);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function genomeFromJSON<G>(
  strategy: string,
  space: SearchSpace<G>,
  value: unknown,
  what: string,
): G {
  try {
    return space.fromJSON(value);
  } catch (error) {
    throw new StrategySnapshotError(
      `invalid "${strategy}" snapshot: the genome of ${what} cannot be read by space ` +
        `"${space.name}": ${errorMessage(error)}`,
    );
  }
}

export function memberToJSON<G>(space: SearchSpace<G>, member: Evaluated<G>): MemberJson {
  return {
    id: member.id,
    genome: space.toJSON(member.genome),
    parents: [...member.parents],
    status: member.status,
    metrics: { ...member.metrics },
  };
}

export function memberFromJSON<G>(
  strategy: string,
  space: SearchSpace<G>,
  json: MemberJson,
): Evaluated<G> {
  return {
    id: json.id,
    genome: genomeFromJSON(strategy, space, json.genome, `candidate "${json.id}"`),
    parents: json.parents,
    status: json.status,
    metrics: json.metrics,
  };
}

export function proposalToJSON<G>(space: SearchSpace<G>, proposal: Proposal<G>): ProposalJson {
  return {
    genome: space.toJSON(proposal.genome),
    parents: [...proposal.parents],
    operator: proposal.operator,
  };
}

export function proposalFromJSON<G>(
  strategy: string,
  space: SearchSpace<G>,
  json: ProposalJson,
  index: number,
): Proposal<G> {
  return {
    genome: genomeFromJSON(strategy, space, json.genome, `proposal ${String(index)}`),
    parents: json.parents,
    operator: json.operator,
  };
}

/** What every snapshot holds, whatever the strategy: see {@link snapshotHeader}. */
export interface SnapshotHeaderJson {
  readonly options: Record<string, unknown>;
  readonly random: RandomState;
  readonly asked: number;
  readonly told: number;
}

/** The options of {@link BaseStrategyOptions} as validated by {@link baseOptionsShape}. */
export interface ParsedBaseOptions {
  readonly objectives: readonly Objective[];
  readonly constraints: readonly Constraint[];
  readonly seed: number;
}

/**
 * What every strategy holds and does alike: its space, target, objectives and constraints, the
 * fingerprint of its options, its random generator, the `asked` and `told` counters, and the
 * snapshot fields they make (the header of {@link snapshotHeader}). A subclass adds its own
 * state with {@link SeededStrategy.snapshotState} and {@link SeededStrategy.restoreState}, and
 * its `static restore` is `parseSnapshot`, `constructForRestore`, then `restoreFrom`.
 */
export abstract class SeededStrategy<G, S extends SnapshotHeaderJson> implements Strategy<G> {
  abstract readonly name: string;
  protected readonly space: SearchSpace<G>;
  protected readonly target: CompileTarget;
  protected readonly objectives: readonly Objective[];
  protected readonly constraints: readonly Constraint[];
  protected readonly fingerprint: string;
  protected random: Random;
  protected askedCount = 0;
  protected toldCount = 0;

  /** `options` as given (space and target), `parsed` as validated, `fingerprint` of them. */
  protected constructor(
    options: BaseStrategyOptions<G>,
    parsed: ParsedBaseOptions,
    fingerprint: string,
  ) {
    this.space = options.space;
    this.target = options.target;
    this.objectives = parsed.objectives;
    this.constraints = parsed.constraints;
    this.fingerprint = fingerprint;
    this.random = new Random(parsed.seed);
  }

  /** Proposals handed out so far. */
  get asked(): number {
    return this.askedCount;
  }

  /** Results told so far. */
  get told(): number {
    return this.toldCount;
  }

  abstract ask(count: number): Proposal<G>[];
  abstract tell(results: readonly Evaluated<G>[]): void;

  snapshot(): unknown {
    return {
      strategy: this.name,
      version: SNAPSHOT_VERSION,
      options: JSON.parse(this.fingerprint) as unknown,
      random: this.random.state,
      asked: this.askedCount,
      told: this.toldCount,
      ...this.snapshotState(),
    };
  }

  /** The snapshot fields after the header, in the order they are written. */
  protected abstract snapshotState(): Record<string, unknown>;

  /**
   * Continues from a parsed snapshot, on a strategy made by `constructForRestore`: checks the
   * options it was taken with, then {@link checkRestorable}, then restores the header's state
   * and {@link restoreState}.
   */
  protected restoreFrom(data: S): void {
    checkSnapshotOptions(this.name, data.options, this.fingerprint);
    this.checkRestorable(data);
    this.random = Random.fromState(data.random);
    this.askedCount = data.asked;
    this.toldCount = data.told;
    this.restoreState(data);
  }

  /** Throws (with {@link checkSnapshot}) when the snapshot's state cannot be this strategy's. */
  protected checkRestorable(data: S): void {
    void data;
  }

  /** Restores what {@link snapshotState} wrote. */
  protected abstract restoreState(data: S): void;
}

// ---------------------------------------------------------------------------------------------
// Results

const STATUSES: readonly EvaluationStatus[] = ['ok', 'killed', 'failed'];

/** Only the finite numeric metrics: anything else counts as missing, now and after a restore. */
export function cleanMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[name] = value;
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Outstanding {
  readonly key: string;
  readonly parents: readonly string[];
}

/**
 * For each result, the index of the open entry it answers: the first open entry with the same
 * canonical genome text and the same parents. Throws before anything changes when a result
 * answers nothing.
 */
function matchResults<G>(
  strategy: string,
  space: SearchSpace<G>,
  entries: readonly Outstanding[],
  isOpen: (index: number) => boolean,
  results: readonly Evaluated<G>[],
): number[] {
  const claimed = new Set<number>();
  const slots: number[] = [];
  for (const result of results) {
    if (typeof result.id !== 'string') {
      throw new TypeError(`${strategy}.tell: a result's id must be a string`);
    }
    if (!STATUSES.includes(result.status)) {
      throw new TypeError(
        `${strategy}.tell: result "${result.id}" has status ${JSON.stringify(result.status)}, ` +
          'expected "ok", "killed" or "failed"',
      );
    }
    if (typeof result.metrics !== 'object' || result.metrics === null) {
      throw new TypeError(`${strategy}.tell: result "${result.id}" has no metrics object`);
    }
    const parents = Array.isArray(result.parents) ? result.parents : [];
    const key = space.format(result.genome);
    let found = -1;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Outstanding;
      if (!claimed.has(i) && isOpen(i) && entry.key === key && sameList(entry.parents, parents)) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      throw new UnmatchedResultError(
        `${strategy}.tell: result "${result.id}" (genome "${key}", parents ` +
          `[${parents.join(', ')}]) answers no outstanding proposal of this strategy`,
      );
    }
    claimed.add(found);
    slots.push(found);
  }
  return slots;
}

function toMember<G>(proposal: Proposal<G>, result: Evaluated<G>): Evaluated<G> {
  return {
    id: result.id,
    genome: proposal.genome,
    parents: proposal.parents,
    status: result.status,
    metrics: cleanMetrics(result.metrics),
  };
}

/**
 * A fixed list of proposals (one generation) handed out in order, with a slot per proposal for
 * its result. Results are kept in proposal order, whatever order they are told in, so a
 * generational run depends only on the seed and the metrics, not on evaluation timing.
 */
export class GenerationBatch<G> {
  private constructor(
    private readonly proposals: readonly Proposal<G>[],
    private readonly entries: readonly Outstanding[],
    private handedOut: number,
    private readonly results: (Evaluated<G> | undefined)[],
  ) {}

  static of<G>(space: SearchSpace<G>, proposals: readonly Proposal<G>[]): GenerationBatch<G> {
    return new GenerationBatch(
      proposals,
      proposals.map((p) => ({ key: space.format(p.genome), parents: p.parents })),
      0,
      proposals.map(() => undefined),
    );
  }

  get size(): number {
    return this.proposals.length;
  }

  /** Proposals handed out but not yet told. */
  get outstanding(): number {
    let open = 0;
    for (let i = 0; i < this.handedOut; i++) if (this.results[i] === undefined) open++;
    return open;
  }

  /** All proposals have been told. */
  get complete(): boolean {
    return this.results.every((result) => result !== undefined);
  }

  /** Hands out up to `count` proposals not handed out yet. */
  take(count: number): Proposal<G>[] {
    const end = Math.min(this.proposals.length, this.handedOut + count);
    const out = this.proposals.slice(this.handedOut, end);
    this.handedOut = end;
    return out;
  }

  /** Records results (all or none: throws before recording when one answers nothing). */
  record(strategy: string, space: SearchSpace<G>, results: readonly Evaluated<G>[]): void {
    const slots = matchResults(
      strategy,
      space,
      this.entries,
      (i) => i < this.handedOut && this.results[i] === undefined,
      results,
    );
    slots.forEach((slot, k) => {
      this.results[slot] = toMember(
        this.proposals[slot] as Proposal<G>,
        results[k] as Evaluated<G>,
      );
    });
  }

  /** The told results, in proposal order. */
  told(): Evaluated<G>[] {
    return this.results.filter((result): result is Evaluated<G> => result !== undefined);
  }

  toJSON(space: SearchSpace<G>): BatchJson {
    return {
      proposals: this.proposals.map((p) => proposalToJSON(space, p)),
      asked: this.handedOut,
      results: this.results.map((r) =>
        r === undefined ? null : { id: r.id, status: r.status, metrics: { ...r.metrics } },
      ),
    };
  }

  static fromJSON<G>(strategy: string, space: SearchSpace<G>, json: BatchJson): GenerationBatch<G> {
    const batch = GenerationBatch.of(
      space,
      json.proposals.map((p, i) => proposalFromJSON(strategy, space, p, i)),
    );
    batch.handedOut = json.asked;
    json.results.forEach((outcome, i) => {
      if (outcome === null) return;
      const proposal = batch.proposals[i] as Proposal<G>;
      batch.results[i] = {
        id: outcome.id,
        genome: proposal.genome,
        parents: proposal.parents,
        status: outcome.status,
        metrics: outcome.metrics,
      };
    });
    return batch;
  }
}

/** Proposals handed out and not yet told, for strategies without generations. */
export class PendingProposals<G> {
  private entries: { readonly proposal: Proposal<G>; readonly key: string }[] = [];

  get size(): number {
    return this.entries.length;
  }

  add(space: SearchSpace<G>, proposal: Proposal<G>): void {
    this.entries.push({ proposal, key: space.format(proposal.genome) });
  }

  /**
   * Removes the proposals the results answer and returns them as evaluated candidates, in the
   * results' order (all or none: throws before removing when one answers nothing).
   */
  resolve(
    strategy: string,
    space: SearchSpace<G>,
    results: readonly Evaluated<G>[],
  ): Evaluated<G>[] {
    const slots = matchResults(
      strategy,
      space,
      this.entries.map((e) => ({ key: e.key, parents: e.proposal.parents })),
      () => true,
      results,
    );
    const members = slots.map((slot, k) =>
      toMember(
        (this.entries[slot] as { proposal: Proposal<G> }).proposal,
        results[k] as Evaluated<G>,
      ),
    );
    const taken = new Set(slots);
    this.entries = this.entries.filter((_, i) => !taken.has(i));
    return members;
  }

  toJSON(space: SearchSpace<G>): ProposalJson[] {
    return this.entries.map((e) => proposalToJSON(space, e.proposal));
  }

  static fromJSON<G>(
    strategy: string,
    space: SearchSpace<G>,
    json: readonly ProposalJson[],
  ): PendingProposals<G> {
    const pending = new PendingProposals<G>();
    json.forEach((p, i) => pending.add(space, proposalFromJSON(strategy, space, p, i)));
    return pending;
  }
}

// ---------------------------------------------------------------------------------------------
// Selection and variation

/**
 * Tournament selection with replacement: `size` uniform draws among `n` candidates (leaving out
 * `exclude` when there is another one), the best by `better` wins; ties keep the earlier draw.
 */
export function tournament(
  random: Random,
  n: number,
  size: number,
  exclude: number | undefined,
  better: (i: number, j: number) => boolean,
): number {
  const skip = exclude !== undefined && n > 1 ? exclude : -1;
  const draw = (): number => {
    const r = random.int(0, (skip >= 0 ? n - 1 : n) - 1);
    return skip >= 0 && r >= skip ? r + 1 : r;
  };
  let winner = draw();
  for (let t = 1; t < size; t++) {
    const challenger = draw();
    if (better(challenger, winner)) winner = challenger;
  }
  return winner;
}

export interface VariationContext<G> {
  readonly space: SearchSpace<G>;
  readonly target: CompileTarget;
  readonly random: Random;
}

/**
 * Up to `room` children of `a` and `b`: with probability `crossoverProbability` the space's
 * crossover makes two children (parents: both ids), each then mutated with probability
 * `mutationProbability` (always when it equals a parent); otherwise each parent is mutated
 * (parent: its id), so no proposal is an unmodified copy of a parent.
 */
export function vary<G>(
  context: VariationContext<G>,
  a: Evaluated<G>,
  b: Evaluated<G>,
  crossoverProbability: number,
  mutationProbability: number,
  room: number,
): Proposal<G>[] {
  const { space, target, random } = context;
  const out: Proposal<G>[] = [];
  if (random.bool(crossoverProbability)) {
    const children = space.crossover(a.genome, b.genome, random, target);
    const parentTexts = new Set([space.format(a.genome), space.format(b.genome)]);
    for (const child of children.slice(0, room)) {
      const mutate = random.bool(mutationProbability) || parentTexts.has(space.format(child));
      out.push({
        genome: mutate ? space.mutate(child, random, target) : child,
        parents: [a.id, b.id],
        operator: mutate ? 'crossover+mutate' : 'crossover',
      });
    }
  } else {
    for (const parent of [a, b].slice(0, room)) {
      out.push({
        genome: space.mutate(parent.genome, random, target),
        parents: [parent.id],
        operator: 'mutate',
      });
    }
  }
  return out;
}

/**
 * `count` children of `pool`: each pair of parents by two tournaments of `tournamentSize` (the
 * second leaving out the first), varied by {@link vary}, until there are `count`.
 */
export function tournamentOffspring<G>(
  context: VariationContext<G>,
  pool: readonly Evaluated<G>[],
  count: number,
  tournamentSize: number,
  better: (i: number, j: number) => boolean,
  crossoverProbability: number,
  mutationProbability: number,
): Proposal<G>[] {
  const children: Proposal<G>[] = [];
  while (children.length < count) {
    const i = tournament(context.random, pool.length, tournamentSize, undefined, better);
    const j = tournament(context.random, pool.length, tournamentSize, i, better);
    children.push(
      ...vary(
        context,
        pool[i] as Evaluated<G>,
        pool[j] as Evaluated<G>,
        crossoverProbability,
        mutationProbability,
        count - children.length,
      ),
    );
  }
  return children;
}

/** `count` fresh samples. */
export function sampleProposals<G>(context: VariationContext<G>, count: number): Proposal<G>[] {
  return Array.from({ length: count }, () => ({
    genome: context.space.sample(context.random, context.target),
    parents: [],
    operator: 'sample',
  }));
}

/**
 * The pool a survivor selection should choose `size` members from: one member per network (the
 * first seen of each canonical text) when that leaves enough, so that repeated evaluations of one
 * network (reused results count as new) cannot crowd a population; the whole pool otherwise.
 */
export function distinctPool<G>(
  space: SearchSpace<G>,
  pool: readonly Evaluated<G>[],
  size: number,
): Evaluated<G>[] {
  const seen = new Set<string>();
  const distinct = pool.filter((member) => {
    const text = space.format(member.genome);
    if (seen.has(text)) return false;
    seen.add(text);
    return true;
  });
  return distinct.length >= size ? distinct : [...pool];
}
