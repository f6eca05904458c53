import { join } from 'node:path';
import { loadSearchConfig } from '../../src/run/config.js';
import { type Architecture, IR_FORMAT, analyzeArchitecture } from '../../src/space/ir.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { RunStore, candidateHash } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';
import { conv } from '../helpers.js';

export const TARGET = { input: { channels: 1, height: 28, width: 28 }, classes: 10 } as const;
const KEY = 'standard|epochs=3|synthetic';
export const GENERATIONS = 3;
export const PER_GENERATION = 6;
/** The failed candidate's genome: it must reach the page escaped. */
export const HOSTILE_GENOME = 'NC 8 3 relu;<script>alert("x")</script>&';

/** A residual network (an `add` skip over two convolutions) so that diagrams show a skip. */
export function residualArchitecture(filters: number): Architecture {
  return {
    format: IR_FORMAT,
    input: TARGET.input,
    nodes: [
      { id: 'input', op: 'input', inputs: [] },
      conv('stem', 'input', filters, 3),
      conv('a', 'stem', filters, 3),
      { id: 'a_act', op: 'activation', inputs: ['a'], fn: 'relu' },
      conv('b', 'a_act', filters, 3),
      { id: 'sum', op: 'add', inputs: ['stem', 'b'] },
      { id: 'gap', op: 'global_avg_pool', inputs: ['sum'] },
      { id: 'head', op: 'dense', inputs: ['gap'], units: 10, bias: true },
    ],
    output: 'head',
  };
}

function genome(random: Random): string {
  const f = (): number => 4 * random.int(1, 12);
  const k = (): number => random.int(2, 5);
  return `NC ${f()} ${k()} relu;RC ${f()} ${k()} relu;RC ${f()} 3 gelu;FL relu;`;
}

function epochRecords(random: Random, epochs: number, finalAccuracy: number) {
  return Array.from({ length: epochs }, (_, i) => {
    const progress = (i + 1) / epochs;
    return {
      epoch: i + 1,
      trainLoss: 2 - 1.5 * progress + random.uniform(0, 0.05),
      trainAccuracy: finalAccuracy * (0.6 + 0.4 * progress) + 0.01,
      valLoss: 2.1 - 1.4 * progress,
      valAccuracy: finalAccuracy * (0.6 + 0.4 * progress),
      lr: 0.05,
      seconds: 1.5,
    };
  });
}

export interface SyntheticRun {
  readonly store: string;
  readonly runId: string;
}

/**
 * A finished three-generation run written straight into a store: parents (mutation and
 * crossover), epoch records, one killed and one failed candidate, one reused evaluation, one
 * residual architecture, and (unless `proxy` is false) a proxy score `synflow`.
 */
export function writeSyntheticRun(dir: string, options: { proxy?: boolean } = {}): SyntheticRun {
  const path = join(dir, 'runs.db');
  const store = RunStore.open(path);
  const random = new Random(11);
  try {
    const config = loadSearchConfig(undefined, {
      store: path,
      strategy: 'ga',
      population: PER_GENERATION,
      generations: GENERATIONS,
    });
    const run = store.createRun({
      name: 'synthetic',
      space: 'genome',
      strategy: 'ga',
      dataset: 'fashion-mnist',
      seed: 0,
      config,
      codeVersion: 'test',
    });
    let previous: string[] = [];
    let firstGenome = '';
    let firstEvaluation = 0;
    for (let generation = 0; generation < GENERATIONS; generation++) {
      const current: string[] = [];
      for (let k = 0; k < PER_GENERATION; k++) {
        const failed = generation === 2 && k === 5;
        const reused = generation === 2 && k === 0;
        const residual = generation === 1 && k === 2;
        const text = failed ? HOSTILE_GENOME : reused ? firstGenome : genome(random);
        const architecture = failed
          ? null
          : residual
            ? residualArchitecture(8)
            : genomeToArchitecture(text, TARGET);
        const summary = architecture ? analyzeArchitecture(architecture) : undefined;
        const parents =
          generation === 0
            ? []
            : k % 2 === 0
              ? [previous[k] as string]
              : [previous[k] as string, previous[(k + 1) % PER_GENERATION] as string];
        const [candidate] = store.addCandidates(run.id, [
          {
            generation,
            genome: text,
            genomeJson: { text },
            architecture,
            hash: candidateHash(text, TARGET),
            operator: generation === 0 ? 'sample' : parents.length === 2 ? 'crossover' : 'mutate',
            params: summary?.params ?? null,
            flops: summary?.flops ?? null,
            parents,
          },
        ]);
        const id = (candidate as { id: string }).id;
        current.push(id);
        if (generation === 0 && k === 0) firstGenome = text;
        const started = '2026-01-01T00:00:00.000Z';
        if (failed) {
          store.addEvaluation({
            candidateId: id,
            status: 'failed',
            error: 'shape <mismatch> & "quotes"',
            fidelity: 0,
            metrics: {},
            evaluationKey: KEY,
            startedAt: started,
            finishedAt: started,
          });
          continue;
        }
        if (reused) {
          const original = store.findEvaluation(firstEvaluation);
          store.addEvaluation({
            candidateId: id,
            status: 'ok',
            fidelity: 0,
            metrics: original?.metrics ?? {},
            epochs: [],
            evaluationKey: KEY,
            reusedFrom: firstEvaluation,
            startedAt: started,
            finishedAt: started,
          });
          continue;
        }
        const killed = generation === 1 && k === 4;
        // The first candidate is the best; later generations improve on average.
        const accuracy =
          generation === 0 && k === 0 ? 0.95 : 0.5 + 0.1 * generation + random.uniform(0, 0.2);
        const epochs = killed ? 1 : 3;
        const metrics: Record<string, number> = {
          accuracy: killed ? 0.2 : accuracy,
          val_loss: 1 - accuracy / 2,
          test_accuracy: accuracy - 0.01,
          params: summary?.params ?? 0,
          flops: summary?.flops ?? 0,
          train_seconds: 3 * epochs,
          inherited_tensors: 0,
        };
        if (options.proxy !== false) metrics.synflow = 100 * accuracy + random.uniform(-8, 8);
        const evaluation = store.addEvaluation({
          candidateId: id,
          status: killed ? 'killed' : 'ok',
          ...(killed ? { error: 'validation accuracy 0.2000 after epoch 1 is below 0.3' } : {}),
          fidelity: epochs,
          metrics,
          epochs: epochRecords(random, epochs, metrics.accuracy as number),
          objectives: { accuracy: metrics.accuracy as number },
          evaluationKey: KEY,
          startedAt: started,
          finishedAt: started,
        });
        if (generation === 0 && k === 0) firstEvaluation = evaluation.id;
      }
      previous = current;
    }
    store.setRunStatus(run.id, 'finished');
    return { store: path, runId: run.id };
  } finally {
    store.close();
  }
}
