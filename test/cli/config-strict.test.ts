import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSearchConfig } from '../../src/run/config.js';
import { CellSpace } from '../../src/space/cells/index.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { LayerListSpace } from '../../src/space/layers/index.js';
import { SpaceError, createSpace } from '../../src/space/registry.js';
import { createStrategy } from '../../src/search/index.js';
import { OptionsError, nearestKey } from '../../src/util/unknown-keys.js';

/** The message loadSearchConfig refuses `--set assignment` with (on top of a valid base). */
function refusal(assignment: string, base: Record<string, unknown> = {}): string {
  try {
    loadSearchConfig(undefined, { set: [assignment] }, { budget: { generations: 1 }, ...base });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`--set ${assignment} was accepted`);
}

describe('nearestKey', () => {
  it('finds a transposition, a dropped letter and a case slip, and nothing far away', () => {
    const known = ['name', 'dataDir', 'subset', 'testSubset', 'validationFraction'];
    expect(nearestKey('subest', known)).toBe('subset');
    expect(nearestKey('testSubst', known)).toBe('testSubset');
    expect(nearestKey('datadir', known)).toBe('dataDir');
    expect(nearestKey('validation', known)).toBeUndefined();
    expect(nearestKey('epochs', known)).toBeUndefined();
  });
});

describe('every level of the search configuration is strict', () => {
  // [assignment, dotted path told, nearest key suggested]
  const cases: [string, string, string][] = [
    ['dataset.subest=1000', 'dataset.subest', 'subset'],
    ['seeed=1', 'seeed', 'seed'],
    ['space.optons={}', 'space.optons', 'options'],
    ['space.options.filtres=[4]', 'space.options.filtres', 'filters'],
    ['space.selfAdaptive.minRat=0.1', 'space.selfAdaptive.minRat', 'minRate'],
    ['strategy.populatonSize=4', 'strategy.populatonSize', 'populationSize'],
    [
      'strategy.dartsTournament={every: 1, size: 2, step: 3}',
      'strategy.dartsTournament.step',
      'steps',
    ],
    ['evaluation.epoch=2', 'evaluation.epoch', 'epochs'],
    [
      'evaluation.killBelow={epoch: 1, accuracy: 0.2, epochs: 2}',
      'evaluation.killBelow.epochs',
      'epoch',
    ],
    [
      'evaluation.successiveHalving={minEpochs: 1, eta: 2, etta: 3}',
      'evaluation.successiveHalving.etta',
      'eta',
    ],
    ['evaluation.augment.flp=true', 'evaluation.augment.flp', 'flip'],
    ['evaluation.screen={keep: 2, kep: 3}', 'evaluation.screen.kep', 'keep'],
    ['budget.generatons=3', 'budget.generatons', 'generations'],
    ['pool.siz=2', 'pool.siz', 'size'],
    [
      'objectives=[{metric: accuracy, direction: maximize, directon: minimize}]',
      'objectives.0.directon',
      'direction',
    ],
    ['constraints=[{metric: params, op: "<=", value: 5, vale: 3}]', 'constraints.0.vale', 'value'],
  ];
  for (const [assignment, path, nearest] of cases) {
    it(`refuses --set ${assignment}, naming ${path} and suggesting ${nearest}`, () => {
      expect(refusal(assignment)).toContain(`${path}: unknown `);
      expect(refusal(assignment)).toContain(`did you mean ${nearest}?`);
    });
  }

  it("refuses each space's unknown options at their path", () => {
    const spaces: [string, string, string, Record<string, unknown>][] = [
      ['layers', 'maxLayer', 'maxLayers', {}],
      ['cells', 'cellPerStage', 'cellsPerStage', {}],
      ['grammar', 'genomeLenght', 'genomeLength', { grammar: 'grammars/mlp.yaml' }],
    ];
    for (const [name, typo, nearest, extra] of spaces) {
      const message = refusal(`space.options.${typo}=3`, { space: { name, ...extra } });
      expect(message).toContain(`space.options.${typo}: unknown option; did you mean ${nearest}?`);
    }
  });

  it('lists the known keys when none is near', () => {
    expect(refusal('pool.workers=2')).toContain(
      'pool.workers: unknown setting; known: size, threads',
    );
  });

  it('still loads every shipped configuration and preset', () => {
    const files = [
      ...readdirSync('configs')
        .filter((file) => file.endsWith('.yaml'))
        .map((f) => join('configs', f)),
      ...readdirSync(join('configs', 'presets')).map((f) => join('configs', 'presets', f)),
    ];
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(() => loadSearchConfig(file), file).not.toThrow();
  });
});

describe('space options', () => {
  it('refuse an unknown option with the nearest one, constructed directly or by name', () => {
    expect(() => new GenomeSpace({ filtres: [4] } as never)).toThrow(
      /invalid genome space: filtres: unknown option; did you mean filters\?/,
    );
    expect(() => new LayerListSpace({ kernel: [3] } as never)).toThrow(OptionsError);
    expect(() => new CellSpace({ chanels: 8 } as never)).toThrow(/did you mean channels\?/);
    let caught: unknown;
    try {
      createSpace({ name: 'genome', options: { maxNormals: 2 } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SpaceError);
    expect((caught as SpaceError).issues).toEqual([
      { path: ['options', 'maxNormals'], message: 'unknown option; did you mean maxNormal?' },
    ]);
  });
});

describe('strategy options', () => {
  it('refuse an unknown option with the nearest one', () => {
    const options = {
      space: new GenomeSpace(),
      target: { input: { channels: 1, height: 28, width: 28 }, classes: 10 },
      objectives: [{ metric: 'accuracy', direction: 'maximize' }],
      seed: 0,
      populationSzie: 10,
    } as const;
    expect(() => createStrategy('ga', options as never)).toThrow(
      /unknown option "populationSzie" .*; did you mean populationSize\?/,
    );
  });
});

describe('nascent search --set with a misspelt key', () => {
  it('exits non-zero naming dataset.subest and suggesting subset, before anything runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-strict-'));
    const store = join(dir, 'runs.db');
    const result = spawnSync(
      join('bin', 'nascent'),
      [
        'search',
        '--config',
        join('configs', 'smoke.yaml'),
        '--store',
        store,
        '--set',
        'dataset.subest=1000',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull();
    expect(result.stderr).toContain('dataset.subest');
    expect(result.stderr).toContain('did you mean subset?');
    expect(existsSync(store)).toBe(false);
  });
});
