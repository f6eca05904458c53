/**
 * The evaluation identity: what it covers (unit tests of run/identity.ts and data/identity.ts),
 * and three searches sharing a store, where a result may be reused only under the same identity:
 * inherited weights against training from scratch, a screen's verdict against a run with no
 * screen, and two cells runs with different macro options.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetContentIdentity } from '../../src/data/identity.js';
import type { EvaluationSettings } from '../../src/evaluate/evaluator.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import { loadSearchConfig } from '../../src/run/config.js';
import {
  type DatasetIdentity,
  architectureHash,
  canonicalJson,
  datasetIdentity,
  evaluationIdentity,
  evaluationKey,
} from '../../src/run/identity.js';
import { runSearch } from '../../src/run/runner.js';
import type { Architecture } from '../../src/space/ir.js';
import { type EvaluationView, RunStore } from '../../src/store/index.js';
import { conv, convPoolDense, fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(600, 100);
const tempStore = (): string => join(mkdtempSync(join(tmpdir(), 'nascent-identity-')), 'runs.db');

const network: Architecture = convPoolDense({ channels: 1, height: 28, width: 28 }, 8);

const settings: EvaluationSettings = {
  protocol: getProtocol('standard'),
  epochs: 2,
  seed: 1,
  threads: 1,
  device: 'cpu',
};

const dataset: DatasetIdentity = datasetIdentity(
  { name: 'fashion-mnist', subset: 400, splitSeed: 1 },
  settings.protocol,
  'sha256:abc',
);

const key = (overrides: Partial<Parameters<typeof evaluationKey>[0]> = {}): string =>
  evaluationKey({ dataset, settings, weights: 'scratch', ...overrides });

describe('evaluation identity', () => {
  it('writes canonical JSON: sorted keys, no undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, undefined] } })).toBe(
      '{"a":{"c":[2,null]},"b":1}',
    );
    expect(canonicalJson({ x: Number.NaN })).toBe('{"x":"NaN"}');
  });

  it('hashes the compiled IR, not its labels', () => {
    const hash = architectureHash(network);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const labelled = {
      ...network,
      nodes: network.nodes.map((node) => ({ ...node, label: `layer ${node.id}` })),
    };
    expect(architectureHash(labelled)).toBe(hash);
    const wider = {
      ...network,
      nodes: network.nodes.map((node) => (node.id === 'c1' ? conv('c1', 'input', 16, 3) : node)),
    };
    expect(architectureHash(wider)).not.toBe(hash);
  });

  it('changes with everything that changes a result, and not with threads or device', () => {
    const base = key();
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(key({ settings: { ...settings, threads: 8, device: 'cuda' } })).toBe(base);
    const protocol = settings.protocol;
    expect(key({ settings: { ...settings, protocol: { ...protocol, description: 'x' } } })).toBe(
      base,
    );
    const changed: Record<string, string> = {
      'a hyperparameter': key({
        settings: {
          ...settings,
          protocol: { ...protocol, training: { ...protocol.training, lr: 0.1 } },
        },
      }),
      epochs: key({ settings: { ...settings, epochs: 3 } }),
      'steps per epoch': key({ settings: { ...settings, maxStepsPerEpoch: 5 } }),
      'a kill rule': key({ settings: { ...settings, killBelow: { epoch: 1, accuracy: 0.5 } } }),
      augmentation: key({ settings: { ...settings, augment: { cropPadding: 2, flip: true } } }),
      seed: key({ settings: { ...settings, seed: 2 } }),
      'the data files': key({ dataset: { ...dataset, content: 'sha256:def' } }),
      'the subset': key({ dataset: { ...dataset, subset: 300 } }),
      'the split seed': key({ dataset: { ...dataset, splitSeed: 2 } }),
      'inherited weights': key({ weights: 'a1b2c3' }),
      'the evaluator': key({ evaluator: { table: 'sha' } }),
    };
    for (const [what, changedKey] of Object.entries(changed))
      expect(changedKey, `${what} changes the key`).not.toBe(base);
    expect(new Set(Object.values(changed)).size).toBe(Object.keys(changed).length);
    // An augmentation that changes nothing is no augmentation.
    expect(key({ settings: { ...settings, augment: { cropPadding: 0, flip: false } } })).toBe(base);
  });

  it('joins the network and the key into one identity', () => {
    const identity = evaluationIdentity({ architecture: network, key: key() });
    expect(
      evaluationIdentity({
        architectureHash: architectureHash(network),
        dataset,
        settings,
        weights: 'scratch',
      }),
    ).toBe(identity);
    expect(evaluationIdentity({ architecture: network, key: key({ weights: 'ab' }) })).not.toBe(
      identity,
    );
  });

  it('checksums a dataset by its images and labels, whatever its location', async () => {
    const here = await datasetContentIdentity('fashion-mnist', { dataDir });
    expect(here).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The same images written elsewhere are the same data; other images are not.
    expect(
      await datasetContentIdentity('fashion-mnist', { dataDir: fakeFashionMnist(600, 100) }),
    ).toBe(here);
    expect(
      await datasetContentIdentity('fashion-mnist', { dataDir: fakeFashionMnist(600, 90) }),
    ).not.toBe(here);
    await expect(
      datasetContentIdentity('fashion-mnist', { dataDir: join(tmpdir(), 'nascent-no-such-data') }),
    ).rejects.toThrow(/Fashion-MNIST dataset files not found/);
  });
});

function searchConfig(store: string, overrides: Record<string, unknown> = {}, extra = {}) {
  return loadSearchConfig(
    undefined,
    {
      store,
      dataDir,
      subset: 400,
      testSubset: 100,
      strategy: 'ga',
      population: 4,
      epochs: 1,
      generations: 2,
      protocol: 'standard',
      ...overrides,
    },
    extra,
  );
}

function evaluationsOf(path: string, runId: string): EvaluationView[] {
  const store = RunStore.open(path, { readonly: true });
  try {
    return store.evaluations(runId);
  } finally {
    store.close();
  }
}

describe('reuse across runs of one store', () => {
  it('(a) never answers a from-scratch run with results trained from inherited weights', async () => {
    const path = tempStore();
    const inheriting = await runSearch({ config: searchConfig(path, { inheritWeights: true }) });
    const scratch = await runSearch({ config: searchConfig(path, { inheritWeights: false }) });
    const first = evaluationsOf(path, inheriting.runId);
    const second = evaluationsOf(path, scratch.runId);
    const byId = new Map(first.map((e) => [e.id, e]));
    const inherited = first.filter(
      (e) => e.reusedFrom === null && (e.metrics.inherited_tensors ?? 0) > 0,
    );
    expect(inherited.length).toBeGreaterThan(0);
    const inheritedHashes = new Set(inherited.map((e) => e.hash));
    // What the second run reused was trained from scratch (generation 0: the same evaluation).
    for (const evaluation of second.filter((e) => e.reusedFrom !== null))
      expect(byId.get(evaluation.reusedFrom as number)?.metrics.inherited_tensors ?? 0).toBe(0);
    // The networks the first run trained from inherited weights, the second trains itself.
    const twins = second.filter((e) => inheritedHashes.has(e.hash));
    expect(twins.length).toBeGreaterThan(0);
    for (const twin of twins) {
      expect(twin.reusedFrom).toBeNull();
      expect(twin.fidelity).toBeGreaterThan(0);
      expect(twin.metrics.inherited_tensors).toBe(0);
    }
  });

  it('(b) trains in a run without a screen the candidates another run screened out', async () => {
    const path = tempStore();
    const common = { strategy: 'random', population: 6, generations: 1 };
    const screened = await runSearch({ config: searchConfig(path, { ...common, screenKeep: 2 }) });
    const plain = await runSearch({ config: searchConfig(path, common) });
    const first = evaluationsOf(path, screened.runId);
    const second = evaluationsOf(path, plain.runId);
    const screenedOut = first.filter((e) => e.decision === 'screened-out');
    expect(screenedOut.length).toBe(4);
    expect(screenedOut.every((e) => e.status === 'killed' && e.fidelity === 0)).toBe(true);
    // The same seed proposes the same networks; the screened-out ones are trained now.
    const screenedHashes = new Set(screenedOut.map((e) => e.hash));
    const retrained = second.filter((e) => screenedHashes.has(e.hash));
    expect(retrained).toHaveLength(4);
    for (const evaluation of retrained) {
      expect(evaluation.status).toBe('ok');
      expect(evaluation.reusedFrom).toBeNull();
      expect(evaluation.fidelity).toBe(1);
      expect(evaluation.decision).toBeNull();
    }
    // The two kept by the screen were trained under the same identity: reused.
    const kept = second.filter((e) => !screenedHashes.has(e.hash));
    expect(kept).toHaveLength(2);
    expect(kept.every((e) => e.reusedFrom !== null)).toBe(true);
  });

  it('(c) shares no result between cells runs with different channels', async () => {
    const path = tempStore();
    const cells = (channels: number) => ({
      space: { name: 'cells', options: { channels, cellsPerStage: 1 } },
    });
    const common = { strategy: 'random', population: 3, generations: 1, maxSteps: 2 };
    const narrow = await runSearch({ config: searchConfig(path, common, cells(4)) });
    const wide = await runSearch({ config: searchConfig(path, common, cells(8)) });
    const again = await runSearch({ config: searchConfig(path, common, cells(4)) });
    const first = evaluationsOf(path, narrow.runId);
    const second = evaluationsOf(path, wide.runId);
    // The same seed draws the same cells: the texts agree, the networks do not.
    expect(second.map((e) => e.genome)).toEqual(first.map((e) => e.genome));
    expect(second.every((e) => e.reusedFrom === null && e.fidelity > 0)).toBe(true);
    const firstHashes = new Set(first.map((e) => e.hash));
    expect(second.some((e) => firstHashes.has(e.hash))).toBe(false);
    expect(second.map((e) => e.metrics.params)).not.toEqual(first.map((e) => e.metrics.params));
    // The same macro options again: every result is reused.
    expect(evaluationsOf(path, again.runId).every((e) => e.reusedFrom !== null)).toBe(true);
  });
});
