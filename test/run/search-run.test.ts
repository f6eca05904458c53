import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadSearchConfig } from '../../src/run/config.js';
import { earlierSessionsMilliseconds, runSearch } from '../../src/run/runner.js';
import { searchCommand } from '../../src/cli/search.js';
import { RunStore, STOP_REQUESTED_EVENT } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(600, 100);

function config(store: string, overrides: Record<string, unknown> = {}) {
  return loadSearchConfig(undefined, {
    store,
    dataDir,
    subset: 400,
    strategy: 'ga',
    population: 4,
    epochs: 2,
    generations: 2,
    protocol: 'standard',
    inheritWeights: true,
    ...overrides,
  });
}

const tempStore = (): string => join(mkdtempSync(join(tmpdir(), 'nascent-search-')), 'runs.db');

/** Every candidate of the run and its evaluations under the run's final key. */
function evaluationsPerCandidate(store: RunStore, runId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const candidate of store.candidates(runId)) counts.set(candidate.id, 0);
  for (const evaluation of store.evaluations(runId))
    counts.set(evaluation.candidateId, (counts.get(evaluation.candidateId) ?? 0) + 1);
  return counts;
}

describe('nascent search', () => {
  it('runs generations, stores every candidate with metrics and lineage, and inherits weights', async () => {
    const path = tempStore();
    const events: string[] = [];
    const { runId, reason } = await runSearch({
      config: config(path),
      onEvent: (e) => events.push(e.type),
    });
    expect(reason).toBe('2 generations done');
    const store = RunStore.open(path);
    try {
      const candidates = store.candidates(runId);
      // 4 sampled, then 3 children a generation: the GA's elite carries over without retraining
      expect(candidates).toHaveLength(4 + 3);
      expect([...evaluationsPerCandidate(store, runId).values()].every((n) => n === 1)).toBe(true);
      const evaluations = store.evaluations(runId);
      for (const evaluation of evaluations.filter((e) => e.status === 'ok')) {
        expect(evaluation.metrics.accuracy).toBeGreaterThanOrEqual(0);
        expect(evaluation.metrics.params).toBeGreaterThan(0);
        expect(evaluation.epochs.length).toBeGreaterThan(0);
      }
      const children = candidates.filter((c) => c.generation === 1);
      expect(children.every((c) => c.parents.length > 0 || c.operator === 'elite')).toBe(true);
      const inherited = evaluations.filter(
        (e) => e.generation === 1 && (e.metrics.inherited_tensors ?? 0) > 0,
      );
      expect(inherited.length).toBeGreaterThan(0);
      expect(store.getRun(runId).status).toBe('finished');
      expect(events.filter((e) => e === 'candidate-done')).toHaveLength(7);
    } finally {
      store.close();
    }
  });

  it('never trains a candidate twice under the same protocol', async () => {
    const path = tempStore();
    const first = await runSearch({
      config: config(path, { inheritWeights: false, generations: 1 }),
    });
    const second = await runSearch({
      config: config(path, { inheritWeights: false, generations: 1 }),
    });
    const store = RunStore.open(path);
    try {
      const again = store.evaluations(second.runId);
      const before = store.evaluations(first.runId);
      expect(again).toHaveLength(4);
      // same seed, same first generation: every result is reused, nothing is trained
      expect(again.every((e) => e.reusedFrom !== null && e.fidelity === 0)).toBe(true);
      expect(again.map((e) => e.metrics.accuracy)).toEqual(before.map((e) => e.metrics.accuracy));
    } finally {
      store.close();
    }
  });

  it('trains candidates with the configured augmentation, under an evaluation key of its own', async () => {
    const firstGeneration = async (path: string, set: string[] = []) => {
      const { runId } = await runSearch({
        config: config(path, { inheritWeights: false, generations: 1, set }),
      });
      const store = RunStore.open(path);
      try {
        return store.evaluations(runId).map((e) => ({
          key: e.evaluationKey,
          trained: e.reusedFrom === null && e.fidelity > 0,
          loss: e.metrics.val_loss,
        }));
      } finally {
        store.close();
      }
    };
    const plain = await firstGeneration(tempStore());
    const plainAgain = await firstGeneration(tempStore());
    const shared = tempStore();
    await firstGeneration(shared);
    const augmented = await firstGeneration(shared, [
      'evaluation.augment.flip=true',
      'evaluation.augment.cropPadding=2',
    ]);
    // Training is deterministic for a seed, so a different result comes from the augmentation.
    expect(plainAgain.map((e) => e.loss)).toEqual(plain.map((e) => e.loss));
    expect(augmented).toHaveLength(4);
    // Not reused from the unaugmented run in the same store: trained again, under another key.
    expect(augmented.every((e) => e.trained && e.key !== plain[0]?.key)).toBe(true);
    expect(augmented.map((e) => e.loss)).not.toEqual(plain.map((e) => e.loss));
  });

  it('resumes a run killed with SIGKILL in the middle of a training, losing nothing', async () => {
    const path = tempStore();
    const args = [
      join('dist', 'src', 'cli', 'main.js'),
      'search',
      '--store',
      path,
      '--data-dir',
      dataDir,
      '--subset',
      '600',
      '--strategy',
      'ga',
      '--population',
      '4',
      '--epochs',
      '6',
      '--generations',
      '3',
      '--protocol',
      'standard',
      '--name',
      'killed-run',
      '--no-progress',
    ];
    const child: ChildProcess = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // wait until some candidates are stored and the next one is training, then kill -9
    const deadline = Date.now() + 60_000;
    let evaluatedBeforeKill = 0;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const done = (output.match(/^gen \d+ /gm) ?? []).length;
      if (done >= 5) {
        await new Promise((resolve) => setTimeout(resolve, 150)); // inside the next training
        evaluatedBeforeKill = (output.match(/^gen \d+ /gm) ?? []).length;
        child.kill('SIGKILL');
        break;
      }
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`search did not progress:\n${output}`);
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(child.signalCode).toBe('SIGKILL');

    const before = RunStore.open(path);
    const run = before.getRun('killed-run');
    const storedBefore = before.evaluationCount(run.id);
    before.close();
    expect(storedBefore).toBeGreaterThanOrEqual(evaluatedBeforeKill);
    expect(storedBefore).toBeLessThan(10);
    expect(run.status).toBe('running');

    await runSearch({ config: config(path, { generations: 3 }), resume: 'killed-run' });
    const store = RunStore.open(path);
    try {
      const counts = evaluationsPerCandidate(store, run.id);
      expect(counts.size).toBe(4 + 3 + 3);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(store.getRun(run.id).status).toBe('finished');
      expect(store.events(run.id).some((e) => e.kind === 'resumed')).toBe(true);
      // what was stored before the kill is still there, untouched
      expect(
        store
          .evaluations(run.id)
          .slice(0, storedBefore)
          .every((e) => e.reusedFrom === null),
      ).toBe(true);
    } finally {
      store.close();
    }
    // resuming from the command line without budget flags keeps the stored budget: nothing left
    const again = await searchCommand({ resume: 'killed-run', store: path, progress: false });
    expect(again).toContain(`run ${run.id} stopped: 3 generations done`);
  });

  it('marks a run interrupted with Ctrl-C as stopped and says how to continue it', async () => {
    const path = tempStore();
    const child: ChildProcess = spawn(
      process.execPath,
      [
        join('dist', 'src', 'cli', 'main.js'),
        'search',
        '--store',
        path,
        '--data-dir',
        dataDir,
        '--subset',
        '300',
        '--strategy',
        'random',
        '--population',
        '4',
        '--epochs',
        '6',
        '--generations',
        '3',
        '--protocol',
        'standard',
        '--name',
        'interrupted',
        '--no-progress',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while ((output.match(/^gen \d+ /gm) ?? []).length < 1) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`search did not progress:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(child.exitCode).toBe(130);
    expect(output).toMatch(
      /SIGINT: run run-\S+ stopped; everything evaluated is in .*runs\.db\. Continue it with: nascent search --resume run-/,
    );
    const store = RunStore.open(path);
    try {
      const run = store.getRun('interrupted');
      expect(run.status).toBe('stopped');
      expect(store.evaluationCount(run.id)).toBeGreaterThanOrEqual(1);
      expect(store.events(run.id).at(-1)?.message).toBe('interrupted by SIGINT');
    } finally {
      store.close();
    }
  });

  it('stops between evaluations when the dashboard asks, and a resume clears the request', async () => {
    const path = tempStore();
    let asked = false;
    const { runId, reason } = await runSearch({
      config: config(path, { strategy: 'random', generations: 3, epochs: 1 }),
      onEvent: (event) => {
        if (event.type !== 'candidate-done' || asked) return;
        asked = true;
        const writer = RunStore.open(path);
        writer.logEvent(event.id.replace(/-c\d+$/, ''), STOP_REQUESTED_EVENT, 'from a test');
        writer.close();
      },
    });
    expect(reason).toBe('stopped on request');
    const store = RunStore.open(path);
    const run = store.getRun(runId);
    const stored = store.evaluationCount(runId);
    store.close();
    expect(run.status).toBe('stopped');
    expect(stored).toBeLessThan(4 * 3);
    // The request was for the session it stopped: a resume runs to the end of the budget.
    const resumed = await runSearch({
      config: config(path, { strategy: 'random', generations: 3, epochs: 1 }),
      resume: runId,
    });
    expect(resumed.reason).toBe('3 generations done');
  });

  it('refuses a duplicate --name, naming the run that has it, and records nothing', async () => {
    const path = tempStore();
    const first = await runSearch({
      config: config(path, { name: 'twice', generations: 1, epochs: 1, inheritWeights: false }),
    });
    await expect(
      runSearch({
        config: config(path, { name: 'twice', generations: 1, epochs: 1, inheritWeights: false }),
      }),
    ).rejects.toThrow(
      new RegExp(
        `already has a run named "twice" \\(${first.runId}\\): choose another --name, or continue that run with nascent search --resume ${first.runId}`,
      ),
    );
    const store = RunStore.open(path);
    try {
      expect(store.listRuns().map((run) => run.name)).toEqual(['twice']);
    } finally {
      store.close();
    }
  });

  it('refuses a wrong strategy option before it records a run or loads a dataset', async () => {
    const path = tempStore();
    const base = config(path);
    const wrong = {
      ...base,
      // A data directory with nothing in it: loading the dataset first would fail on it instead.
      dataset: { ...base.dataset, dataDir: join(tmpdir(), 'nascent-no-such-dataset') },
      strategy: { ...base.strategy, options: { tournamentSize: 'three' } },
    };
    await expect(runSearch({ config: wrong })).rejects.toThrow(/tournamentSize/);
    const store = RunStore.open(path);
    try {
      expect(store.listRuns()).toHaveLength(0);
    } finally {
      store.close();
    }
  });

  it('explains a bad configuration', () => {
    expect(() => loadSearchConfig(undefined, { population: 1, generations: 1 })).toThrow(
      /strategy\.populationSize/,
    );
    expect(() => loadSearchConfig(undefined, {})).toThrow(/give at least one budget/);
    expect(() => loadSearchConfig(undefined, { strategy: 'annealing', generations: 1 })).toThrow(
      /strategy\.name/,
    );
    expect(() => loadSearchConfig(undefined, { space: 'spiral', generations: 1 })).toThrow(
      /space: unknown search space "spiral"; known spaces: genome/,
    );
    expect(() => loadSearchConfig(undefined, { space: 'genome:x.yaml', generations: 1 })).toThrow(
      /invalid space "genome:x.yaml": write .* or grammar:path.yaml/,
    );
    expect(() =>
      loadSearchConfig(undefined, { queue: 'http://localhost', generations: 1 }),
    ).toThrow(/queue: write redis:\/\/host:port/);
  });
});

describe('wall-time budget across sessions', () => {
  it('counts each earlier session from its start to its last finished evaluation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-wall-'));
    const store = RunStore.open(join(dir, 'runs.db'));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const minute = 60_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(t0);
      const run = store.createRun({
        space: 'genome',
        strategy: 'ga',
        dataset: 'fashion-mnist',
        seed: 0,
        config: {},
        codeVersion: 'test',
      });
      // Session 1 ran 9 minutes to its last result, then crashed; session 2 started an hour in.
      const finished = [t0 + 4 * minute, t0 + 9 * minute];
      vi.setSystemTime(t0 + 60 * minute);
      store.logEvent(run.id, 'resumed', 'resumed');
      finished.push(t0 + 65 * minute);
      const evaluations = finished.map((t) => ({ finishedAt: new Date(t).toISOString() }));
      expect(earlierSessionsMilliseconds(store, run.id, evaluations)).toBe(14 * minute);
      // A session that finished nothing counts nothing.
      expect(earlierSessionsMilliseconds(store, run.id, evaluations.slice(0, 2))).toBe(9 * minute);
    } finally {
      vi.useRealTimers();
      store.close();
    }
  });
});
