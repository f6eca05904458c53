/**
 * Presets: every file under configs/presets is a valid search configuration, with a one-line
 * description, and `nascent search --preset` finds them by name.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listPresets, presetFile, presetsCommand } from '../../src/cli/presets.js';
import { searchCommand } from '../../src/cli/search.js';
import { loadSearchConfig } from '../../src/run/config.js';

const EXPECTED = [
  'course-min-params',
  'evolutive-cells-cifar10',
  'express-cifar10',
  'ge-mlp-mnist',
  'layers-cifar10',
  'layers-cifar10-fast',
];

describe('presets', () => {
  it('lists every preset with a one-line description', () => {
    const presets = listPresets();
    expect(presets.map((p) => p.name)).toEqual(EXPECTED);
    for (const preset of presets) {
      expect(preset.description.length).toBeGreaterThan(20);
      expect(preset.description).not.toContain('\n');
    }
    const text = presetsCommand();
    for (const name of EXPECTED) expect(text).toContain(name);
  });

  it('loads each preset as a valid configuration, its grammar found from any directory', () => {
    for (const name of EXPECTED) {
      const config = loadSearchConfig(presetFile(name));
      expect(config.name).toBe(name);
      if (config.space.grammar !== undefined) expect(existsSync(config.space.grammar)).toBe(true);
    }
    const cells = loadSearchConfig(presetFile('evolutive-cells-cifar10'));
    expect(cells.strategy.dartsTournament).toMatchObject({ every: 3, size: 4 });
    expect(cells.space.selfAdaptive).toBeDefined();
    expect(cells.objectives.map((o) => o.metric)).toEqual([
      'proxy_ntk_cond',
      'proxy_naswot',
      'proxy_jacob_cov',
    ]);
    const express = loadSearchConfig(presetFile('express-cifar10'));
    expect(express.evaluator).toBe('express');
    expect(express.evaluation.screen?.by).toBe('online');
    // layers-cifar10 ranks candidates as train-best and compare train them: crops and flips
    const layers = loadSearchConfig(presetFile('layers-cifar10'));
    expect(layers.evaluation.augment).toEqual({ cropPadding: 4, flip: true });
  });

  it('overrides any setting of a preset with --set path=value (YAML values)', () => {
    const config = loadSearchConfig(presetFile('express-cifar10'), {
      set: ['strategy.options.initialSize=120', 'evaluation.screen.keep=4', 'dataset.subset=5000'],
    });
    expect(config.strategy.options.initialSize).toBe(120);
    expect(config.evaluation.screen?.keep).toBe(4);
    expect(config.dataset.subset).toBe(5000);
    expect(() => loadSearchConfig(presetFile('express-cifar10'), { set: ['initialSize'] })).toThrow(
      /--set initialSize: write --set path.to.setting=value/,
    );
    expect(() =>
      loadSearchConfig(presetFile('express-cifar10'), { set: ['dataset.subset=ten'] }),
    ).toThrow(/dataset\.subset/);
  });

  it('names the presets there are when asked for an unknown one', async () => {
    expect(() => presetFile('layers-cifar100')).toThrow(
      /unknown preset "layers-cifar100"; presets: course-min-params, .*layers-cifar10-fast/,
    );
    await expect(
      searchCommand({ preset: 'ge-mlp-mnist', config: 'configs/smoke.yaml' }),
    ).rejects.toThrow(/either --config or --preset/);
  });
});
