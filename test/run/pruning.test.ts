/**
 * Rung pruners in a search (run/pruning.ts): promoted candidates continue from their rung, so
 * the epochs a batch trains are the rung schedule's, and a candidate promoted to the last rung
 * has the result (and the identity) of one full training.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { candidateLine } from '../../src/cli/search.js';
import { loadSearchConfig } from '../../src/run/config.js';
import type { SearchEvent } from '../../src/run/events.js';
import {
  assignBrackets,
  hyperbandBrackets,
  planRungs,
  plannedEpochs,
} from '../../src/run/pruners/rungs.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(400, 60);
const tempStore = (): string => join(mkdtempSync(join(tmpdir(), 'nascent-pruning-')), 'runs.db');

function config(store: string, set: string[] = []) {
  return loadSearchConfig(undefined, {
    store,
    dataDir,
    subset: 300,
    strategy: 'random',
    population: 6,
    epochs: 4,
    maxSteps: 3,
    generations: 1,
    protocol: 'standard',
    set,
  });
}

function evaluationsOf(path: string, runId: string) {
  const store = RunStore.open(path);
  try {
    return store.evaluations(runId);
  } finally {
    store.close();
  }
}

describe('rung pruners', () => {
  it('successive halving continues promoted candidates: epochs trained follow the rung schedule', async () => {
    const path = tempStore();
    const { runId, reason } = await runSearch({
      config: config(path, ['evaluation.successiveHalving={minEpochs: 1, eta: 2}']),
    });
    expect(reason).toBe('1 generation done');
    const evaluations = evaluationsOf(path, runId);
    expect(evaluations).toHaveLength(6);
    // Rungs 1, 2 and 4 epochs for 6, 3 and 1 candidates: 6 + 3 + 2 = 11 epochs, not the
    // 6 + 6 + 4 = 16 of restarts.
    expect(plannedEpochs(planRungs(6, { minEpochs: 1, eta: 2, maxEpochs: 4 }))).toBe(11);
    expect(evaluations.reduce((sum, e) => sum + e.fidelity, 0)).toBe(11);
    const finished = evaluations.filter((e) => e.decision === null);
    expect(finished.map((e) => [e.status, e.fidelity])).toEqual([['ok', 4]]);
    const cut = evaluations.filter((e) => e.decision === 'not-promoted');
    expect(cut.map((e) => e.fidelity).sort()).toEqual([1, 1, 1, 2, 2]);
    expect(cut.every((e) => e.status === 'killed' && /not promoted/.test(e.error ?? ''))).toBe(
      true,
    );

    // The promoted candidate's result is a full training's: a run without a pruner on the same
    // store and seed reuses it, and trains the others (their rung results are decisions).
    const plain = await runSearch({ config: config(path) });
    const again = evaluationsOf(path, plain.runId);
    const winner = finished[0];
    const reused = again.filter((e) => e.reusedFrom !== null);
    expect(reused.map((e) => e.reusedFrom)).toEqual([winner?.id]);
    expect(again.filter((e) => e.reusedFrom === null).every((e) => e.fidelity === 4)).toBe(true);
  });

  it('Hyperband runs successive halving in each bracket, continuing promoted candidates', async () => {
    const path = tempStore();
    const done: Extract<SearchEvent, { type: 'candidate-done' }>[] = [];
    const { runId } = await runSearch({
      config: config(path, ['evaluation.hyperband={minEpochs: 1, eta: 2}']),
      onEvent: (event) => {
        if (event.type === 'candidate-done') done.push(event);
      },
    });
    const evaluations = evaluationsOf(path, runId);
    expect(evaluations).toHaveLength(6);
    const settings = { minEpochs: 1, eta: 2, maxEpochs: 4 };
    const brackets = hyperbandBrackets(settings);
    const counts = assignBrackets(6, brackets);
    const expected = brackets.reduce(
      (sum, bracket, i) =>
        sum +
        plannedEpochs(planRungs(counts[i] ?? 0, { ...settings, minEpochs: bracket.minEpochs })),
      0,
    );
    // Brackets starting at 1, 2 and 4 epochs, two candidates each: (2 + 1 + 2) + (4 + 2) + 8.
    expect(counts).toEqual([2, 2, 2]);
    expect(expected).toBe(19);
    expect(evaluations.reduce((sum, e) => sum + e.fidelity, 0)).toBe(expected);
    // The winner of each of the first two brackets and both of the last train the full 4 epochs.
    expect(evaluations.filter((e) => e.decision === null).map((e) => e.fidelity)).toEqual([
      4, 4, 4, 4,
    ]);
    expect(
      evaluations
        .filter((e) => e.decision === 'not-promoted')
        .map((e) => e.fidelity)
        .sort(),
    ).toEqual([1, 2]);
    // The terminal calls the two it did not promote pruned, not killed (they were not dead).
    const lines = done.map((event) => candidateLine(event));
    expect(done.filter((e) => e.decision === 'not-promoted')).toHaveLength(2);
    expect(lines.filter((line) => / {2}pruned {2}/.test(line))).toHaveLength(2);
    expect(lines.filter((line) => / {2}killed {2}/.test(line))).toHaveLength(0);
    expect(lines.filter((line) => / {2}ok {6}/.test(line))).toHaveLength(4);
  });
});
