import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSearchConfig } from '../../src/run/config.js';
import { STRATEGY_NAMES } from '../../src/search/registry.js';
import { runSearch } from '../../src/run/runner.js';
import { SPACE_NAMES, type SpaceSpec, createSpace } from '../../src/space/registry.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

const dataDir = fakeFashionMnist(120, 40);

/** Small settings per space so that each search takes a second or two. */
const SPACES: Record<string, SpaceSpec> = {
  genome: { name: 'genome', options: { filters: [2, 4], maxNormal: 1 } },
  layers: { name: 'layers', options: { maxLayers: 4 } },
  cells: { name: 'cells', options: { channels: 4, cellsPerStage: 1 } },
  grammar: { name: 'grammar', grammar: 'grammars/cnn.yaml', options: { maxParams: 50_000 } },
  cnn: {
    name: 'cnn',
    options: {
      minStages: 1,
      maxStages: 2,
      stemChannels: [4],
      channels: [4, 8],
      depths: [1],
      expansions: [2],
      kernels: [3],
      headChannels: [0],
      maxParams: 50_000,
    },
  },
};

describe('every space with every strategy', () => {
  it('has small test settings for every registered space', () => {
    for (const name of SPACE_NAMES) {
      const spec = SPACES[name];
      expect(spec, name).toBeDefined();
      expect(createSpace(spec as SpaceSpec).name).toBe(name);
    }
  });

  for (const space of SPACE_NAMES) {
    it(`searches the ${space} space with ${STRATEGY_NAMES.join(', ')}`, async () => {
      const store = join(mkdtempSync(join(tmpdir(), 'nascent-spaces-')), 'runs.db');
      for (const strategy of STRATEGY_NAMES) {
        const config = loadSearchConfig(
          undefined,
          {
            store,
            dataDir,
            subset: 100,
            testSubset: 40,
            strategy,
            population: 3,
            epochs: 1,
            maxSteps: 1,
            generations: 2,
            protocol: 'standard',
            inheritWeights: true,
          },
          { space: SPACES[space] },
        );
        const { runId, reason } = await runSearch({ config });
        expect(reason, `${space}/${strategy}`).toBe('2 generations done');
        const reader = RunStore.open(store);
        try {
          const candidates = reader.candidates(runId);
          expect(candidates.length, `${space}/${strategy}`).toBeGreaterThanOrEqual(3);
          const parsed = createSpace(SPACES[space] as SpaceSpec);
          for (const candidate of candidates) {
            // The stored text is canonical: it parses back to itself.
            expect(parsed.format(parsed.parse(candidate.genome))).toBe(candidate.genome);
          }
          const evaluations = reader.evaluations(runId);
          expect(
            evaluations.every((e) => e.status !== 'failed'),
            `${space}/${strategy}`,
          ).toBe(true);
        } finally {
          reader.close();
        }
      }
    });
  }
});
