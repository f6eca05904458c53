import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GrammarSpace, loadGrammarFile, parseGrammar } from '../../src/space/grammar/index.js';
import { GrammarError } from '../../src/space/grammar/grammar.js';
import { convertOriginalGrammar } from '../../src/space/grammar/original-format.js';
import { Random } from '../../src/util/random.js';

const dir = mkdtempSync(join(tmpdir(), 'nascent-grammar-original-'));
const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };

/** A grammar as the original grammatical-evolution NAS project writes it. */
const ORIGINAL = `enter_expr: <expr>
grammar:
  <expr>:
    - "<fc>$<bn>$<act>$<expr>$"
    - "<fc>$<do>$<act>$"
    - "<fc>$<act>$"
  <fc>:
    - "layer,fc,in_features:784,num_features:int_rnd_10-200$"
    - "layer,fc,num_features:64$"
  <bn>:
    - "layer,bn,num_features:int_rnd_10-200$"
    - "layer,empty$"
  <do>:
    - "layer,do,p:float_rnd_0-1$"
  <act>:
    - "layer,relu,empty$"
    - "layer,sigmoid,empty$"
    - "layer,tanh,empty$"
number_mapping:
  int_rnd_10-200: [10, 200]
  float_rnd_0-1: [0, 1]
`;

function grammarError(text: string): GrammarError {
  try {
    parseGrammar(text, 'orig.yaml');
  } catch (error) {
    if (error instanceof GrammarError) return error;
    throw error;
  }
  throw new Error('expected a GrammarError');
}

describe('the original grammatical-evolution grammar format', () => {
  it('decodes to the same network as its converted Nascent form, for 100 random genomes', () => {
    const originalFile = join(dir, 'original.yaml');
    writeFileSync(originalFile, ORIGINAL);
    const converted = convertOriginalGrammar(ORIGINAL, originalFile);
    const convertedFile = join(dir, 'converted.yaml');
    writeFileSync(convertedFile, converted.text);
    expect(readFileSync(convertedFile, 'utf8')).toContain('start: "<network>"');
    const fromOriginal = new GrammarSpace(loadGrammarFile(originalFile));
    const fromConverted = new GrammarSpace(loadGrammarFile(convertedFile));
    const random = new Random(23);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i += 1) {
      const codons = Array.from({ length: 40 }, () => random.int(0, 65535));
      const a = fromOriginal.compile({ codons }, target);
      const b = fromConverted.compile({ codons }, target);
      expect(JSON.stringify(a)).toEqual(JSON.stringify(b));
      const text = fromOriginal.format({ codons });
      expect(text).toBe(fromConverted.format({ codons }));
      seen.add(fromOriginal.map({ codons }).valid ? JSON.stringify(a.nodes) : 'invalid');
    }
    // the genomes reach many different networks: codons decide the numbers and the choices
    expect(seen.size).toBeGreaterThan(50);
  });

  it('codons decide the numeric placeholders within number_mapping; inferred counts are noted', () => {
    const grammar = parseGrammar(ORIGINAL, 'orig.yaml');
    expect(grammar.notes).toEqual([
      'orig.yaml:8: fc in_features:784 is not used: Nascent infers it from the shape of the layer before',
      'orig.yaml:11: bn num_features:int_rnd_10-200 is not used: Nascent infers it from the shape of the layer before',
      'orig.yaml:14: do p float_rnd_0-1 reaches 1; capped at 0.99 (a rate of 1 drops every unit)',
    ]);
    const space = new GrammarSpace(grammar);
    const random = new Random(3);
    for (let i = 0; i < 50; i += 1) {
      const codons = Array.from({ length: 40 }, () => random.int(0, 65535));
      const mapping = space.map({ codons });
      if (!mapping.valid) continue;
      expect(mapping.layers[0]?.type).toBe('flatten');
      for (const layer of mapping.layers) {
        if (layer.type === 'dense')
          expect(layer.units === 64 || (layer.units >= 10 && layer.units <= 200)).toBe(true);
        if (layer.type === 'dropout') expect(layer.rate).toBeLessThan(1);
      }
      // the same codons give the same network
      expect(space.format({ codons })).toBe(space.format({ codons: [...codons] }));
    }
  });

  it('refuses a broken file with its line and the reason', () => {
    const unknownKind = ORIGINAL.replace('layer,relu,empty$', 'layer,conv,empty$');
    expect(grammarError(unknownKind).message).toMatch(
      /^orig\.yaml:16:\d+: unknown layer kind "conv"/,
    );
    const noMapping = ORIGINAL.replace('  float_rnd_0-1: [0, 1]\n', '');
    expect(grammarError(noMapping).message).toMatch(
      /^orig\.yaml:14:\d+: do p: "float_rnd_0-1" is neither a number nor a placeholder of number_mapping/,
    );
    const unknownRule = ORIGINAL.replace('"<fc>$<act>$"', '"<fc>$<activation>$"');
    expect(grammarError(unknownRule).message).toMatch(
      /^orig\.yaml:6:\d+: unknown non-terminal <activation>/,
    );
    const extraKey = `${ORIGINAL}rules: {}\n`;
    expect(grammarError(extraKey).message).toMatch(/^orig\.yaml:22:1: unknown key "rules"/);
    // an unreachable non-terminal is found by Nascent's checks and told at the original line
    const unreachable = `${ORIGINAL.replace('number_mapping:', '  <unused>:\n    - "layer,tanh,empty$"\nnumber_mapping:')}`;
    expect(grammarError(unreachable).message).toMatch(
      /^orig\.yaml:19:\d+: rule <unused> is unreachable/,
    );
  });
});
