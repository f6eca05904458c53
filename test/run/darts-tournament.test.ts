import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import { architectureToOnnx } from '../../src/export/onnx.js';
import { architectureToPytorch } from '../../src/export/pytorch.js';
import { runDartsTournament } from '../../src/evaluate/darts-tournament.js';
import { searchConfigSchema } from '../../src/run/config.js';
import { MuPlusLambda } from '../../src/search/mu-plus-lambda.js';
import { runSearch } from '../../src/run/runner.js';
import type { Evaluated } from '../../src/search/strategy.js';
import { DARTS_TOURNAMENT_EVENT } from '../../src/run/tournament-host.js';
import { RunStore } from '../../src/store/index.js';
import { CellSpace } from '../../src/space/cells/index.js';
import { analyzeArchitecture, IR_FORMAT, type Architecture } from '../../src/space/ir.js';
import { compileMixture, mixWholeNetworks } from '../../src/space/mixture.js';
import { conv, fakeFashionMnist, syntheticImages } from '../helpers.js';
import { type Toy, accuracyOf, evaluate, target, toySpace } from '../search/toy.js';

const input = { channels: 1, height: 12, width: 12 };

/** Sees where the bright square is: it can learn the synthetic task. */
const seeing: Architecture = {
  format: IR_FORMAT,
  input,
  nodes: [
    { id: 'input', op: 'input', inputs: [] },
    conv('c1', 'input', 8, 3),
    { id: 'a1', op: 'activation', inputs: ['c1'], fn: 'relu' },
    { id: 'p1', op: 'maxpool2d', inputs: ['a1'], kernel: 2, stride: 2, padding: 'valid' },
    { id: 'f', op: 'flatten', inputs: ['p1'] },
    { id: 'out', op: 'dense', inputs: ['f'], units: 4, bias: true },
  ],
  output: 'out',
};

/** Averages the image away before it looks: every class looks the same to it. */
const blind: Architecture = {
  format: IR_FORMAT,
  input,
  nodes: [
    { id: 'input', op: 'input', inputs: [] },
    { id: 'gap', op: 'global_avg_pool', inputs: ['input'] },
    { id: 'out', op: 'dense', inputs: ['gap'], units: 4, bias: true },
  ],
  output: 'out',
};

function data() {
  return {
    train: TensorData.fromImages(syntheticImages(512, { seed: 3 })),
    validation: TensorData.fromImages(syntheticImages(256, { seed: 4 })),
  };
}

const settings = {
  steps: 60,
  batchSize: 32,
  lr: 0.05,
  architectureLr: 0.05,
  init: 'kaiming' as const,
  seed: 1,
  threads: 1,
};

describe('mixture networks', () => {
  it('mixes whole networks at their outputs with one mix node', () => {
    const mixture = mixWholeNetworks([seeing, blind]);
    const mixes = mixture.nodes.filter((node) => node.op === 'mix');
    expect(mixes).toHaveLength(1);
    expect(mixes[0]?.inputs).toEqual(['k0_out', 'k1_out']);
    const summary = analyzeArchitecture(mixture);
    // Alpha is not a network parameter: the mixture has exactly the two networks' parameters.
    expect(summary.params).toBe(
      analyzeArchitecture(seeing).params + analyzeArchitecture(blind).params,
    );
  });

  it('mixes cells at every cell position of the macro network', () => {
    const space = new CellSpace({ channels: 4, cellsPerStage: 2 });
    const genomes = [
      space.parse(
        '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|',
      ),
      space.parse('|skip_connect~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|none~1|none~2|'),
      space.parse(
        '|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|',
      ),
    ];
    const target = { input: { channels: 3, height: 8, width: 8 }, classes: 10 };
    const mixture = compileMixture(space, genomes, target);
    const mixes = mixture.nodes.filter((node) => node.op === 'mix');
    expect(mixes).toHaveLength(3 * 2); // three stages of two cell positions
    expect(mixes.every((node) => node.inputs.length === 3)).toBe(true);
    expect(analyzeArchitecture(mixture).outputShape).toEqual({ kind: 'flat', features: 10 });
  });
  it('is refused by the exporters, which say why', () => {
    const mixture = mixWholeNetworks([seeing, blind]);
    expect(() => architectureToPytorch(mixture)).toThrow(
      /node mix_output is a mix node: a DARTS tournament network only ranks its cells/,
    );
    const weights = Network.build(mixture).getWeights();
    expect(Object.keys(weights)).toContain('arch_alpha');
    expect(() => architectureToOnnx(mixture, weights)).toThrow(/mix_output is a mix node/);
  });
});

describe('DARTS tournament', () => {
  it('trains alpha towards the network that can learn the task, and names it the winner', async () => {
    const { train, validation } = data();
    const result = await runDartsTournament(
      mixWholeNetworks([blind, seeing]),
      { train, validation },
      settings,
    );
    expect(result.alpha).toHaveLength(2);
    // The winner is the candidate whose alpha is largest...
    expect(result.winner).toBe(result.alpha.indexOf(Math.max(...result.alpha)));
    // ...and that is the network that sees the square, by a clear margin.
    expect(result.winner).toBe(1);
    expect(result.weights[1]).toBeGreaterThan(0.6);
    expect(result.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('keeps alpha near uniform in a tournament of identical cells', async () => {
    const space = new CellSpace({ channels: 4, cellsPerStage: 1 });
    const cell = space.parse(
      '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|',
    );
    const mixture = compileMixture(space, [cell, cell, cell], {
      input: { channels: 1, height: 12, width: 12 },
      classes: 4,
    });
    const { train, validation } = data();
    const result = await runDartsTournament(
      mixture,
      { train, validation },
      { ...settings, steps: 40 },
    );
    expect(result.alpha).toHaveLength(3);
    // The copies differ only in their initial weights: alpha stays within a few hundredths of
    // uniform, where a real difference (the test above) moves it by a factor of 5.
    for (const weight of result.weights) expect(Math.abs(weight - 1 / 3)).toBeLessThan(0.08);
    expect(Math.max(...result.weights) / Math.min(...result.weights)).toBeLessThan(1.5);
    // It did train: the mixture learned the task.
    expect(result.validationAccuracy ?? 0).toBeGreaterThan(0.5);
  });
});

describe('a scheduled DARTS tournament in a generational strategy', () => {
  const objectives = [{ metric: 'accuracy', direction: 'maximize' as const }];
  let next = 0;
  const tellAll = (strategy: MuPlusLambda<Toy>): Evaluated<Toy>[] => {
    const told = strategy.ask(100).map((p) => evaluate(p, `c${String(next++)}`));
    strategy.tell(told);
    return told;
  };

  it('waits for the winners of its generation, then keeps every winner and drops the losers', () => {
    const options = {
      space: toySpace,
      target,
      objectives,
      seed: 5,
      mu: 4,
      lambda: 6,
      dartsTournament: { every: 2, size: 3 },
    };
    const strategy = new MuPlusLambda(options);
    tellAll(strategy); // generation 0: sampled
    expect(strategy.pendingTournament()).toBeNull();
    tellAll(strategy); // generation 1: no tournament (1 % 2 != 0)
    expect(strategy.pendingTournament()).toBeNull();
    const generation2 = tellAll(strategy);
    const request = strategy.pendingTournament();
    expect(request?.generation).toBe(2);
    expect(request?.groups.map((g) => g.length)).toEqual([3, 3]);
    expect(new Set(request?.groups.flat().map((m) => m.id))).toEqual(
      new Set(generation2.map((m) => m.id)),
    );
    // Nothing is proposed while the tournament waits, and a resume keeps it waiting.
    expect(strategy.ask(10)).toEqual([]);
    const restored = MuPlusLambda.restore(strategy.snapshot(), options);
    expect(restored.pendingTournament()?.groups.map((g) => g.map((m) => m.id))).toEqual(
      request?.groups.map((g) => g.map((m) => m.id)),
    );
    // The worst candidate of each group wins: the tournament, not accuracy, decides.
    const winners = (request?.groups ?? []).map(
      (group) => [...group].sort((a, b) => accuracyOf(a) - accuracyOf(b))[0] as Evaluated<Toy>,
    );
    expect(() => strategy.resolveTournament(['nobody', 'c0'])).toThrow(/not in tournament 1/);
    strategy.resolveTournament(winners.map((w) => w.id));
    const parents = strategy.parents().map((p) => p.id);
    for (const winner of winners) expect(parents).toContain(winner.id);
    const winnerIds = winners.map((w) => w.id);
    const losers = generation2.filter((m) => !winnerIds.includes(m.id));
    expect(losers).toHaveLength(4);
    for (const loser of losers) expect(parents).not.toContain(loser.id);
    expect(strategy.ask(100)).toHaveLength(6);
  });

  it('needs a generational strategy in a search configuration', () => {
    expect(() =>
      searchConfigSchema.parse({
        strategy: { name: 'random', dartsTournament: { every: 3, size: 2 } },
        budget: { generations: 1 },
      }),
    ).toThrow(/dartsTournament needs a generational strategy/);
  });

  it('runs in a search: tournaments are held, logged with each alpha, and decide survivors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-darts-'));
    const store = join(dir, 'runs.db');
    const config = searchConfigSchema.parse({
      store,
      seed: 2,
      dataset: { dataDir: fakeFashionMnist(300, 20), subset: 200 },
      space: { name: 'cells', options: { channels: 4, cellsPerStage: 1 } },
      evaluator: 'proxies',
      strategy: {
        name: 'mu+lambda',
        populationSize: 4,
        options: { lambda: 4 },
        dartsTournament: { every: 1, size: 2, steps: 4, batchSize: 16 },
      },
      objectives: [{ metric: 'proxy_naswot', direction: 'maximize' }],
      evaluation: { protocol: 'standard' },
      budget: { generations: 3 },
      pool: { threads: 1 },
    });
    const { runId } = await runSearch({ config });
    const runs = RunStore.open(store);
    try {
      const events = runs.events(runId).filter((e) => e.kind === DARTS_TOURNAMENT_EVENT);
      // Generation 1's 4 offspring are settled by 2 tournaments of 2 (generation 2's would come
      // after the budget's last generation).
      expect(events).toHaveLength(2);
      expect(events[0]?.message).toMatch(
        /^generation 1 tournament 1\/2: \S+ wins; \S+ alpha -?\d\.\d{3} \(weight 0\.\d{3}\), \S+ alpha/,
      );
      const losers = events.flatMap((e) => {
        const winner = /: (\S+) wins/.exec(e.message)?.[1];
        return [...e.message.matchAll(/(\S+) alpha/g)]
          .map((m) => m[1])
          .filter((id) => id !== winner);
      });
      expect(losers).toHaveLength(2);
      // No child of generation 2 descends from a loser.
      const generation2 = runs.candidates(runId).filter((c) => c.generation === 2);
      expect(generation2).toHaveLength(4);
      for (const child of generation2)
        for (const parent of child.parents) expect(losers).not.toContain(parent);
    } finally {
      runs.close();
    }
  });
});
