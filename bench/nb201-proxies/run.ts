/**
 * Every training-free proxy on a fixed random sample of NAS-Bench-201 cells, with CIFAR-10
 * images: Spearman and Kendall against the table's 12-epoch validation and 200-epoch test
 * accuracy, the cost per cell, and parameters and FLOPs as baselines; fixed (not fitted) rank
 * votes and log-rank aggregations, AZ-NAS's among them.
 *
 *   node dist/bench/nb201-proxies/run.js [--table ../shared/data/nas-bench-201/nb201-cifar10.csv]
 *     [--data ../shared/data/cifar-10] [--cells 1000] [--seed 1] [--init kaiming|kaiming-fan-in|glorot|torch]
 *     [--threads 2]
 *     [--proxies synflow,naswot,...]         (default: all)
 *     [--part 1/2]                           (every 2nd cell of the sample from the 1st: run the
 *                                             parts side by side, one thread each)
 *     [--out nb201-proxies.jsonl]            (one line per cell, written as it goes)
 *   node dist/bench/nb201-proxies/run.js --summarize a.jsonl[,b.jsonl]   (partial files too)
 *
 * The sample is drawn from the connected cells (a cell with no path from input to output has no
 * network to score); the table's own order and the seed fix it.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WEIGHT_INITS, type WeightInit } from '../../src/engine/engine.js';
import {
  AZ_NAS_COMPONENTS,
  PROXY_NAMES,
  checkProxyNames,
  type ProxyName,
  computeProxies,
  logRankAggregate,
  prepareProxyImages,
  rankVote,
  rankableScores,
} from '../../src/evaluate/proxies.js';
import { CellSpace } from '../../src/space/cells/index.js';
import { Random } from '../../src/util/random.js';
import { kendall, median, spearman } from '../../src/util/stats.js';

const { values } = parseArgs({
  options: {
    table: { type: 'string', default: '../shared/data/nas-bench-201/nb201-cifar10.csv' },
    data: { type: 'string', default: '../shared/data/cifar-10' },
    cells: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    init: { type: 'string', default: 'kaiming' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: 'nb201-proxies.jsonl' },
    proxies: { type: 'string' },
    part: { type: 'string', default: '1/1' },
    summarize: { type: 'string' },
  },
});

interface CellRecord {
  readonly arch: string;
  readonly index: number;
  readonly val: number;
  readonly test: number;
  readonly seconds: number;
  readonly scores: Partial<Record<ProxyName, number | null>>;
  readonly proxySeconds: Partial<Record<ProxyName, number>>;
}

type Rows = readonly Partial<Record<ProxyName, number | null>>[];

/**
 * Aggregates of several proxies, none fitted: the zero-cost-nas rank vote and one of the new
 * proxies, fixed before any measurement; log-rank aggregations (AZ-NAS's sum of log(rank / n)),
 * fixed before the 1,000-cell run (after a 20-cell trial): the paper's four components, and those
 * beside the proxies the literature puts highest on this benchmark (MeCo, SWAP, ZiCo, synflow).
 */
const AGGREGATES: readonly {
  readonly label: string;
  readonly names: readonly ProxyName[];
  readonly combine: (rows: Rows, names: readonly ProxyName[]) => number[];
}[] = [
  {
    label: 'vote: synflow, jacob_cov, naswot',
    names: ['synflow', 'jacob_cov', 'naswot'],
    combine: rankVote,
  },
  {
    label: 'vote: zico, meco, swap, synflow, naswot',
    names: ['zico', 'meco', 'swap', 'synflow', 'naswot'],
    combine: rankVote,
  },
  {
    label: 'AZ-NAS: expressivity, progressivity, trainability, flops (log-rank)',
    names: AZ_NAS_COMPONENTS,
    combine: logRankAggregate,
  },
  {
    label: 'log-rank: AZ-NAS components, meco, swap, zico, synflow',
    names: [...AZ_NAS_COMPONENTS, 'meco', 'swap', 'zico', 'synflow'],
    combine: logRankAggregate,
  },
];

function summarize(records: readonly CellRecord[]): string {
  const val = records.map((r) => r.val);
  const test = records.map((r) => r.test);
  const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(3));
  const lines = [
    `${records.length} cells, median ${median(records.map((r) => r.seconds))?.toFixed(2)} s per cell (all proxies, build included)`,
    '',
    '| score | Spearman test | Kendall test | Spearman val | Kendall val | failures | median s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const row = (label: string, scores: number[], failures: number, seconds: string) =>
    lines.push(
      `| ${label} | ${fmt(spearman(scores, test))} | ${fmt(kendall(scores, test))} | ${fmt(spearman(scores, val))} | ${fmt(kendall(scores, val))} | ${failures} | ${seconds} |`,
    );
  for (const name of PROXY_NAMES) {
    if (!records.some((r) => name in r.scores)) continue;
    const raw = records.map((r) => r.scores[name]);
    const failures = raw.filter((v) => v === null || v === undefined || !Number.isFinite(v)).length;
    const seconds = median(records.map((r) => r.proxySeconds[name] ?? 0));
    row(name, rankableScores(name, raw), failures, seconds === undefined ? '' : seconds.toFixed(3));
  }
  const measured = (names: readonly ProxyName[]) =>
    names.every((name) => records.some((r) => name in r.scores));
  for (const { label, names, combine } of AGGREGATES) {
    if (!measured(names)) continue;
    row(
      label,
      combine(
        records.map((r) => r.scores),
        names,
      ),
      0,
      '',
    );
  }
  return lines.join('\n');
}

if (values.summarize) {
  const records = values.summarize
    .split(',')
    .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CellRecord);
  process.stdout.write(`${summarize(records)}\n`);
  process.exit(0);
}

const [header, ...lines] = readFileSync(values.table as string, 'utf8')
  .trim()
  .split('\n');
const columns = (header as string).split(',');
const column = (name: string) => {
  const at = columns.indexOf(name);
  if (at < 0) throw new Error(`the table has no column ${name}`);
  return at;
};
const [archAt, valAt, testAt, indexAt] = [
  'arch',
  'val_accuracy',
  'test_accuracy',
  'nb201_index',
].map(column) as [number, number, number, number];
const space = new CellSpace({ allowDisconnected: true });
const target = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };
const rows = lines.map((line) => {
  const cells = line.split(',');
  return {
    arch: cells[archAt] as string,
    val: Number(cells[valAt]),
    test: Number(cells[testAt]),
    index: Number(cells[indexAt]),
  };
});
const compilable = rows.filter((row) => {
  try {
    space.compile(space.parse(row.arch), target);
    return true;
  } catch {
    return false;
  }
});
const partMatch = /^(\d+)\/(\d+)$/.exec(values.part as string);
const [part, parts] = partMatch ? [Number(partMatch[1]), Number(partMatch[2])] : [0, 0];
if (!(parts >= 1 && part >= 1 && part <= parts)) {
  throw new Error(`--part must be i/n with 1 <= i <= n, got ${values.part}`);
}
if (!(WEIGHT_INITS as readonly string[]).includes(values.init as string)) {
  throw new Error(`--init must be one of ${WEIGHT_INITS.join(', ')}, got ${values.init}`);
}
const names = values.proxies ? checkProxyNames(values.proxies.split(',')) : PROXY_NAMES;
const sample = new Random(Number(values.seed))
  .shuffle([...compilable])
  .slice(0, Number(values.cells))
  .filter((_, at) => at % parts === part - 1);
const seed = Number(values.seed);
const data = await prepareProxyImages('cifar10', {
  dataDir: values.data as string,
  standardise: true,
  seed,
});
writeFileSync(values.out as string, '');
const records: CellRecord[] = [];
for (const [at, row] of sample.entries()) {
  const started = performance.now();
  const architecture = space.compile(space.parse(row.arch), target);
  const scores = await computeProxies(architecture, data.train, {
    names,
    init: values.init as WeightInit,
    seed,
    threads: Number(values.threads),
  });
  const record: CellRecord = {
    ...row,
    seconds: (performance.now() - started) / 1000,
    scores: Object.fromEntries(names.map((name) => [name, scores[name]?.value ?? null])),
    proxySeconds: Object.fromEntries(names.map((name) => [name, scores[name]?.seconds ?? 0])),
  };
  records.push(record);
  appendFileSync(values.out as string, `${JSON.stringify(record)}\n`);
  if ((at + 1) % 50 === 0) process.stderr.write(`${at + 1}/${sample.length} cells\n`);
}
data.release();
process.stdout.write(`${summarize(records)}\n`);
