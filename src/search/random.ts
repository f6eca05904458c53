/**
 * Random search: every proposal is a fresh sample from the space. A strong baseline for
 * architecture search, and the reference the other strategies must beat.
 */
import { z } from 'zod';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { Random } from '../util/random.js';
import {
  baseOptionsShape,
  checkCount,
  checkSnapshotOptions,
  constructForRestore,
  intOption,
  optionsFingerprint,
  parseOptions,
  parseSnapshot,
  PendingProposals,
  proposalSchema,
  sampleProposals,
  snapshotHeader,
  SNAPSHOT_VERSION,
  type BaseStrategyOptions,
} from './common.js';
import type { Evaluated, Proposal, Strategy } from './strategy.js';

export interface RandomSearchOptions<G> extends BaseStrategyOptions<G> {
  /** Accepted so that every strategy takes the same settings; random search has no population. */
  readonly populationSize?: number;
}

const NAME = 'random';

const shape = { ...baseOptionsShape, populationSize: intOption('populationSize', 1).optional() };
const optionsSchema = z.strictObject(shape);

const snapshotSchema = z.object({ ...snapshotHeader(NAME), pending: z.array(proposalSchema) });

export class RandomSearch<G> implements Strategy<G> {
  readonly name = NAME;
  private readonly space: SearchSpace<G>;
  private readonly target: CompileTarget;
  private readonly fingerprint: string;
  private random: Random;
  private pending = new PendingProposals<G>();
  private askedCount = 0;
  private toldCount = 0;

  constructor(options: RandomSearchOptions<G>) {
    const o = parseOptions(NAME, optionsSchema, options, Object.keys(shape));
    this.space = options.space;
    this.target = options.target;
    this.fingerprint = optionsFingerprint(o);
    this.random = new Random(o.seed);
  }

  /** Proposals handed out so far. */
  get asked(): number {
    return this.askedCount;
  }

  /** Results told so far. */
  get told(): number {
    return this.toldCount;
  }

  /** `count` fresh samples. */
  ask(count: number): Proposal<G>[] {
    checkCount(NAME, count);
    const context = { space: this.space, target: this.target, random: this.random };
    const proposals = sampleProposals(context, count);
    for (const proposal of proposals) this.pending.add(this.space, proposal);
    this.askedCount += proposals.length;
    return proposals;
  }

  tell(results: readonly Evaluated<G>[]): void {
    this.pending.resolve(NAME, this.space, results);
    this.toldCount += results.length;
  }

  snapshot(): unknown {
    return {
      strategy: NAME,
      version: SNAPSHOT_VERSION,
      options: JSON.parse(this.fingerprint) as unknown,
      random: this.random.state,
      asked: this.askedCount,
      told: this.toldCount,
      pending: this.pending.toJSON(this.space),
    };
  }

  /** Continues exactly where `snapshot()` was taken; `options` must be the ones it ran with. */
  static restore<G>(snapshot: unknown, options: RandomSearchOptions<G>): RandomSearch<G> {
    const data = parseSnapshot(NAME, snapshotSchema, snapshot);
    const strategy = constructForRestore(() => new RandomSearch(options));
    checkSnapshotOptions(NAME, data.options, strategy.fingerprint);
    strategy.random = Random.fromState(data.random);
    strategy.askedCount = data.asked;
    strategy.toldCount = data.told;
    strategy.pending = PendingProposals.fromJSON(NAME, strategy.space, data.pending);
    return strategy;
  }
}
