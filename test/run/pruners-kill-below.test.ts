import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(400, 60);

/** One run's evaluations, per candidate hash: status, fidelity, metrics (wall clock left out). */
async function killBelowRun(): Promise<Map<string, unknown>> {
  const store = join(mkdtempSync(join(tmpdir(), 'nascent-kill-')), 'runs.db');
  const config = loadSearchConfig(undefined, {
    store,
    dataDir,
    subset: 300,
    strategy: 'random',
    population: 4,
    epochs: 3,
    generations: 1,
    protocol: 'standard',
    set: ['evaluation.killBelow.epoch=1', 'evaluation.killBelow.accuracy=0.5'],
  });
  const { runId } = await runSearch({ config });
  const opened = RunStore.open(store);
  try {
    const records = new Map<string, unknown>();
    for (const evaluation of opened.evaluations(runId)) {
      const candidate = opened.getCandidate(evaluation.candidateId);
      records.set(candidate.hash, {
        status: evaluation.status,
        fidelity: evaluation.fidelity,
        epochs: evaluation.epochs.map((e) => ({ ...e, seconds: 0 })),
        metrics: { ...evaluation.metrics, train_seconds: 0 },
      });
    }
    return records;
  } finally {
    opened.close();
  }
}

describe('kill-below in a search', () => {
  it('the same configuration, run twice, gives identical records', async () => {
    const first = await killBelowRun();
    const second = await killBelowRun();
    expect(first.size).toBeGreaterThan(0);
    const statuses = [...first.values()].map((r) => (r as { status: string }).status);
    // the rule must bite for some candidates and spare others, or the test shows nothing
    expect(statuses).toContain('killed');
    expect(statuses).toContain('ok');
    expect([...second.entries()].sort()).toEqual([...first.entries()].sort());
    for (const record of first.values()) {
      const { status, fidelity, epochs } = record as {
        status: string;
        fidelity: number;
        epochs: unknown[];
      };
      // a killed candidate trained exactly the rule's epoch
      if (status === 'killed') expect(fidelity).toBe(1);
      expect(epochs).toHaveLength(fidelity);
    }
  });
});
