import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { RunStore, candidateHash } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';

const TARGET = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };

/** Builds the front end into a fresh temporary folder and returns it. */
export function buildWeb(): string {
  const out = mkdtempSync(join(tmpdir(), 'nascent-web-'));
  const script = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    'scripts',
    'build-web.mjs',
  );
  execFileSync(process.execPath, [script, '--out', out], { stdio: 'pipe' });
  return out;
}

export interface SyntheticRun {
  readonly runId: string;
  readonly candidates: number;
  readonly ok: number;
  readonly killed: number;
  readonly failed: number;
  /** The best accuracy among the ok candidates. */
  readonly bestAccuracy: number;
}

/**
 * Writes one finished run of `count` synthetic candidates (real genomes and architectures, made-up
 * training results) in `generations` generations, in one transaction. About 5% are killed and 1%
 * failed; every other candidate has accuracy rising with its size and generation, plus noise.
 */
export function writeSyntheticRun(
  path: string,
  options: { count: number; generations: number; name: string; seed?: number },
): SyntheticRun {
  const store = RunStore.open(path);
  const random = new Random(options.seed ?? 7);
  const space = new GenomeSpace();
  const perGeneration = Math.ceil(options.count / options.generations);
  // A pool of real architectures, reused (so writing 20,000 candidates takes seconds).
  const pool = Array.from({ length: 400 }, () => {
    const genome = space.sample(random, TARGET);
    const architecture = space.compile(genome, TARGET);
    const summary = analyzeArchitecture(architecture);
    const text = space.format(genome);
    return {
      genome: text,
      genomeJson: space.toJSON(genome),
      architecture,
      params: summary.params,
      flops: summary.flops,
    };
  });
  const counts = { ok: 0, killed: 0, failed: 0 };
  let bestAccuracy = 0;
  try {
    const runId = store.transaction(() => {
      const run = store.createRun({
        name: options.name,
        space: 'genome',
        strategy: 'ga',
        dataset: 'fashion-mnist',
        seed: 0,
        config: {
          objectives: [
            { metric: 'accuracy', direction: 'maximize' },
            { metric: 'params', direction: 'minimize' },
          ],
        },
        codeVersion: 'test',
      });
      const start = Date.parse('2025-01-01T00:00:00Z');
      let previous: string[] = [];
      let made = 0;
      for (let generation = 0; made < options.count; generation += 1) {
        const size = Math.min(perGeneration, options.count - made);
        const added = store.addCandidates(
          run.id,
          Array.from({ length: size }, (_, i) => {
            const source = pool[(made + i) % pool.length] as (typeof pool)[number];
            const parents =
              previous.length === 0 ? [] : [random.choice(previous), random.choice(previous)];
            return {
              generation,
              genome: source.genome,
              genomeJson: source.genomeJson,
              architecture: source.architecture,
              hash: candidateHash(source.genome, TARGET),
              operator: generation === 0 ? 'sample' : 'crossover+mutate',
              params: source.params,
              flops: source.flops,
              parents: [...new Set(parents)],
            };
          }),
        );
        for (const candidate of added) {
          made += 1;
          const at = new Date(start + made * 1000).toISOString();
          const roll = random.nextDouble();
          const base =
            0.55 +
            0.04 * Math.log10(candidate.params ?? 1) +
            (0.1 * generation) / options.generations;
          const accuracy = Math.min(0.97, Math.max(0.1, base + random.normal(0, 0.03)));
          const epochs = [1, 2, 3].map((epoch) => ({
            epoch,
            trainLoss: 1.5 / epoch,
            trainAccuracy: accuracy - 0.1 / epoch,
            valLoss: 1.6 / epoch,
            valAccuracy: accuracy - 0.12 / epoch,
            lr: 0.05,
            seconds: 2,
          }));
          const metrics = {
            accuracy,
            params: candidate.params ?? 0,
            flops: candidate.flops ?? 0,
            train_seconds: 6,
          };
          if (roll < 0.01) {
            counts.failed += 1;
            store.addEvaluation({
              candidateId: candidate.id,
              status: 'failed',
              error: `loss became NaN in epoch ${1 + (made % 3)}`,
              fidelity: 1,
              metrics: {},
              evaluationKey: 'synthetic',
              startedAt: at,
              finishedAt: at,
            });
          } else if (roll < 0.06) {
            counts.killed += 1;
            store.addEvaluation({
              candidateId: candidate.id,
              status: 'killed',
              error: `validation accuracy ${(accuracy / 3).toFixed(4)} after epoch 1 is below 0.5`,
              fidelity: 1,
              metrics: { ...metrics, accuracy: accuracy / 3 },
              epochs: epochs.slice(0, 1),
              objectives: { accuracy: accuracy / 3, params: metrics.params },
              evaluationKey: 'synthetic',
              startedAt: at,
              finishedAt: at,
            });
          } else {
            counts.ok += 1;
            bestAccuracy = Math.max(bestAccuracy, accuracy);
            store.addEvaluation({
              candidateId: candidate.id,
              status: 'ok',
              fidelity: 3,
              metrics,
              epochs,
              objectives: { accuracy, params: metrics.params },
              evaluationKey: 'synthetic',
              startedAt: at,
              finishedAt: at,
            });
          }
        }
        previous = added.map((c) => c.id);
      }
      store.setRunStatus(run.id, 'finished');
      return run.id;
    });
    return { runId, candidates: options.count, ...counts, bestAccuracy };
  } finally {
    store.close();
  }
}
