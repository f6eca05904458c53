/**
 * A toy search space for strategy tests: a genome is 8 integers 0..9. Metrics are cheap and
 * deterministic: accuracy = sum / 72 (1 when every gene is 9), params = number of nonzero genes,
 * flops = sum of squares. The accuracy/params Pareto front is the genomes whose genes are all 0
 * or 9: accuracy = params / 8.
 */
import type { Evaluated, Proposal, Strategy } from '../../src/search/strategy.js';
import type { CompileTarget, SearchSpace } from '../../src/space/space.js';

export type Toy = readonly number[];

const LENGTH = 8;

export const toySpace: SearchSpace<Toy> = {
  name: 'toy',
  sample: (random) => Array.from({ length: LENGTH }, () => random.int(0, 9)),
  mutate: (genome, random) => {
    const child = [...genome];
    const i = random.int(0, LENGTH - 1);
    const old = child[i] ?? 0;
    const value = random.int(0, 8);
    child[i] = value >= old ? value + 1 : value;
    return child;
  },
  crossover: (a, b, random) => {
    const cut = random.int(1, LENGTH - 1);
    return [
      [...a.slice(0, cut), ...b.slice(cut)],
      [...b.slice(0, cut), ...a.slice(cut)],
    ];
  },
  format: (genome) => genome.join(','),
  parse: (text) => text.split(',').map(Number),
  toJSON: (genome) => [...genome],
  fromJSON: (value) => {
    if (
      !Array.isArray(value) ||
      value.length !== LENGTH ||
      !value.every((x) => Number.isInteger(x) && x >= 0 && x <= 9)
    ) {
      throw new Error('not a toy genome');
    }
    return value as number[];
  },
  compile: () => {
    throw new Error('toy genomes do not compile');
  },
};

export const target: CompileTarget = { input: { channels: 1, height: 8, width: 8 }, classes: 10 };

export function toyMetrics(genome: Toy): Record<string, number> {
  const sum = genome.reduce((a, b) => a + b, 0);
  return {
    accuracy: sum / 72,
    params: genome.filter((g) => g !== 0).length,
    flops: genome.reduce((a, b) => a + b * b, 0),
  };
}

export function evaluate(proposal: Proposal<Toy>, id: string): Evaluated<Toy> {
  return {
    id,
    genome: proposal.genome,
    parents: proposal.parents,
    status: 'ok',
    metrics: toyMetrics(proposal.genome),
  };
}

export interface Step {
  readonly asked: readonly Proposal<Toy>[];
  readonly told: readonly Evaluated<Toy>[];
}

/**
 * Asks up to `batch` at a time, evaluates and tells at once, until `total` candidates have been
 * evaluated. Ids are `c0`, `c1`, ... from `firstId`.
 */
export function drive(
  strategy: Strategy<Toy>,
  total: number,
  batch = 4,
  firstId = 0,
): Evaluated<Toy>[] {
  const out: Evaluated<Toy>[] = [];
  while (out.length < total) {
    const asked = strategy.ask(Math.min(batch, total - out.length));
    if (asked.length === 0)
      throw new Error('the strategy proposed nothing while nothing was pending');
    const told = asked.map((p, k) => evaluate(p, `c${String(firstId + out.length + k)}`));
    strategy.tell(told);
    out.push(...told);
  }
  return out;
}

export function describeProposals(proposals: readonly Proposal<Toy>[]): string[] {
  return proposals.map(
    (p) => `${toySpace.format(p.genome)} ${p.operator} [${p.parents.join(',')}]`,
  );
}

export const mean = (xs: readonly number[]): number =>
  xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export const accuracyOf = (e: Evaluated<Toy>): number => e.metrics['accuracy'] ?? NaN;
