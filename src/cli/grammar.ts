/**
 * `nascent grammar convert FILE [--out FILE]`: a grammar in the original grammatical-evolution
 * format (enter_expr, grammar, number_mapping) written in Nascent's format (docs/grammars.md).
 * The converted text is checked as Nascent reads it before it is written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isOriginalGrammarText, parseGrammar } from '../space/grammar/grammar-file.js';
import { convertOriginalGrammar } from '../space/grammar/original-format.js';

export interface GrammarConvertOptions {
  readonly out?: string;
}

/** Converts `file`; returns the text to print (the grammar, or where it was written). */
export function grammarConvertCommand(
  file: string,
  options: GrammarConvertOptions = {},
  warn: (message: string) => void = (message) => process.stderr.write(`${message}\n`),
): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read grammar file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  if (!isOriginalGrammarText(text)) {
    parseGrammar(text, file);
    throw new Error(`${file} is already in Nascent's format (start, rules): nothing to convert`);
  }
  const converted = convertOriginalGrammar(text, file);
  // the converted grammar must read back: any error is told at the original line
  parseGrammar(text, file);
  for (const note of converted.notes) warn(`note: ${note}`);
  if (options.out === undefined) return converted.text.trimEnd();
  writeFileSync(options.out, converted.text);
  return `wrote ${options.out} (Nascent's grammar format; use it with --space grammar:${options.out})`;
}
