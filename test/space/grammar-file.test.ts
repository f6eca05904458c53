import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GrammarError,
  GrammarSpace,
  loadGrammarFile,
  parseGrammar,
} from '../../src/space/grammar/index.js';

/** Parses `text` as grammar.yaml and returns the error it throws. */
function loadError(text: string): GrammarError {
  try {
    parseGrammar(text, 'grammar.yaml');
  } catch (error) {
    if (error instanceof GrammarError) return error;
    throw error;
  }
  throw new Error('the grammar loaded, but it is broken');
}

/** A valid grammar around one rule body, to break one thing at a time (rule <body> is line 6). */
const withBody = (body: string): string =>
  `start: <network>
rules:
  <network>:
    - [flatten, <body>]
  <body>:
${body}
`;

describe('grammar files', () => {
  it('loads a grammar: rules, productions, ranges, choices and defaults', () => {
    const grammar = parseGrammar(
      `description: test
start: <net>
rules:
  <net>:
    - [<conv>, maxpool, flatten, <fc>]
  <conv>:
    - conv: { filters: [8, 16], kernel: { choice: [3, 5] }, activation: [relu, none] }
  <fc>:
    - []
    - [{ dense: { units: 32 } }, { dropout: { rate: [0.1, 0.5] } }]
`,
      'g.yaml',
    );
    expect(grammar.start).toBe('<net>');
    expect(grammar.description).toBe('test');
    expect([...grammar.rules.keys()]).toEqual(['<net>', '<conv>', '<fc>']);
    const fc = grammar.rules.get('<fc>');
    expect(fc?.productions.map((p) => p.symbols.length)).toEqual([0, 2]);
    expect(fc?.pos).toEqual({ line: 8, column: 3 });
    const conv = grammar.rules.get('<conv>')?.productions[0]?.symbols[0];
    if (conv?.kind !== 'layer') throw new Error('expected a layer');
    expect(conv.layer.type).toBe('conv');
    // Codons decide parameters in the catalog's order, whatever the order in the file.
    expect([...conv.layer.params.keys()]).toEqual(['filters', 'kernel', 'activation']);
    expect(conv.layer.params.get('filters')).toMatchObject({ kind: 'int', lo: 8, hi: 16 });
    expect(conv.layer.params.get('kernel')).toMatchObject({ kind: 'choice', values: [3, 5] });
    const dropout = grammar.rules.get('<fc>')?.productions[1]?.symbols[1];
    if (dropout?.kind !== 'layer') throw new Error('expected a layer');
    expect(dropout.layer.params.get('rate')).toMatchObject({ kind: 'float', lo: 0.1, hi: 0.5 });
  });

  it('loads the shipped grammars', () => {
    for (const file of ['grammars/mlp.yaml', 'grammars/cnn.yaml']) {
      const grammar = loadGrammarFile(file);
      expect(grammar.file).toBe(file);
      expect(grammar.rules.has(grammar.start)).toBe(true);
    }
    expect(() => loadGrammarFile('grammars/no-such.yaml')).toThrow(
      /cannot read grammar file grammars\/no-such\.yaml: ENOENT/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'nascent-grammar-'));
    writeFileSync(join(dir, 'bad.yaml'), 'start: <a>\nrules:\n  <a>: [[<b>]]\n');
    expect(() => loadGrammarFile(join(dir, 'bad.yaml'))).toThrow(
      `${join(dir, 'bad.yaml')}:3:10: unknown non-terminal <b>`,
    );
  });

  const broken: [string, string, number, number, RegExp][] = [
    [
      'an unknown non-terminal',
      withBody('    - [{ dense: { units: 8 } }, <missing>]'),
      6,
      33,
      /unknown non-terminal <missing> in rule <body>/,
    ],
    [
      'a rule that never terminates',
      withBody('    - [{ dense: { units: 8 } }, <body>]'),
      5,
      3,
      /rule <body> never terminates: every production uses a rule that cannot finish \(<body>\)/,
    ],
    [
      'a range with lo above hi',
      withBody('    - dense: { units: [512, 16] }'),
      6,
      23,
      /dense units: bad range \[512, 16\]: lo must not exceed hi/,
    ],
    [
      'a non-numeric range bound',
      withBody('    - dense: { units: [16, many] }'),
      6,
      28,
      /dense: units takes integers, got "many"/,
    ],
    [
      'a float in an integer range',
      withBody('    - dense: { units: [16.5, 32] }'),
      6,
      23,
      /an integer range takes integers, got \[16.5, 32\]/,
    ],
    [
      'a range out of bounds',
      withBody('    - dropout: { rate: [0.2, 1.0] }'),
      6,
      24,
      /rate 1 is out of range \(0 <= rate < 1\)/,
    ],
    [
      'three numbers written as a range',
      withBody('    - conv: { filters: [8, 16, 32], kernel: 3 }'),
      6,
      24,
      /a range is \[lo, hi\]; for a choice of numbers write \{ choice: \[8, 16, 32\] \}/,
    ],
    [
      'an unknown layer type',
      withBody('    - lstm: { units: 8 }'),
      6,
      7,
      /unknown layer type "lstm" \(layer types: conv, dense/,
    ],
    [
      'an unknown parameter',
      withBody('    - dense: { unit: 8 }'),
      6,
      16,
      /dense has no parameter "unit" \(parameters: units, activation\)/,
    ],
    ['a missing parameter', withBody('    - conv: { filters: 8 }'), 6, 7, /conv needs kernel/],
    [
      'an unknown activation',
      withBody('    - activation: { fn: [relu, softmax] }'),
      6,
      32,
      /fn must be one of relu, sigmoid, .*; got "softmax"/,
    ],
    ['a rule without productions', withBody('    []'), 6, 5, /rule <body> has no productions/],
    [
      'an unreachable rule',
      `${withBody('    - batchnorm')}  <spare>:\n    - flatten\n`,
      7,
      3,
      /rule <spare> is unreachable: no derivation from <network> uses it/,
    ],
    ['a missing start', 'rules:\n  <a>: [[flatten]]\n', 1, 1, /missing start/],
    [
      'a start that is not a rule',
      'start: <net>\nrules:\n  <a>: [[flatten]]\n',
      1,
      8,
      /start <net> is not a rule \(rules: <a>\)/,
    ],
    [
      'an unknown top-level key',
      'start: <a>\nrule:\n  <a>: [[flatten]]\n',
      2,
      1,
      /unknown key "rule" \(a grammar has start, rules, description\)/,
    ],
    [
      'a YAML syntax error',
      'start: <a>\nrules:\n  <a>: [[flatten]\n  <b>: []\n',
      4,
      3,
      /Flow sequence/,
    ],
  ];

  it.each(broken)(
    'refuses %s with the line and the reason',
    (_name, text, line, column, reason) => {
      const error = loadError(text);
      expect(error.pos).toEqual({ line, column });
      expect(error.message.startsWith(`grammar.yaml:${line}:${column}: `)).toBe(true);
      expect(error.reason).toMatch(reason);
    },
  );

  it('refuses a range that the codons cannot cover, naming its line', () => {
    const grammar = parseGrammar(withBody('    - dense: { units: [1, 1000] }'), 'grammar.yaml');
    expect(() => new GrammarSpace(grammar, { codonMax: 255 })).toThrow(
      'grammar.yaml:6:23: dense units has 1000 values, more than the 256 codon values (codonMax 255)',
    );
    expect(() => new GrammarSpace(grammar, { codonMax: 999 })).not.toThrow();
  });
});
