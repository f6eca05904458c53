/**
 * `nascent proxies` and `nascent predictor train|eval` on a table of known results.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadExamples,
  predictorEvalCommand,
  predictorTrainCommand,
  proxiesCommand,
} from '../../src/cli/predictor.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { Random } from '../../src/util/random.js';
import { fakeFashionMnist } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nascent-predictor-cli-'));

/** A table of 60 genomes whose made-up accuracy grows with their parameter count. */
function writeTable(path: string, withSynflow: boolean): void {
  const space = new GenomeSpace();
  const random = new Random(7);
  const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
  const seen = new Set<string>();
  const lines = [`arch,val_accuracy${withSynflow ? ',synflow' : ''}`];
  while (seen.size < 60) {
    const genome = space.sample(random, target);
    const text = space.format(genome);
    if (seen.has(text)) continue;
    seen.add(text);
    const params = analyzeArchitecture(space.compile(genome, target)).params;
    const accuracy = Math.min(0.95, 0.3 + 0.1 * Math.log10(params));
    lines.push(`${text},${accuracy.toFixed(4)}${withSynflow ? `,${params * 3}` : ''}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

describe('predictor and proxies commands', () => {
  it('trains on a table, saves, and evaluates on the same table with R^2 and Kendall tau', async () => {
    const table = join(dir, 'table.csv');
    writeTable(table, true);
    const out = join(dir, 'mlp');
    const trained = await predictorTrainCommand({
      table,
      kind: 'mlp',
      proxies: ['synflow'],
      seed: 0,
      epochs: 200,
      out,
    });
    expect(trained).toContain('trained a mlp predictor on 60 architectures with proxies synflow');
    expect(trained).toContain(`saved to ${out}`);
    const report = predictorEvalCommand({ predictor: out, table });
    expect(report).toMatch(/mlp predictor \(trained on 60\) on 60 architectures/);
    const r2 = Number(/R\^2\s+(-?\d\.\d+)/.exec(report)?.[1]);
    expect(r2).toBeGreaterThan(0.8);
  });

  it('names the proxy a table lacks, and wants exactly one source of examples', () => {
    const table = join(dir, 'plain.csv');
    writeTable(table, false);
    expect(() => loadExamples({ table }, ['synflow'])).toThrow(
      /plain\.csv line 2 has no score for proxy "synflow"/,
    );
    expect(() => loadExamples({}, [])).toThrow(/either --run <run> or --table <file>/);
    expect(() => loadExamples({ table, run: 'x' }, [])).toThrow(/either --run/);
    // params and flops come from the IR, so tables need not hold them.
    expect(loadExamples({ table }, ['params'])[0]?.proxies?.params).toBeNull();
  });

  it('prints every proxy of one architecture with its direction', async () => {
    const text = await proxiesCommand({
      genome: 'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;',
      dataset: 'fashion-mnist',
      dataDir: fakeFashionMnist(300, 10),
      protocol: 'course',
      seed: 0,
      threads: 1,
    });
    expect(text).toMatch(
      /^proxies at glorot initialisation \(protocol course\), seed 0, batch of 64/,
    );
    for (const name of [
      'synflow',
      'grad_norm',
      'snip',
      'jacob_cov',
      'naswot',
      'ntk_cond',
      'params',
      'flops',
    ])
      expect(text).toMatch(new RegExp(`\\n  ${name}\\s+-?\\d`));
    expect(text).toMatch(/ntk_cond .*lower is better/);
    await expect(
      proxiesCommand({
        genome: 'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;',
        dataset: 'fashion-mnist',
        names: ['zen'],
        protocol: 'course',
        seed: 0,
      }),
    ).rejects.toThrow(/unknown proxy "zen"/);
  });
});
