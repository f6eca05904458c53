import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TableFileError,
  TableLookupError,
  loadResultTable,
  type ResultTable,
} from '../../src/evaluate/table.js';
import type { EvaluationRequest } from '../../src/evaluate/evaluator.js';
import { searchConfigSchema } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { TableEvaluator } from '../../src/evaluate/table-evaluator.js';
import { CellSpace, analyzeCell } from '../../src/space/cells/index.js';
import { Random } from '../../src/util/random.js';
import { GenomeSpace } from '../../src/space/genome-space.js';
import type { CompileTarget } from '../../src/space/space.js';
import { RunStore } from '../../src/store/index.js';

const space = new GenomeSpace();
const FASHION: CompileTarget = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nascent-table-')), name);
  writeFileSync(path, text);
  return path;
}

const A = 'NC 8 3 relu;RC 8 3 relu;RC 16 3 relu;FL relu;';
const B = 'RC 8 5 tanh;RC 16 3 relu;FL gelu;';
/** Known from the CLI tests (and the Keras evaluator): 220,858 parameters on 28x28x1. */
const KNOWN = 'NC 32 5 relu;RC 32 5 relu;RC 64 6 relu;NC 64 5 relu;NC 16 4 relu;FL relu;';

const CSV = [
  'arch,val_accuracy,test_accuracy,params,flops,train_seconds,synflow',
  // Written with spaces and without the last ";": the genome space canonicalises it to A.
  `" NC 8 3 relu ; RC 8 3 relu;RC 16 3 relu; FL relu",0.91,0.905,1234,5678,12.5,3.25`,
  `${B},0.5,0.52,,,,-1e-3`,
  `${KNOWN},0.88,0.87,,,,`,
].join('\r\n');

function request(genome: string, spaceName = 'genome'): EvaluationRequest {
  const parsed = space.parse(genome);
  return {
    candidateId: 'c1',
    genome,
    space: spaceName,
    architecture: space.compile(parsed, FASHION),
    settings: {} as EvaluationRequest['settings'],
    parentWeights: [],
    keepWeights: false,
  };
}

describe('loadResultTable', () => {
  it('reads a CSV table, canonicalising keys and keeping every numeric column', () => {
    const path = tempFile('results.csv', CSV);
    const table = loadResultTable(path, { space });
    expect(table.size).toBe(3);
    expect(table.require(A).metrics).toEqual({
      accuracy: 0.91,
      test_accuracy: 0.905,
      params: 1234,
      flops: 5678,
      train_seconds: 12.5,
      synflow: 3.25,
    });
    // Empty cells are missing values, not zeros.
    expect(table.require(B).metrics).toEqual({
      accuracy: 0.5,
      test_accuracy: 0.52,
      synflow: -0.001,
    });
    // Another spelling of the same genome finds the same row.
    expect(table.get('RC 8 5 tanh ;RC 16 3 relu ;FL gelu')?.arch).toBe(B);
    expect(table.metricNames).toEqual([
      'accuracy',
      'test_accuracy',
      'params',
      'flops',
      'train_seconds',
      'synflow',
    ]);
    expect(table.best('accuracy')?.arch).toBe(A);
    expect(table.best('test_accuracy')?.arch).toBe(A);
    expect(table.coverage('params')).toBe(1);
  });

  it('identifies a table by the SHA-256 of its bytes', () => {
    const path = tempFile('results.csv', CSV);
    const expected = execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0];
    expect(loadResultTable(path, { space }).sha256).toBe(expected);
  });

  it('reads both JSON forms to the same rows as the CSV', () => {
    const rows = [
      { arch: A, val_accuracy: 0.91, test_accuracy: 0.905, params: 1234 },
      { arch: B, accuracy: 0.5, test_accuracy: null },
    ];
    const keyed = {
      [A]: { val_accuracy: 0.91, test_accuracy: 0.905, params: 1234 },
      [B]: { accuracy: 0.5 },
    };
    for (const text of [JSON.stringify(rows), JSON.stringify(keyed, null, 2)]) {
      const table = loadResultTable(tempFile('results.json', text), { space });
      expect(table.require(A).metrics).toEqual({
        accuracy: 0.91,
        test_accuracy: 0.905,
        params: 1234,
      });
      expect(table.require(B).metrics).toEqual({ accuracy: 0.5 });
    }
    // Without an extension the format is told from the first character.
    expect(loadResultTable(tempFile('results', JSON.stringify(rows)), { space }).size).toBe(2);
    expect(loadResultTable(tempFile('results', CSV), { space }).size).toBe(3);
  });

  it('keys NAS-Bench-201 arch strings through the cell space', () => {
    const arch = '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|';
    const path = tempFile('nb201.csv', `arch,accuracy,test_accuracy\n  ${arch}  ,0.9,0.93\n`);
    const table = loadResultTable(path, { space: new CellSpace() });
    expect(table.require(arch).metrics).toEqual({ accuracy: 0.9, test_accuracy: 0.93 });
    expect(() => table.require(arch.replace('none~1', 'skip_connect~1'))).toThrow(TableLookupError);
  });

  it('loads the rows of disconnected cells (no input-output path) as ordinary rows', () => {
    // NAS-Bench-201 has 341 such cells; their network's output is constant (accuracy about 0.10).
    const disconnected = '|none~0|+|nor_conv_3x3~0|none~1|+|none~0|avg_pool_3x3~1|none~2|';
    const onlyPool = '|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|';
    const connected =
      '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|';
    const path = tempFile(
      'nb201.csv',
      `arch,val_accuracy,test_accuracy\n${disconnected},0.1,0.1\n${onlyPool},0.1,0.1\n${connected},0.9,0.93\n`,
    );
    const cells = new CellSpace();
    const table = loadResultTable(path, { space: cells });
    expect(table.size).toBe(3);
    expect(table.require(disconnected).metrics).toEqual({ accuracy: 0.1, test_accuracy: 0.1 });
    expect(table.require(onlyPool).metrics.accuracy).toBe(0.1);
    // They load, but no network is built for them.
    expect(() =>
      cells.compile(cells.parse(disconnected), {
        input: { channels: 3, height: 32, width: 32 },
        classes: 10,
      }),
    ).toThrow(/no path of non-none edges/);
  });

  it('lets a cells search propose disconnected cells only with allowDisconnected', () => {
    const target: CompileTarget = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };
    const count = (allowDisconnected: boolean): number => {
      const cells = new CellSpace({ allowDisconnected });
      const random = new Random(5);
      let disconnected = 0;
      let genome = cells.sample(random, target);
      for (let i = 0; i < 2000; i++) {
        genome = i % 2 === 0 ? cells.sample(random, target) : cells.mutate(genome, random, target);
        if (!analyzeCell(genome.ops).hasOutput) disconnected += 1;
      }
      return disconnected;
    };
    expect(count(false)).toBe(0);
    // About 2% of uniform cells are disconnected; mutation adds its share.
    expect(count(true)).toBeGreaterThan(10);
    expect(() => new CellSpace({ allowDisconnected: 'yes' as unknown as boolean })).toThrow(
      /allowDisconnected/,
    );
  });

  const refusals: [string, string, RegExp][] = [
    [
      'percent accuracies',
      `arch,val_accuracy,test_accuracy\n${A},0.91,0.9\n${B},91.2,0.9\n`,
      /results\.csv line 3, column val_accuracy: 91\.2 is not a fraction in \[0, 1\]/,
    ],
    [
      'a test accuracy above 1',
      `arch,accuracy,test_accuracy\n${A},0.91,93.7\n`,
      /line 2, column test_accuracy: 93\.7 is not a fraction/,
    ],
    [
      'a negative parameter count',
      `arch,accuracy,params\n${A},0.91,-3\n`,
      /column params: -3 is negative/,
    ],
    [
      'a word for a number',
      `arch,accuracy,latency\n${A},0.91,fast\n`,
      /line 2, column latency: "fast" is not a number/,
    ],
    ['no arch column', `genome,accuracy\n${A},0.9\n`, /line 1: the header has no "arch" column/],
    ['no validation accuracy', `arch,test_accuracy\n${A},0.9\n`, /line 2: no validation accuracy/],
    [
      'both validation columns',
      `arch,accuracy,val_accuracy\n${A},0.9,0.9\n`,
      /both val_accuracy and accuracy/,
    ],
    [
      'a missing field',
      `arch,accuracy,test_accuracy\n${A},0.9\n`,
      /line 2: 2 fields for 3 columns/,
    ],
    ['an unclosed quote', `arch,accuracy\n"${A},0.9\n`, /line 2: a quoted field is never closed/],
    [
      'an architecture the space cannot read',
      `arch,accuracy\n${A},0.9\nRC 8 9 relu;RC 8 3 relu;FL relu;,0.5\n`,
      /line 3, column arch: "RC 8 9 relu;RC 8 3 relu;FL relu;" is not a genome-space architecture: .*kernel 9/,
    ],
    [
      'the same architecture twice, spelt differently',
      `arch,accuracy\n${A},0.9\n${B},0.8\n${A.replaceAll(';', ' ; ')},0.7\n`,
      /line 4: architecture ".*" is already in line 2/,
    ],
    ['an empty table', 'arch,accuracy\n', /holds no architectures/],
  ];
  for (const [what, text, message] of refusals) {
    it(`refuses ${what}, naming the line and column`, () => {
      const path = tempFile('results.csv', text);
      expect(() => loadResultTable(path, { space })).toThrow(TableFileError);
      expect(() => loadResultTable(path, { space })).toThrow(message);
    });
  }

  it('refuses malformed JSON entries, naming the entry', () => {
    const cases: [unknown, RegExp][] = [
      [[{ arch: A, val_accuracy: '0.9' }], /entry 0, column val_accuracy: "0.9" is not a number/],
      [[{ arch: A, accuracy: 0.9 }, 7], /entry 1: expected an object/],
      [
        { [A]: { accuracy: 0.9, test_accuracy: 2 } },
        /entry ".*", column test_accuracy: 2 is not a fraction/,
      ],
      [[{ accuracy: 0.9 }], /entry 0, column arch: the architecture text is missing/],
      ['just a string', /expected a JSON array of rows or an object keyed by architecture/],
    ];
    for (const [data, message] of cases) {
      const path = tempFile('results.json', JSON.stringify(data));
      expect(() => loadResultTable(path, { space })).toThrow(message);
    }
    expect(() => loadResultTable(tempFile('bad.json', '[{'), { space })).toThrow(
      /is not valid JSON/,
    );
    expect(() => loadResultTable('/nonexistent/results.csv', { space })).toThrow(
      /cannot read the table \/nonexistent\/results\.csv/,
    );
  });
});

describe('TableEvaluator', () => {
  const load = (): ResultTable => loadResultTable(tempFile('results.csv', CSV), { space });

  it('answers from the table, with the table hash as its identity', async () => {
    const table = load();
    const evaluator = new TableEvaluator(table);
    expect(evaluator.identity).toEqual({ table: table.sha256 });
    expect(evaluator.description).toContain('results.csv (3 architectures)');
    const result = await evaluator.evaluate(request(A));
    expect(result.status).toBe('ok');
    expect(result.fidelity).toBe(0);
    expect(result.metrics).toEqual(table.require(A).metrics);
    await evaluator.close();
  });

  it("fills params and FLOPs the table lacks from the architecture's IR", async () => {
    const result = await new TableEvaluator(load()).evaluate(request(KNOWN));
    expect(result.metrics.params).toBe(220_858);
    expect(result.metrics.flops).toBe(14_855_316);
    expect(result.metrics.accuracy).toBe(0.88);
  });

  it('stops on an architecture the table lacks, naming it and the table', async () => {
    const evaluator = new TableEvaluator(load());
    const missing = 'RC 16 3 relu;RC 16 3 relu;FL relu;';
    await expect(evaluator.evaluate(request(missing))).rejects.toThrow(TableLookupError);
    await expect(evaluator.evaluate(request(missing))).rejects.toThrow(
      /architecture "RC 16 3 relu;RC 16 3 relu;FL relu;" is not in the table .*results\.csv \(3 architectures\)/,
    );
    await expect(evaluator.evaluate(request(A, 'cells'))).rejects.toThrow(
      /keyed by genome-space architectures, but the search runs the cells space/,
    );
  });
});

describe('a search answered by a table', () => {
  /** 32 genomes: two RC parts (2 filters x 2 activations each, kernel 3) and 2 final activations. */
  const options = {
    filters: [8, 16],
    kernels: [3],
    activations: ['relu', 'tanh'],
    finalActivations: ['relu', 'tanh'],
    minNormal: 0,
    maxNormal: 0,
  };
  const parts = options.filters.flatMap((f) => options.activations.map((a) => `RC ${f} 3 ${a};`));
  const genomes = parts.flatMap((p) =>
    parts.flatMap((q) => options.finalActivations.map((fl) => `${p}${q}FL ${fl};`)),
  );
  const csv = (archs: readonly string[]): string =>
    [
      'arch,val_accuracy,test_accuracy',
      ...archs.map((g, i) => `${g},${(0.5 + i / 100).toFixed(2)},0.6`),
    ].join('\n');

  function search(tablePath: string) {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-table-search-'));
    const config = searchConfigSchema.parse({
      name: 'table',
      store: join(dir, 'runs.db'),
      space: { name: 'genome', options },
      evaluator: `table:${tablePath}`,
      strategy: { name: 're', populationSize: 6 },
      budget: { evaluations: 12 },
    });
    const table = loadResultTable(tablePath, { space: new GenomeSpace(options) });
    return { config, table, evaluator: new TableEvaluator(table) };
  }

  it('runs the loop with table results in place of training', async () => {
    const { config, table, evaluator } = search(tempFile('all.csv', csv(genomes)));
    const { runId } = await runSearch({ config, evaluator });
    const store = RunStore.open(config.store);
    try {
      const evaluations = store.evaluations(runId, {});
      expect(evaluations.length).toBeGreaterThanOrEqual(12);
      for (const evaluation of evaluations) {
        expect(evaluation.status).toBe('ok');
        expect(evaluation.metrics.accuracy).toBe(table.require(evaluation.genome).metrics.accuracy);
      }
    } finally {
      store.close();
    }
  });

  it('stops the run on an architecture the table lacks', async () => {
    const { config, evaluator } = search(tempFile('half.csv', csv(genomes.slice(0, 16))));
    await expect(runSearch({ config, evaluator })).rejects.toThrow(
      /is not in the table .*half\.csv/,
    );
  });
});
