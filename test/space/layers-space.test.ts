import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import { inheritWeights } from '../../src/evaluate/evaluator.js';
import { type Architecture, type IrNode, analyzeArchitecture } from '../../src/space/ir.js';
import {
  LAYER_SPACE_NAME,
  type LayerGenome,
  LayerListSpace,
  fitSkip,
  formatLayersOneLine,
  layerSpaceOptionsSchema,
  parseLayers,
  repair,
} from '../../src/space/layers/index.js';
import type { CompileTarget } from '../../src/space/space.js';
import { Random } from '../../src/util/random.js';
import { syntheticImages } from '../helpers.js';

const mnist: CompileTarget = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
const cifar: CompileTarget = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };
const space = new LayerListSpace();

/** The architecture with node ids replaced by their order of appearance. */
function withoutIds(arch: Architecture): Architecture {
  const rename = new Map(arch.nodes.map((node, index) => [node.id, `n${index}`]));
  const id = (value: string): string => rename.get(value) ?? `missing ${value}`;
  return {
    ...arch,
    output: id(arch.output),
    nodes: arch.nodes.map(
      (node) => ({ ...node, id: id(node.id), inputs: node.inputs.map(id) }) as IrNode,
    ),
  };
}

/** Builds the genome in libtorch and checks the parameter count against the IR's. */
function expectBuilds(genome: LayerGenome, target: CompileTarget): Architecture {
  const arch = space.compile(genome, target);
  const summary = analyzeArchitecture(arch);
  expect(Network.build(arch).parameterCount()).toBe(summary.params);
  expect(space.fits(genome, target)).toBe(true);
  expect(summary.params).toBeLessThanOrEqual(space.options.maxParams);
  expect(summary.flops).toBeLessThanOrEqual(space.options.maxFlops);
  return arch;
}

function expectRoundTrips(genome: LayerGenome, target: CompileTarget): void {
  const text = space.format(genome);
  const parsed = space.parse(text);
  expect(space.format(parsed)).toBe(text);
  expect(space.format(space.parse(formatLayersOneLine(genome)))).toBe(text);
  expect(withoutIds(space.compile(parsed, target))).toEqual(
    withoutIds(space.compile(genome, target)),
  );
  expect(space.fromJSON(JSON.parse(JSON.stringify(space.toJSON(genome))))).toEqual(genome);
}

describe('layer-list space: sampled and varied candidates', () => {
  it('samples 1,000 candidates that build in libtorch with the IR parameter count', () => {
    const random = new Random(2024);
    const kinds = new Set<string>();
    let skips = 0;
    for (let i = 0; i < 1000; i += 1) {
      const genome = space.sample(random, mnist);
      expectBuilds(genome, mnist);
      expectRoundTrips(genome, mnist);
      expect(repair(genome, mnist).changes).toEqual([]);
      expect(genome.layers.length).toBeGreaterThanOrEqual(space.options.minLayers);
      expect(genome.layers.length).toBeLessThanOrEqual(space.options.maxLayers);
      expect(genome.skips.length).toBeLessThanOrEqual(space.options.maxSkips);
      for (const gene of genome.layers) kinds.add(gene.kind);
      skips += genome.skips.length;
    }
    expect([...kinds].sort()).toEqual(
      ['avgpool', 'batchnorm', 'conv', 'dense', 'dropout', 'maxpool'].sort(),
    );
    expect(skips).toBeGreaterThan(300);
  });

  it('mutates and crosses over into candidates that build', () => {
    const random = new Random(99);
    const population = Array.from({ length: 30 }, () => space.sample(random, mnist));
    for (let i = 0; i < 300; i += 1) {
      const a = random.choice(population);
      const b = random.choice(population);
      const child = space.mutate(a, random, mnist);
      expect(space.format(child)).not.toBe(space.format(a));
      // A crossover every other round: 300 mutants and 300 crossover children in all.
      const children = i % 2 === 0 ? space.crossover(a, b, random, mnist) : [];
      for (const genome of [child, ...children]) {
        expectBuilds(genome, mnist);
        expectRoundTrips(genome, mnist);
        expect(new Set(genome.layers.map((g) => g.id)).size).toBe(genome.layers.length);
      }
      population[random.int(0, population.length - 1)] = children[0] ?? child;
    }
  });

  it('samples, mutates and crosses over for a 32x32x3 input', () => {
    const random = new Random(5);
    const population = Array.from({ length: 10 }, () => space.sample(random, cifar));
    for (let i = 0; i < 20; i += 1) {
      const child = space.mutate(random.choice(population), random, cifar);
      const [c1, c2] = space.crossover(
        random.choice(population),
        random.choice(population),
        random,
        cifar,
      );
      for (const genome of [child, c1, c2]) {
        const arch = expectBuilds(genome, cifar);
        expect(analyzeArchitecture(arch).layers[0]?.outputShape).toEqual({
          kind: 'map',
          channels: 3,
          height: 32,
          width: 32,
        });
      }
    }
  });

  it('keeps the node ids of unchanged layers when a mutation changes a parameter', () => {
    const random = new Random(8);
    let checked = 0;
    let inherited = 0;
    for (let round = 0; round < 200 && checked < 10; round += 1) {
      const parent = space.sample(random, mnist);
      const parentArch = space.compile(parent, mnist);
      const parentIds = parent.layers.map((g) => g.id).join(' ');
      const child = space.mutate(parent, random, mnist);
      // A change-parameter mutation: same genes in the same order, one gene's values differ.
      const changed = child.layers.filter(
        (gene, i) => JSON.stringify(gene) !== JSON.stringify(parent.layers[i]),
      );
      const sameSkips = JSON.stringify(child.skips) === JSON.stringify(parent.skips);
      if (child.layers.map((g) => g.id).join(' ') !== parentIds || changed.length !== 1) continue;
      if (!sameSkips) continue;
      const changedAt = child.layers.indexOf(changed[0] as (typeof child.layers)[number]);
      const childArch = space.compile(child, mnist);
      const childNodes = new Map(childArch.nodes.map((node) => [node.id, node]));
      // Every node of the layers before the changed one is identical (same id, same settings).
      for (const gene of parent.layers.slice(0, changedAt)) {
        const own = parentArch.nodes.filter(
          (n) => n.id === gene.id || n.id.startsWith(`${gene.id}_`),
        );
        expect(own.length).toBeGreaterThan(0);
        for (const node of own) expect(childNodes.get(node.id)).toEqual(node);
      }
      // Every layer keeps its node id, the changed one included.
      for (const gene of child.layers) expect(childNodes.has(gene.id)).toBe(true);
      // So the child inherits every trained tensor of the layers before the changed one.
      const parentWeights = Network.build(parentArch, { seed: 1 }).getWeights();
      const childNet = Network.build(childArch, { seed: 2 });
      const childWeights = childNet.getWeights();
      const earlier = parent.layers.slice(0, changedAt).map((g) => g.id);
      const kept = Object.keys(childWeights).filter((name) =>
        earlier.some((id) => name.startsWith(`${id}.`) || name.startsWith(`${id}_`)),
      );
      for (const name of kept)
        expect(parentWeights[name]?.shape).toEqual(childWeights[name]?.shape);
      expect(inheritWeights(childNet, [parentWeights])).toBeGreaterThanOrEqual(kept.length);
      inherited += kept.length;
      checked += 1;
    }
    expect(checked).toBe(10);
    expect(inherited).toBeGreaterThan(0);
  });

  it('hands unchanged layers to crossover children under their parents ids', () => {
    const a = space.parse('conv 8 k3 s1 relu; conv 16 k3 s2 relu; maxpool k2 s2; dense 64 relu');
    const b = space.fromJSON({
      layers: [
        { id: 'gb1', kind: 'conv', filters: 32, kernel: 5, stride: 2, activation: 'tanh' },
        { id: 'gb2', kind: 'batchnorm' },
        { id: 'gb3', kind: 'conv', filters: 32, kernel: 3, stride: 1, activation: 'gelu' },
        { id: 'gb4', kind: 'dense', units: 32, activation: 'elu' },
      ],
      skips: [{ from: 'gb1', to: 'gb3' }],
    });
    const random = new Random(4);
    const seen = new Set<string>();
    for (let i = 0; i < 150; i += 1) {
      for (const child of space.crossover(a, b, random, mnist)) {
        for (const gene of child.layers) {
          const source = [...a.layers, ...b.layers].find((g) => g.id === gene.id);
          expect(source).toEqual(gene);
        }
        seen.add(formatLayersOneLine(child));
      }
    }
    // Both one-point children of cuts (2, 2): a's head with b's tail (and b's skip dropped as it
    // crosses the cut), and b's head with a's tail.
    expect(seen).toContain(
      'conv 8 k3 s1 relu; conv 16 k3 s2 relu; conv 32 k3 s1 gelu; dense 32 elu',
    );
    expect(seen).toContain('conv 32 k5 s2 tanh; batchnorm; maxpool k2 s2; dense 64 relu');
  });
});

describe('layer-list repair', () => {
  const tiny: CompileTarget = { input: { channels: 1, height: 8, width: 8 }, classes: 3 };

  function repaired(
    text: string,
    target: CompileTarget,
  ): { text: string; changes: readonly string[] } {
    const result = repair(parseLayers(text), target);
    const arch = space.compile(result.genome, target);
    expect(Network.build(arch).parameterCount()).toBe(analyzeArchitecture(arch).params);
    expect(repair(result.genome, target).changes).toEqual([]);
    return { text: formatLayersOneLine(result.genome), changes: result.changes };
  }

  it('drops pools that would shrink the map below 1x1, and the skips that end on them', () => {
    const text =
      'conv 8 k3 s2 relu; maxpool k2 s2; maxpool k3 s2; maxpool k2 s2; maxpool k2 s2; dense 16 relu; skip 1 -> 3';
    expect(repaired(text, tiny)).toEqual({
      text: 'conv 8 k3 s2 relu; maxpool k2 s2; maxpool k2 s2; dense 16 relu',
      changes: [
        'dropped maxpool k3 s2 at layer 3: its 3x3 window does not fit the 2x2 map',
        'dropped maxpool k2 s2 at layer 5: the map is already 1x1',
        'dropped skip 1 -> 3: its target, maxpool k3 s2 at layer 3, was dropped',
      ],
    });
    expect(() => space.compile(parseLayers(text), tiny)).toThrow(
      'the layer list cannot be built for a 1x8x8 input: maxpool k3 s2 at layer 3: its 3x3 window does not fit the 2x2 map; maxpool k2 s2 at layer 5: the map is already 1x1; skip 1 -> 3: its target, maxpool k3 s2 at layer 3, cannot be built',
    );
  });

  it('moves dense layers that come before a conv or pool to after the last of them', () => {
    const text =
      'dense 64 relu; conv 8 k3 s1 relu; dense 32 tanh; maxpool k2 s2; dropout 0.5; dense 16 elu';
    expect(repaired(text, tiny)).toEqual({
      text: 'conv 8 k3 s1 relu; maxpool k2 s2; dense 64 relu; dense 32 tanh; dropout 0.5; dense 16 elu',
      changes: [
        'moved dense 64 relu at layer 1 to after layer 4 (maxpool k2 s2): dense layers work on the flattened map, so they come after every conv and pool',
        'moved dense 32 tanh at layer 3 to after layer 4 (maxpool k2 s2): dense layers work on the flattened map, so they come after every conv and pool',
      ],
    });
    expect(() => space.compile(parseLayers(text), tiny)).toThrow(
      /dense 64 relu at layer 1 comes before maxpool k2 s2 at layer 4/,
    );
  });

  it('drops skips that cross the flatten or join flat vectors of other widths', () => {
    const text =
      'conv 8 k3 s1 relu; maxpool k2 s2; dense 32 relu; dense 64 relu; dense 32 relu; skip 1 -> 3; skip 3 -> 4; skip 3 -> 5';
    expect(repaired(text, tiny)).toEqual({
      text: 'conv 8 k3 s1 relu; maxpool k2 s2; dense 32 relu; dense 64 relu; dense 32 relu; skip 3 -> 5',
      changes: [
        'dropped skip 1 -> 3: it would join a 8x8x8 map to a flat vector of 32',
        'dropped skip 3 -> 4: flat vectors of 32 and 64 cannot be added',
      ],
    });
  });

  it('drops skips that a move of dense layers turns backwards', () => {
    const text = 'conv 8 k3 s1 relu; dense 32 relu; conv 8 k3 s1 relu; skip 2 -> 3';
    expect(repaired(text, tiny)).toEqual({
      text: 'conv 8 k3 s1 relu; conv 8 k3 s1 relu; dense 32 relu',
      changes: [
        'moved dense 32 relu at layer 2 to after layer 3 (conv 8 k3 s1 relu): dense layers work on the flattened map, so they come after every conv and pool',
        'dropped skip 2 -> 3: a skip must go forward, from an earlier layer to a later one',
      ],
    });
  });

  it('joins maps of other sizes and channels with a 1x1 projection or a pool', () => {
    const text =
      'conv 8 k3 s1 relu; maxpool k3 s2; conv 16 k3 s1 relu; conv 32 k3 s2 relu; skip 1 -> 2; skip 1 -> 3; skip 3 -> 4';
    const genome = parseLayers(text);
    expect(repair(genome, mnist).changes).toEqual([]);
    const arch = space.compile(genome, mnist);
    const added = arch.nodes.filter((node) => node.id.includes('_from_') || node.op === 'add');
    expect(added).toEqual([
      // 8x28x28 -> 8x13x13 (a 3x3 stride-2 pool): the same channels, so an average pool.
      expect.objectContaining({ id: 'g2_from_g1_pool', op: 'avgpool2d', kernel: 3, stride: 2 }),
      { id: 'g2_add', op: 'add', inputs: ['g2', 'g2_from_g1_pool'] },
      // 8x28x28 -> 16x13x13: no 1x1 stride gives 13 from 28 (ceil), so a pool, then a projection.
      expect.objectContaining({ id: 'g3_from_g1_pool', inputs: ['g1_act'], kernel: 3, stride: 2 }),
      expect.objectContaining({ id: 'g3_from_g1_proj', op: 'conv2d', filters: 16, stride: 1 }),
      { id: 'g3_add', op: 'add', inputs: ['g3_act', 'g3_from_g1_proj'] },
      // 16x13x13 -> 32x7x7: a stride-2 1x1 projection of layer 3's output (its sum).
      expect.objectContaining({
        id: 'g4_from_g3_proj',
        inputs: ['g3_add'],
        op: 'conv2d',
        filters: 32,
        kernel: 1,
        stride: 2,
        bias: false,
      }),
      { id: 'g4_add', op: 'add', inputs: ['g4_act', 'g4_from_g3_proj'] },
    ]);
    const summary = analyzeArchitecture(arch);
    expect(Network.build(arch).parameterCount()).toBe(summary.params);
    const byId = new Map(summary.layers.map((layer) => [layer.id, layer.params]));
    expect(byId.get('g3_from_g1_proj')).toBe(8 * 16);
    expect(byId.get('g4_from_g3_proj')).toBe(16 * 32);
    expect(byId.get('logits')).toBe(32 * 7 * 7 * 10 + 10);
  });

  it('refuses skips between shapes that nothing fits', () => {
    const source = { kind: 'map', channels: 1, height: 9, width: 5 } as const;
    expect(fitSkip(source, { kind: 'map', channels: 1, height: 4, width: 1 })).toEqual({
      ok: false,
      reason: 'no 1x1 projection or pooling turns a 1x9x5 map into a 1x4x1 map',
    });
    expect(fitSkip(source, { kind: 'map', channels: 1, height: 3, width: 2 })).toEqual({
      ok: true,
      plan: { conv: { filters: 1, stride: 3 } },
    });
  });

  it('drops skips that name missing layers and refuses repeated ids', () => {
    const conv = {
      id: 'g1',
      kind: 'conv',
      filters: 4,
      kernel: 3,
      stride: 1,
      activation: 'relu',
    } as const;
    const genome: LayerGenome = {
      layers: [conv, { id: 'g2', kind: 'batchnorm' }],
      skips: [{ from: 'g1', to: 'g9' }],
    };
    expect(repair(genome, tiny).changes).toEqual([
      'dropped the skip from "g1" to "g9": layer id "g9" is not in the list',
    ]);
    expect(() => repair({ layers: [conv, conv], skips: [] }, tiny)).toThrow(
      'layer 2 (conv 4 k3 s1 relu) repeats the id "g1" of an earlier layer',
    );
  });
});

describe('layer-list text and JSON forms', () => {
  it('reads one line per layer, ";" as a separator, comments and blank lines', () => {
    const text = [
      '# a small net',
      'conv 32 k3 s1 relu',
      '',
      'maxpool k2 s2   # halve',
      'skip 1 -> 3',
      'batchnorm',
      'dropout 0.25',
      'avgpool k3 s2',
      'dense 128 gelu',
    ].join('\n');
    const genome = space.parse(text);
    expect(space.format(genome)).toBe(
      'conv 32 k3 s1 relu\nmaxpool k2 s2\nbatchnorm\ndropout 0.25\navgpool k3 s2\ndense 128 gelu\nskip 1 -> 3',
    );
    expect(space.parse(formatLayersOneLine(genome))).toEqual(genome);
    expect(genome.skips).toEqual([{ from: 'g1', to: 'g3' }]);
  });

  it.each([
    [
      'conv 32 k3 s1 relu\nconv 32 3 s1 relu',
      'line 2 "conv 32 3 s1 relu": kernel "3" must be written k<kernel>, e.g. k3',
    ],
    [
      'conv 32 k3 relu',
      'line 1 "conv 32 k3 relu": conv takes 4 or 5 values, "<filters> k<kernel> s<stride> [bn] <activation>", got 3',
    ],
    [
      'conv 32 k3 s1 bm relu',
      'line 1 "conv 32 k3 s1 bm relu": expected "bn" (batch norm) or the activation after the stride, got "bm"',
    ],
    [
      'conv 8 k3 s1 relu; pool k2 s2',
      'line 2 "pool k2 s2": unknown layer "pool" (expected conv, maxpool, avgpool, batchnorm, dropout, dense or skip)',
    ],
    ['dense 0 relu', 'line 1 "dense 0 relu": units 0 is out of range (1..16384)'],
    ['dense 64 relux', 'line 1 "dense 64 relux": unknown activation "relux"'],
    ['conv 8 k3 s9 relu', 'line 1 "conv 8 k3 s9 relu": stride 9 is out of range (1..4)'],
    [
      'dropout 1.5',
      'line 1 "dropout 1.5": dropout rate "1.5" must be a number above 0 and below 1',
    ],
    ['batchnorm 2', 'line 1 "batchnorm 2": batchnorm takes no values, got 1'],
    [
      'conv 8 k3 s1 relu;; skip 1 -> 3',
      'line 3 "skip 1 -> 3": layer 3 does not exist (the list has 1 layer)',
    ],
    [
      'conv 8 k3 s1 relu; conv 8 k3 s1 relu; skip 2 -> 1',
      'line 3 "skip 2 -> 1": a skip goes forward',
    ],
    [
      'conv 8 k3 s1 relu; conv 8 k3 s1 relu; skip 1 -> 2; skip 1 -> 2',
      'line 4 "skip 1 -> 2": skip 1 -> 2 is given twice',
    ],
    [
      'conv 8 k3 s1 relu; skip 1 to 2',
      'line 2 "skip 1 to 2": write a skip as "skip <from> -> <to>"',
    ],
    [' # nothing\n ;', 'empty layer list'],
  ])('refuses %j naming the line', (text, message) => {
    expect(() => space.parse(text)).toThrow(message);
  });

  it('validates JSON with messages that name the field', () => {
    const conv = { id: 'g1', kind: 'conv', filters: 8, kernel: 3, stride: 1, activation: 'relu' };
    expect(() => space.fromJSON({ layers: [{ ...conv, filters: 0 }], skips: [] })).toThrow(
      /layers\.0\.filters/,
    );
    expect(() => space.fromJSON({ layers: [conv, conv], skips: [] })).toThrow(
      'layers.1.id: repeats the id "g1" of an earlier layer',
    );
    expect(() => space.fromJSON({ layers: [conv], skips: [{ from: 'g1', to: 'g2' }] })).toThrow(
      'skips.0: names a layer id that is not in the list ("g2")',
    );
    expect(() => space.fromJSON({ layers: [{ ...conv, id: 'conv1' }], skips: [] })).toThrow(
      /layers\.0\.id: gene ids are "g" followed by/,
    );
  });
});

describe('layer-list convolutions with batch norm', () => {
  it('compiles "bn" to conv without bias, batch norm, activation, and round-trips it', () => {
    const genome = space.parse('conv 16 k3 s1 bn relu; conv 8 k1 s2 gelu; skip 1 -> 2');
    expect(genome.layers[0]).toEqual({
      id: 'g1',
      kind: 'conv',
      filters: 16,
      kernel: 3,
      stride: 1,
      norm: true,
      activation: 'relu',
    });
    expect(genome.layers[1]).not.toHaveProperty('norm');
    expect(space.format(genome)).toBe('conv 16 k3 s1 bn relu\nconv 8 k1 s2 gelu\nskip 1 -> 2');
    expectRoundTrips(genome, mnist);
    const arch = expectBuilds(genome, mnist);
    const node = (id: string): IrNode | undefined => arch.nodes.find((n) => n.id === id);
    expect(node('g1')).toMatchObject({ op: 'conv2d', bias: false });
    expect(node('g1_bn')).toMatchObject({ op: 'batchnorm', inputs: ['g1'] });
    expect(node('g1_act')).toMatchObject({ op: 'activation', inputs: ['g1_bn'], fn: 'relu' });
    expect(node('g2')).toMatchObject({ op: 'conv2d', bias: true, inputs: ['g1_act'] });
    expect(node('g2_bn')).toBeUndefined();
    // By hand: conv 1->16 k3 without bias, batch norm (scale and shift) on 16, conv 16->8 k1 with
    // bias, the 1x1 projection 16->8 of the skip (no bias), logits 8*14*14 -> 10 with bias.
    const params = 9 * 16 + 2 * 16 + (16 * 8 + 8) + 16 * 8 + (8 * 14 * 14 * 10 + 10);
    expect(analyzeArchitecture(arch).params).toBe(params);
    expect(Network.build(arch).parameterCount()).toBe(params);
    expect(() =>
      space.fromJSON({ layers: [{ ...genome.layers[0], norm: false }], skips: [] }),
    ).toThrow('layers.0.norm: norm is true or left out');
  });

  it('leaves batch norm out by default, puts it in every conv with [true], and searches it with both', () => {
    const convs = (s: LayerListSpace, seed: number): LayerGenome[] => {
      const random = new Random(seed);
      return Array.from({ length: 40 }, () => s.sample(random, cifar));
    };
    const norms = (genomes: LayerGenome[]): boolean[] =>
      genomes.flatMap((g) => g.layers.flatMap((l) => (l.kind === 'conv' ? [l.norm === true] : [])));
    expect(new Set(norms(convs(space, 1)))).toEqual(new Set([false]));
    const always = new LayerListSpace({ convNorms: [true] });
    expect(new Set(norms(convs(always, 1)))).toEqual(new Set([true]));
    // A list that names one form twice still allows only that form, in samples and mutations.
    const twice = new LayerListSpace({ convNorms: [true, true] });
    const twiceRandom = new Random(2);
    const mutants = convs(twice, 1).map((g) => twice.mutate(g, twiceRandom, cifar));
    expect(new Set(norms([...convs(twice, 1), ...mutants]))).toEqual(new Set([true]));
    const either = new LayerListSpace({ convNorms: [false, true] });
    const sampled = convs(either, 1);
    expect(new Set(norms(sampled))).toEqual(new Set([false, true]));
    // A mutation may toggle one conv's batch norm and leave the rest of the list alone.
    const random = new Random(4);
    let toggled = 0;
    for (let i = 0; i < 300 && toggled === 0; i += 1) {
      const parent = random.choice(sampled);
      const child = either.mutate(parent, random, cifar);
      const plain = (g: LayerGenome): string => either.format(g).replace(/ bn /g, ' ');
      if (plain(child) === plain(parent) && either.format(child) !== either.format(parent)) {
        toggled += 1;
        expectBuilds(child, cifar);
      }
    }
    expect(toggled).toBe(1);
  });
});

describe('layer-list options', () => {
  it('fills defaults and refuses bad options by name', () => {
    expect(LAYER_SPACE_NAME).toBe('layers');
    expect(space.name).toBe('layers');
    const defaults = layerSpaceOptionsSchema.parse({});
    expect(defaults.maxParams).toBe(1_500_000);
    expect(new LayerListSpace({ filters: [4] }).options.filters).toEqual([4]);
    expect(() => new LayerListSpace({ minLayers: 5, maxLayers: 2 })).toThrow(
      /minLayers must not exceed maxLayers/,
    );
    expect(() => new LayerListSpace({ kernels: [13] })).toThrow(/kernels\.0/);
    expect(() => new LayerListSpace({ filter: [8] } as never)).toThrow(/filter/);
  });

  it('keeps to restricted options and explains when nothing fits', () => {
    const convs = new LayerListSpace({
      layerTypes: ['conv'],
      filters: [4],
      maxSkips: 0,
      maxLayers: 3,
    });
    const random = new Random(1);
    for (let i = 0; i < 20; i += 1) {
      const genome = convs.mutate(convs.sample(random, mnist), random, mnist);
      expect(genome.layers.every((g) => g.kind === 'conv' && g.filters === 4)).toBe(true);
      expect(genome.skips).toEqual([]);
    }
    const tight = new LayerListSpace({ maxParams: 10 });
    expect(() => tight.sample(random, mnist)).toThrow(
      /found no network for a 1x28x28 input within 10 parameters/,
    );
  });
});

describe('layer-list training', () => {
  it('trains a sampled network for a few steps with a finite loss', async () => {
    const target: CompileTarget = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
    const genome = space.sample(new Random(3), target);
    const network = Network.build(space.compile(genome, target), { seed: 1 });
    const data = TensorData.fromImages(syntheticImages(64, { size: 12, classes: 4 }));
    try {
      const result = await network.train(data, null, {
        epochs: 2,
        batchSize: 16,
        optimizer: 'adamw',
        lr: 0.003,
        weightDecay: 0,
        schedule: 'constant',
        seed: 1,
        threads: 1,
      });
      expect(result.steps).toBe(8);
      for (const epoch of result.epochs) expect(Number.isFinite(epoch.trainLoss)).toBe(true);
    } finally {
      data.release();
    }
  });
});
