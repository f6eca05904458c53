import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import {
  type GrammarGenome,
  GrammarSpace,
  loadGrammarFile,
  mapGenome,
  parseGrammar,
} from '../../src/space/grammar/index.js';
import { type Architecture, analyzeArchitecture } from '../../src/space/ir.js';
import { Random } from '../../src/util/random.js';
import { syntheticImages } from '../helpers.js';

const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
const limits = { maxWraps: 0, maxLayers: 100, maxDepth: 100 };

/** libtorch must count exactly the parameters the IR counts. */
function expectBuilds(architecture: Architecture): void {
  const params = analyzeArchitecture(architecture).params;
  expect(Network.build(architecture).parameterCount()).toBe(params);
}

describe.each(['grammars/mlp.yaml', 'grammars/cnn.yaml'])('the shipped grammar %s', (file) => {
  // libtorch's weight initialisation dominates the time: the cap keeps the file fast.
  const space = new GrammarSpace(loadGrammarFile(file), { maxParams: 100_000 });

  it('maps every random genome (the grammar always finishes and never misplaces a layer)', () => {
    const uncapped = new GrammarSpace(space.grammar);
    const random = new Random(5);
    for (let i = 0; i < 1000; i += 1) {
      const codons = Array.from({ length: 64 }, () => random.int(0, 65535));
      const mapping = uncapped.map({ codons });
      expect(mapping.valid, mapping.valid ? '' : mapping.reason).toBe(true);
      expect(mapping.effectiveLength).toBe(mapping.used);
      expect(() => uncapped.compile({ codons }, target)).not.toThrow();
    }
  });

  it('1,000 sampled genomes build in libtorch with the IR parameter count, deterministically, and round-trip', () => {
    const random = new Random(1);
    const networks = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      const genome = space.sample(random, target);
      const architecture = space.compile(genome, target);
      expectBuilds(architecture);
      expect(analyzeArchitecture(architecture).params).toBeLessThanOrEqual(100_000);
      // The same codons map to the same network, also through a copy of the genome.
      const json = JSON.stringify(architecture);
      expect(JSON.stringify(space.compile({ codons: [...genome.codons] }, target))).toBe(json);
      const text = space.format(genome);
      networks.add(text);
      // Text form: the network; parsing it finds codons that map to the same network.
      const parsed = space.parse(text);
      expect(space.format(parsed)).toBe(text);
      expect(JSON.stringify(space.compile(parsed, target))).toBe(json);
      // Codon form and JSON keep the codons themselves.
      const codonText = `ge:${genome.codons.join(',')}`;
      expect(space.parse(codonText)).toEqual(genome);
      expect(space.fromJSON(JSON.parse(JSON.stringify(space.toJSON(genome))))).toEqual(genome);
    }
    expect(networks.size).toBeGreaterThan(900);
  });

  it('mutation and crossover give genomes that map and build', () => {
    const random = new Random(2);
    const population = Array.from({ length: 30 }, () => space.sample(random, target));
    for (let i = 0; i < 100; i += 1) {
      const a = random.choice(population);
      const b = random.choice(population);
      const child = space.mutate(a, random, target);
      const [c1, c2] = space.crossover(a, b, random, target);
      expect(space.format(child)).not.toBe(space.format(a));
      for (const genome of [child, c1, c2]) {
        expect(space.problem(genome, target)).toBeNull();
        expectBuilds(space.compile(genome, target));
        expect(genome.codons.length).toBeLessThanOrEqual(space.options.maxGenomeLength);
      }
      population[random.int(0, population.length - 1)] = random.bool() ? child : c1;
    }
  });
});

describe('grammatical-evolution mapping', () => {
  const grammar = parseGrammar(
    `start: <net>
rules:
  <net>:
    - [flatten, <layer>]
    - [flatten, <layer>, <layer>]
    - [flatten, <layer>, <layer>, <layer>]
  <layer>:
    - dense: { units: [10, 19], activation: [relu, tanh, none] }
    - dropout: { rate: [0.0, 0.5] }
`,
    'ge.yaml',
  );

  it('reads codons as documented: production, integer, float and choice by codon mod count', () => {
    // <net>: 8 mod 3 = 2 (three layers). <layer>: 4 mod 2 = 0 (dense), units 10 + 23 mod 10 = 13,
    // activation 5 mod 3 = 2 (none); <layer>: 9 mod 2 = 1 (dropout), rate k = 150 mod 101 = 49:
    // 0.5 * 49 / 100 = 0.245; <layer>: 2 mod 2 = 0, units 10 + 101 mod 10 = 11, 1 mod 3 = tanh.
    const codons = [8, 4, 23, 5, 9, 150, 2, 101, 1, 99, 98];
    const mapping = mapGenome(grammar, codons, limits);
    if (!mapping.valid) throw new Error(mapping.reason);
    const space = new GrammarSpace(grammar);
    expect(space.format({ codons })).toBe('flatten; dense 13; dropout 0.245; dense 11 tanh');
    expect(mapping.used).toBe(9);
    expect(mapping.effectiveLength).toBe(9);
    expect(space.effectiveLength({ codons })).toBe(9);
  });

  it('wraps a short genome around, and gives up after maxWraps with the reason', () => {
    // Three dense layers read 1 + 3 * 3 = 10 codons; four codons need two wraps.
    const codons = [2, 0, 13, 2];
    const twice = mapGenome(grammar, codons, { ...limits, maxWraps: 2 });
    if (!twice.valid) throw new Error(twice.reason);
    // Read: <net> 2 (three layers) | dense, units 13, none | (wrap) dense, units 10,
    // 13 mod 3 = tanh | dense, (wrap) units 12, relu.
    expect(new GrammarSpace(grammar).format({ codons })).toBe(
      'flatten; dense 13; dense 10 tanh; dense 12 relu',
    );
    expect(twice.used).toBe(10);
    expect(twice.effectiveLength).toBe(4);
    const once = mapGenome(grammar, codons, { ...limits, maxWraps: 1 });
    expect(once.valid).toBe(false);
    if (once.valid) return;
    expect(once.reason).toBe(
      'the derivation did not finish within 4 codons and 1 wrap (8 codons read, deciding a dense layer)',
    );
    const space = new GrammarSpace(grammar, { maxWraps: 1 });
    expect(() => space.compile({ codons }, target)).toThrow(
      /does not map to a network: the derivation did not finish within 4 codons and 1 wrap/,
    );
    // An invalid genome keeps its codons as its text, and that text parses back.
    expect(space.format({ codons })).toBe('ge:2,0,13,2');
    expect(space.parse('ge:2,0,13,2')).toEqual({ codons });
  });

  it('guards the depth and the number of layers of recursive grammars', () => {
    const recursive = parseGrammar(
      `start: <net>
rules:
  <net>: [[flatten, <layers>]]
  <layers>:
    - [dense: { units: 8 }]
    - [dense: { units: 8 }, <layers>]
`,
    );
    const ones = Array.from({ length: 30 }, () => 1);
    const deep = mapGenome(recursive, ones, { maxWraps: 0, maxLayers: 100, maxDepth: 10 });
    expect(deep.valid ? '' : deep.reason).toBe(
      'the derivation is deeper than maxDepth 10 (at <layers>)',
    );
    const long = mapGenome(recursive, ones, { maxWraps: 0, maxLayers: 5, maxDepth: 100 });
    expect(long.valid ? '' : long.reason).toBe('the network has more than maxLayers 5 layers');
    expect(mapGenome(recursive, [...ones.slice(0, 4), 0], limits).valid).toBe(true);
  });

  it('refuses layers in an order no input allows, and resamples such genomes', () => {
    const misplaced = parseGrammar(
      `start: <net>
rules:
  <net>:
    - [flatten, { dense: { units: 8 } }]
    - [flatten, { conv: { filters: 4, kernel: 3 } }]
    - [{ dense: { units: 8 } }]
`,
    );
    const reason = (codon: number): string => {
      const mapping = mapGenome(misplaced, [codon], limits);
      return mapping.valid ? '' : mapping.reason;
    };
    expect(reason(0)).toBe('');
    expect(reason(1)).toBe(
      'layer 2 (conv 4 k3) needs a feature map, but the network was already flattened',
    );
    expect(reason(2)).toMatch(
      /layer 1 \(dense 8\) needs a flat vector, but the network is still a feature map/,
    );
    const space = new GrammarSpace(misplaced);
    const random = new Random(3);
    for (let i = 0; i < 20; i += 1) {
      expect(space.format(space.sample(random, target))).toBe('flatten; dense 8');
    }
  });

  it('parses network texts through left recursion and empty productions', () => {
    const recursive = parseGrammar(
      `start: <net>
rules:
  <net>: [[<convs>, globalpool, <tail>]]
  <convs>:
    - [<convs>, <conv>]
    - []
  <conv>:
    - conv: { filters: [4, 16], kernel: [1, 5], stride: [1, 2], activation: [relu, none] }
    - maxpool: { kernel: [2, 3] }
  <tail>:
    - []
    - [<tail>, { dropout: { rate: [0.1, 0.3] } }]
`,
    );
    const space = new GrammarSpace(recursive);
    for (const text of [
      'globalpool',
      'conv 4 k1; globalpool',
      'conv 16 k5 s2 relu; maxpool k3 s3; conv 5 k2; globalpool; dropout 0.1; dropout 0.3',
    ]) {
      const genome = space.parse(text);
      expect(space.format(genome)).toBe(text);
    }
    expect(() => space.parse('conv 17 k3; globalpool')).toThrow(
      /"conv 17 k3; globalpool" is not in the grammar grammar: no derivation from <net>/,
    );
    expect(() => space.parse('maxpool k2 s1; globalpool')).toThrow(/is not in the grammar/);
    expect(() => space.parse('globalpool; dropout 0.1501')).toThrow(/is not in the grammar/);
    expect(() => space.parse('conv 4; globalpool')).toThrow(/part 1 "conv 4": conv needs a kernel/);
    expect(() => space.parse('ge:1,x')).toThrow(/codon form is ge: followed by integers/);
    expect(() => space.parse('ge:70000')).toThrow(/codons\.0/);
  });

  it('gives positional node ids, equal for equal prefixes, and a head for the classes', () => {
    const space = new GrammarSpace(loadGrammarFile('grammars/cnn.yaml'));
    const a = space.compile(
      space.parse('conv 16 k3; batchnorm; relu; maxpool k2 s2; flatten; dense 64 relu'),
      target,
    );
    const b = space.compile(
      space.parse('conv 16 k3; batchnorm; relu; maxpool k2 s2; globalpool'),
      target,
    );
    expect(a.nodes.map((n) => n.id)).toEqual([
      'input',
      'l1_conv',
      'l2_batchnorm',
      'l3_activation',
      'l4_maxpool',
      'l5_flatten',
      'l6_dense',
      'l6_dense_act',
      'logits',
    ]);
    expect(b.nodes.slice(0, 5)).toEqual(a.nodes.slice(0, 5));
    expect(b.nodes.at(-1)).toEqual({
      id: 'logits',
      op: 'dense',
      inputs: ['l5_globalpool'],
      units: 10,
      bias: true,
    });
    const mlp = new GrammarSpace(loadGrammarFile('grammars/mlp.yaml'));
    const flatHead = mlp.compile(mlp.parse('flatten; dense 32; relu'), target);
    expect(flatHead.output).toBe('logits');
    expect(analyzeArchitecture(flatHead).params).toBe(784 * 32 + 32 + 32 * 10 + 10);
  });

  it('trains a grammar-decoded MLP for a few steps with a finite loss', async () => {
    const space = new GrammarSpace(loadGrammarFile('grammars/mlp.yaml'));
    const genome: GrammarGenome = space.parse(
      'flatten; dense 64; batchnorm; relu; dropout 0.1; dense 32; tanh',
    );
    const small = { input: { channels: 1, height: 12, width: 12 }, classes: 4 };
    const network = Network.build(space.compile(genome, small), { init: 'glorot', seed: 1 });
    const data = TensorData.fromImages(syntheticImages(128));
    const result = await network.train(data, null, {
      epochs: 2,
      batchSize: 32,
      optimizer: 'adamw',
      lr: 0.01,
      weightDecay: 0,
      schedule: 'constant',
      seed: 1,
      threads: 1,
    });
    expect(result.status).toBe('completed');
    expect(result.steps).toBe(8);
    for (const epoch of result.epochs) expect(Number.isFinite(epoch.trainLoss)).toBe(true);
    expect(result.epochs[1]?.trainLoss).toBeLessThan(result.epochs[0]?.trainLoss ?? 0);
  });
});
