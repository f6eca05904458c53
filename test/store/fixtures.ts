import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidateHash, type NewCandidate, type NewEvaluation } from '../../src/store/index.js';

export const TARGET = { input: { channels: 1, height: 28, width: 28 }, classes: 10 } as const;
export const KEY = 'course|epochs=10|fashion-mnist|subset=all|seed=fixed:1';

/** A fresh temporary folder per call, and a function that removes them all. */
export function tempDirs(): { make: () => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'nascent-store-'));
      made.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function genomeText(filters: number): string {
  return `NC ${filters} 3 relu;RC 32 3 relu;RC 64 3 relu;FL gelu;`;
}

export function newCandidate(
  filters: number,
  options: { generation?: number; parents?: string[]; operator?: string; id?: string } = {},
): NewCandidate {
  const genome = genomeText(filters);
  return {
    ...(options.id === undefined ? {} : { id: options.id }),
    generation: options.generation ?? 0,
    genome,
    genomeJson: { convs: [{ id: `l${filters}`, filters }], final: 'gelu' },
    architecture: { format: 'nascent-ir/1', nodes: filters },
    hash: candidateHash(genome, TARGET),
    operator: options.operator ?? 'sample',
    params: 1000 + filters,
    flops: 20000 + filters,
    parents: options.parents ?? [],
  };
}

export function newEvaluation(
  candidateId: string,
  overrides: Partial<NewEvaluation> = {},
): NewEvaluation {
  return {
    candidateId,
    status: 'ok',
    fidelity: 10,
    metrics: { accuracy: 0.9, val_loss: 0.3, params: 1000, flops: 20000, train_seconds: 12.5 },
    epochs: [
      { epoch: 1, loss: 0.6, val_loss: 0.4, val_accuracy: 0.85 },
      { epoch: 2, loss: 0.4, val_loss: 0.3, val_accuracy: 0.9 },
    ],
    objectives: { accuracy: 0.9, params: 1000 },
    evaluationKey: KEY,
    worker: 'local-0',
    startedAt: '2026-11-25T10:00:00.000Z',
    finishedAt: '2026-11-25T10:01:00.000Z',
    ...overrides,
  };
}

export const RUN = {
  space: 'genome',
  strategy: 'regularized-evolution',
  dataset: 'fashion-mnist',
  seed: 7,
  config: { population: 20, sample: 5, objectives: [{ metric: 'accuracy' }] },
  codeVersion: '0.1.0+abc1234',
} as const;
