import { describe, expect, it } from 'vitest';
import {
  GenomeError,
  compileGenome,
  formatGenome,
  genomeToArchitecture,
  parseGenome,
} from '../../src/space/genome.js';
import { analyzeArchitecture, formatShape } from '../../src/space/ir.js';

const fashion = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };

describe('genome strings', () => {
  it('parses the README example and formats it back unchanged', () => {
    const text = 'NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;';
    const genome = parseGenome(text);
    expect(genome.convs).toEqual([
      { kind: 'NC', filters: 10, kernel: 2, activation: 'sigmoid' },
      { kind: 'RC', filters: 10, kernel: 3, activation: 'relu' },
      { kind: 'RC', filters: 10, kernel: 3, activation: 'relu' },
    ]);
    expect(genome.finalActivation).toBe('relu');
    expect(formatGenome(genome)).toBe(text);
  });

  it('accepts free whitespace and a missing final semicolon, and canonicalises', () => {
    const genome = parseGenome('  RC 4 1 tanh ;  NC  8 7 gelu;RC 2 2 leaky_relu;FL   swish ');
    expect(formatGenome(genome)).toBe('RC 4 1 tanh;NC 8 7 gelu;RC 2 2 leaky_relu;FL swish;');
    expect(formatGenome(parseGenome(formatGenome(genome)))).toBe(formatGenome(genome));
  });

  it.each([
    [
      'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;',
      /3 RC parts; exactly 2 are required/,
    ],
    ['NC 8 3 relu;RC 8 3 relu;FL relu;', /1 RC part; exactly 2 are required/],
    [
      'NC 8 8 relu;RC 8 3 relu;RC 8 3 relu;FL relu;',
      /part 1 "NC 8 8 relu": kernel 8 is out of range \(1\.\.7\)/,
    ],
    [
      'NC 0 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;',
      /part 1 "NC 0 3 relu": filters 0 is out of range/,
    ],
    ['NC 8 3 softmax;RC 8 3 relu;RC 8 3 relu;FL relu;', /part 1 .*unknown activation "softmax"/],
    ['NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;', /missing FL part/],
    [
      'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;NC 8 3 relu;',
      /part 5 "NC 8 3 relu": text after the FL part/,
    ],
    [
      'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu; extra',
      /part 5 "extra": text after the FL part/,
    ],
    ['NC 8 3;RC 8 3 relu;RC 8 3 relu;FL relu;', /part 1 "NC 8 3": NC takes 3 values/],
    ['NC 8.5 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;', /filters "8.5" is not a whole number/],
    ['XC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL relu;', /unknown part type "XC"/],
    ['NC 8 3 relu;;RC 8 3 relu;RC 8 3 relu;FL relu;', /part 2 "": empty part/],
    ['', /empty genome/],
  ])('rejects %j', (text, message) => {
    expect(() => parseGenome(text)).toThrow(GenomeError);
    expect(() => parseGenome(text)).toThrow(message);
  });

  it('compiles NC to stride 1 same padding and RC to stride 2 valid padding', () => {
    const arch = genomeToArchitecture(
      'NC 6 4 relu;RC 8 5 relu;NC 3 2 tanh;RC 7 3 elu;FL sigmoid;',
      fashion,
    );
    const summary = analyzeArchitecture(arch);
    const shapes = Object.fromEntries(
      summary.layers.map((l) => [l.id, formatShape(l.outputShape)]),
    );
    // RC: floor((in - k) / 2) + 1
    expect(shapes).toMatchObject({
      conv1: '6x28x28',
      conv2: `8x${Math.floor((28 - 5) / 2) + 1}x12`,
      conv3: '3x12x12',
      conv4: '7x5x5',
      gap: '7',
      dense1: '64',
      dense2: '10',
    });
    // even kernel with same padding: the extra row/column goes to the bottom/right (Keras)
    expect(summary.layers.find((l) => l.id === 'conv1')?.pads).toEqual({
      top: 1,
      bottom: 2,
      left: 1,
      right: 2,
    });
    expect(
      arch.nodes.filter((n) => n.op === 'activation').map((n) => n.op === 'activation' && n.fn),
    ).toEqual(['relu', 'relu', 'tanh', 'elu', 'sigmoid', 'sigmoid']);
  });

  it('counts the parameters the issue states', () => {
    const count = (text: string): number =>
      analyzeArchitecture(genomeToArchitecture(text, fashion)).params;
    expect(count('NC 32 5 relu;RC 32 5 relu;RC 64 6 relu;NC 64 5 relu;NC 16 4 relu;FL relu;')).toBe(
      220858,
    );
    expect(count('NC 32 3 relu;RC 32 3 relu;NC 64 3 relu;RC 64 3 relu;FL gelu;')).toBe(69802);
    // by hand: conv 1*4*10+10, two RC 10*9*10+10, dense 10*64+64, 64*10+10
    expect(count('NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;')).toBe(
      50 + 2 * 910 + 704 + 650,
    );
  });

  it('names the part that does not fit the input', () => {
    expect(() =>
      genomeToArchitecture('RC 8 7 relu;RC 8 7 relu;RC 8 7 relu;FL relu;', fashion),
    ).toThrow(/exactly 2/);
    expect(() =>
      genomeToArchitecture('RC 8 7 relu;RC 8 7 relu;FL relu;', {
        ...fashion,
        input: { channels: 1, height: 12, width: 12 },
      }),
    ).toThrow(
      /"RC 8 7 relu" cannot be built for a 1x12x12 input: .*kernel 7 does not fit its 3x3 input/,
    );
  });

  it('uses given conv ids so layers keep their identity', () => {
    const arch = compileGenome(parseGenome('NC 4 3 relu;RC 4 3 relu;RC 4 3 relu;FL relu;'), {
      ...fashion,
      convIds: ['g7', 'g2', 'g9'],
    });
    expect(arch.nodes.filter((n) => n.op === 'conv2d').map((n) => n.id)).toEqual([
      'g7',
      'g2',
      'g9',
    ]);
  });
});
