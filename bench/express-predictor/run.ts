/**
 * The accuracy predictor's kinds on an express-cifar10 run: each kind trained on n of the run's
 * trained networks drawn at random (each network once) and scored by R^2 on all the others, for
 * 3 draws; the same draws for every kind. It reads a finished run; it trains nothing itself.
 *
 *   bin/nascent search --preset express-cifar10 --store runs/bench-presets/express-r2.db ...
 *   node dist/bench/express-predictor/run.js --store runs/bench-presets/express-r2.db --run RUN
 *     [--at 500,2000] [--kinds lstm,mlp,gbdt,gp,ensemble] [--command "the search command"]
 *     [--proxies synflow,grad_norm,...] [--proxy-cache FILE] [--out BENCHMARKS.md]
 *
 * With --proxies, every network's zero-cost proxy scores (at its protocol's initialisation, on 64
 * of the run's dataset's images, seed 1) are features of the kinds that read them (mlp, gbdt, gp,
 * ensemble; the LSTM reads layers only). They are computed once and kept in --proxy-cache
 * (default: the store's path with .proxies.jsonl), one line per network.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AccuracyPredictor, type PredictorExample } from '../../src/evaluate/predictor.js';
import { FEW_SHOT_KINDS, FewShotPredictor } from '../../src/evaluate/predictor/few-shot.js';
import { getProtocol } from '../../src/evaluate/protocols.js';
import {
  type ProxyName,
  checkProxyNames,
  computeProxies,
  prepareProxyImages,
} from '../../src/evaluate/proxies.js';
import { configuredProtocol, loadSearchConfig } from '../../src/run/config.js';
import { Random } from '../../src/util/random.js';
import { rSquared } from '../../src/util/stats.js';
import { markdownTable, writeSection } from '../common/markdown.js';
import { trainedNetworks } from './trained-networks.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    run: { type: 'string' },
    at: { type: 'string', default: '500,2000' },
    kinds: { type: 'string', default: 'lstm,mlp,gbdt,gp,ensemble' },
    command: { type: 'string', default: '' },
    proxies: { type: 'string' },
    'proxy-cache': { type: 'string' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});
if (!values.store || !values.run) throw new Error('give --store and --run');

const KINDS = ['lstm', 'mlp', ...FEW_SHOT_KINDS] as const;
type Kind = (typeof KINDS)[number];
const kinds = values.kinds.split(',').map((kind) => {
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new Error(`unknown kind ${kind} (expected ${KINDS.join(', ')})`);
  }
  return kind as Kind;
});

const proxyNames: ProxyName[] =
  values.proxies === undefined ? [] : checkProxyNames(values.proxies.split(','));
const { run, networks: trained } = trainedNetworks(values.store, values.run);

type Scores = Partial<Record<ProxyName, number | null>>;
/** Every network's proxy scores: read from the cache, the missing ones computed and appended. */
async function proxyScores(): Promise<Map<string, Scores>> {
  const cache = values['proxy-cache'] ?? `${values.store}.proxies.jsonl`;
  const known = new Map<string, Scores>();
  if (existsSync(cache)) {
    for (const line of readFileSync(cache, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const row = JSON.parse(line) as { candidateId: string; scores: Scores };
      if (proxyNames.every((name) => name in row.scores)) known.set(row.candidateId, row.scores);
    }
  }
  const missing = trained.filter((t) => !known.has(t.candidateId));
  if (missing.length === 0) return known;
  const config = loadSearchConfig(undefined, {}, run.config as Record<string, unknown>);
  const protocol = getProtocol(configuredProtocol(config));
  const data = await prepareProxyImages(config.dataset.name, {
    dataDir: config.dataset.dataDir,
    standardise: protocol.standardise,
    seed: 1,
  });
  const started = performance.now();
  for (const [index, network] of missing.entries()) {
    const computed = await computeProxies(network.architecture, data.train, {
      names: proxyNames,
      init: protocol.init,
      seed: 1,
      threads: 1,
    });
    const scores: Scores = Object.fromEntries(
      proxyNames.map((name) => [name, computed[name]?.value ?? null]),
    );
    known.set(network.candidateId, scores);
    appendFileSync(cache, `${JSON.stringify({ candidateId: network.candidateId, scores })}\n`);
    if ((index + 1) % 200 === 0)
      process.stderr.write(
        `proxies: ${index + 1}/${missing.length} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
      );
  }
  return known;
}

const scores = proxyNames.length > 0 ? await proxyScores() : new Map<string, Scores>();
const examples: PredictorExample[] = trained.map((t) => ({
  architecture: t.architecture,
  accuracy: t.accuracy,
  ...(proxyNames.length > 0 ? { proxies: scores.get(t.candidateId) ?? {} } : {}),
}));

async function fitAndPredict(
  kind: Kind,
  train: readonly PredictorExample[],
  test: readonly PredictorExample[],
): Promise<number[]> {
  if (kind === 'lstm')
    return (await AccuracyPredictor.train(train, { kind, seed: 1 })).predict(test);
  if (kind === 'mlp') {
    return (
      await AccuracyPredictor.train(train, { kind, seed: 1, proxyFeatures: proxyNames })
    ).predict(test);
  }
  return FewShotPredictor.train(train, { kind, seed: 1, proxyFeatures: proxyNames }).predict(test);
}

const sizes = values.at
  .split(',')
  .map(Number)
  .filter((n) => n <= examples.length - 20);
const rows: string[][] = [];
for (const n of sizes) {
  for (const kind of kinds) {
    const r2: number[] = [];
    const started = performance.now();
    for (const seed of [1, 2, 3]) {
      const shuffled = new Random(seed).shuffle([...examples]);
      const train = shuffled.slice(0, n);
      const test = shuffled.slice(n);
      const predicted = await fitAndPredict(kind, train, test);
      r2.push(
        rSquared(
          test.map((e) => e.accuracy),
          predicted,
        ) ?? Number.NaN,
      );
    }
    const mean = r2.reduce((sum, value) => sum + value, 0) / r2.length;
    rows.push([
      String(n),
      String(examples.length - n),
      kind,
      r2.map((value) => value.toFixed(3)).join(' / '),
      mean.toFixed(3),
      ((performance.now() - started) / 3000).toFixed(1),
    ]);
    process.stderr.write(`${n} ${kind}: ${r2.map((v) => v.toFixed(3)).join(' ')}\n`);
  }
}

const table = markdownTable(
  ['trained on', 'scored on', 'kind', 'R^2 (3 draws)', 'mean', 'fit s'],
  rows,
  ['right', 'right', 'left', 'right', 'right', 'right'],
);
const body = [
  `Command: \`node dist/bench/express-predictor/run.js --store ${values.store} --run ${values.run} --at ${values.at} --kinds ${values.kinds}${proxyNames.length > 0 ? ` --proxies ${proxyNames.join(',')}` : ''}\`${values.command ? `, on the run made by \`${values.command}\`` : ''}.`,
  '',
  `${examples.length} trained networks, each counted once. Each kind is trained on n networks drawn at random (seeds 1, 2, 3; the same draws for every kind) and scored on all the others; \`fit s\` is the mean wall time of one fit and prediction.${proxyNames.length > 0 ? ` Features: the network's, and the proxy scores ${proxyNames.join(', ')} (at initialisation, 64 images, seed 1) for every kind but the LSTM.` : ''}`,
  '',
  table,
].join('\n');
process.stdout.write(`${body}\n`);
writeSection(
  values.out,
  proxyNames.length > 0
    ? {
        start: '<!-- express-predictor-proxies:start -->',
        end: '<!-- express-predictor-proxies:end -->',
      }
    : { start: '<!-- express-predictor:start -->', end: '<!-- express-predictor:end -->' },
  body,
  '# Benchmarks',
);
