/**
 * Screening inside the strategy: a search space whose operators each try several times and keep
 * the result a trained accuracy predictor likes best. Sampling draws `candidates` genomes and
 * returns the one with the highest predicted accuracy; mutation makes `candidates` mutants of the
 * parent; crossover makes `candidates` pairs of children and keeps the pair with the highest
 * mean prediction. The strategy's population holds trained candidates only, and every candidate
 * it proposes is trained, so nothing is screened out afterwards.
 *
 * Deterministic for a seed (the extra draws come from the strategy's own random stream), so a
 * resumed search proposes what the original would have. The predictor must read no proxy
 * scores (proxies need the engine asynchronously; operators are synchronous).
 */
import type { AccuracyPredictor } from '../evaluate/predictor.js';
import type { Architecture } from '../space/ir.js';
import type { CompileTarget, SearchSpace } from '../space/space.js';
import { compileMixture } from '../space/mixture.js';
import type { Random } from '../util/random.js';

export class PredictorScreenedSpace<G> implements SearchSpace<G> {
  readonly name: string;

  constructor(
    private readonly inner: SearchSpace<G>,
    private readonly predictor: AccuracyPredictor,
    private readonly candidates: number,
  ) {
    if (predictor.proxyFeatures.length > 0) {
      throw new Error(
        'screening operators needs a predictor that reads no proxy scores (train one without --proxies)',
      );
    }
    if (!Number.isInteger(candidates) || candidates < 2) {
      throw new Error('screening operators needs at least 2 candidates per operator');
    }
    this.name = inner.name;
  }

  private scores(genomes: readonly G[], target: CompileTarget): number[] {
    return this.predictor.predict(
      genomes.map((genome) => ({ architecture: this.inner.compile(genome, target) })),
    );
  }

  private best(genomes: readonly G[], target: CompileTarget): G {
    const scores = this.scores(genomes, target);
    let best = 0;
    scores.forEach((score, i) => {
      if (score > (scores[best] as number)) best = i;
    });
    return genomes[best] as G;
  }

  sample(random: Random, target: CompileTarget): G {
    return this.best(
      Array.from({ length: this.candidates }, () => this.inner.sample(random, target)),
      target,
    );
  }

  mutate(genome: G, random: Random, target: CompileTarget): G {
    return this.best(
      Array.from({ length: this.candidates }, () => this.inner.mutate(genome, random, target)),
      target,
    );
  }

  crossover(a: G, b: G, random: Random, target: CompileTarget): [G, G] {
    const pairs = Array.from({ length: this.candidates }, () =>
      this.inner.crossover(a, b, random, target),
    );
    const scores = this.scores(pairs.flat(), target);
    let best = 0;
    for (let i = 1; i < pairs.length; i++) {
      const mean = ((scores[2 * i] as number) + (scores[2 * i + 1] as number)) / 2;
      const bestMean = ((scores[2 * best] as number) + (scores[2 * best + 1] as number)) / 2;
      if (mean > bestMean) best = i;
    }
    return pairs[best] as [G, G];
  }

  format(genome: G): string {
    return this.inner.format(genome);
  }

  parse(text: string): G {
    return this.inner.parse(text);
  }

  toJSON(genome: G): unknown {
    return this.inner.toJSON(genome);
  }

  fromJSON(value: unknown): G {
    return this.inner.fromJSON(value);
  }

  compile(genome: G, target: CompileTarget): Architecture {
    return this.inner.compile(genome, target);
  }

  compileMixture(genomes: readonly G[], target: CompileTarget): Architecture {
    return compileMixture(this.inner, genomes, target);
  }
}
