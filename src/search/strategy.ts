/**
 * Strategies ask for candidates and are told their results, so the same strategy runs
 * sequentially, in a local pool or over distributed workers. A strategy's whole state is
 * JSON (`snapshot`), so a run resumes exactly where it stopped.
 */

export type Direction = 'maximize' | 'minimize';

export interface Objective {
  /** A metric name, e.g. `accuracy` (validation accuracy), `params`, `flops`. */
  readonly metric: string;
  readonly direction: Direction;
}

/** `metric >= value` or `metric <= value`; a candidate that breaks one is infeasible. */
export interface Constraint {
  readonly metric: string;
  readonly op: '>=' | '<=';
  readonly value: number;
}

export type EvaluationStatus = 'ok' | 'killed' | 'failed';

/** A candidate the strategy wants evaluated. */
export interface Proposal<G> {
  readonly genome: G;
  /** Ids of the candidates it was made from (empty for sampled ones). */
  readonly parents: readonly string[];
  /** How it was made: `sample`, `mutate`, `crossover`, `crossover+mutate`, ... */
  readonly operator: string;
}

/**
 * Set to 1 in the metrics of a candidate that a pre-screen (src/search/screen.ts) kept from
 * training: it is told as killed but carries no measured accuracy.
 */
export const SCREENED_OUT_METRIC = 'screened_out';

/** A proposal after evaluation, as the strategy is told it. */
export interface Evaluated<G> {
  readonly id: string;
  readonly genome: G;
  readonly parents: readonly string[];
  readonly status: EvaluationStatus;
  /** Objective and constraint metrics; killed candidates carry their low-fidelity values. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface Strategy<G> {
  readonly name: string;
  /** Up to `count` proposals; fewer (or none) when the strategy waits for results. */
  ask(count: number): Proposal<G>[];
  /** Results, in any order, of proposals this strategy made. */
  tell(results: readonly Evaluated<G>[]): void;
  /** The whole state as JSON, for resume. */
  snapshot(): unknown;
  /**
   * Strategies that schedule DARTS tournaments (src/search/generational.ts): the groups whose
   * mixture networks the search loop must train before the strategy proposes again, or null.
   */
  pendingTournament?(): TournamentRequest<G> | null;
  /** The winner of each group of {@link pendingTournament}, in its order. */
  resolveTournament?(winners: readonly string[]): void;
}

/** Groups of candidates, each to be ranked by one DARTS tournament. */
export interface TournamentRequest<G> {
  /** The generation the candidates belong to. */
  readonly generation: number;
  readonly groups: readonly (readonly Evaluated<G>[])[];
}
