/**
 * Inherited weights kept with their candidates on disk (run/weights.ts): a resumed run's
 * children still start from their parents' trained weights, and the files kept are those of the
 * candidates the strategy may still breed from.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { candidateIdsIn, weightsDirectory } from '../../src/run/weights.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(400, 60);

function config(store: string, generations: number) {
  return loadSearchConfig(undefined, {
    store,
    dataDir,
    subset: 300,
    strategy: 'ga',
    population: 4,
    epochs: 1,
    generations,
    protocol: 'standard',
    inheritWeights: true,
  });
}

describe('inherited weights on disk', () => {
  it('after a resume, children still start from their parents weights', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'nascent-weights-')), 'runs.db');
    const first = await runSearch({ config: config(path, 1) });
    expect(first.reason).toBe('1 generation done');
    const directory = weightsDirectory(path, first.runId);
    // The first generation's weights are on disk when the session ends.
    expect(readdirSync(directory).filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(
      0,
    );

    // A new session (a fresh process would have nothing in memory either).
    const resumed = await runSearch({ config: config(path, 3), resume: first.runId });
    expect(resumed.reason).toBe('3 generations done');
    const store = RunStore.open(path);
    try {
      const children = store
        .evaluations(first.runId)
        .filter((e) => e.generation >= 1 && e.reusedFrom === null && e.status === 'ok');
      expect(children.length).toBeGreaterThan(0);
      // Children of the resumed session read their parents' weights from disk.
      const inherited = children.filter((e) => (e.metrics.inherited_tensors ?? 0) > 0);
      expect(inherited.length).toBeGreaterThan(0);
      expect(inherited.some((e) => e.generation === 1)).toBe(true);

      // Disk policy: only candidates the strategy's saved state still names keep their weights.
      const state = store.latestStrategyState(first.runId);
      const named = candidateIdsIn(state?.state, first.runId);
      const kept = existsSync(directory)
        ? readdirSync(directory).map((f) => f.replace(/\.safetensors$/, ''))
        : [];
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.every((id) => named.has(id))).toBe(true);
      // Older candidates no longer in the population were deleted.
      expect(kept.length).toBeLessThan(store.candidates(first.runId).length);
    } finally {
      store.close();
    }
  });
});
