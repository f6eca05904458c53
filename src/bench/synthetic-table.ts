/**
 * Synthetic tables of results, for tests and for timing `nascent bench strategies` where no real
 * tabular benchmark is at hand. They are NOT a substitute for a real benchmark: the accuracies come
 * from a hidden random model over the tokens of the architecture text (an additive term per
 * (position, token), an interaction term per pair of neighbouring tokens, and noise), which says
 * nothing about how real networks train. Seeded: the same texts and seed give the same table.
 */
import { Random } from '../util/random.js';
import { textTokens } from './predictor-strategy.js';

export interface SyntheticRow {
  readonly arch: string;
  readonly val_accuracy: number;
  readonly test_accuracy: number;
  readonly params: number;
  readonly flops: number;
  readonly train_seconds: number;
  /** A noisy proxy score, to exercise extra metric columns. */
  readonly proxy_score: number;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** One row per text, in the given order. */
export function syntheticRows(archs: readonly string[], seed: number): SyntheticRow[] {
  const random = new Random(seed);
  const weights = new Map<string, number>();
  const weight = (key: string, std: number): number => {
    let w = weights.get(key);
    if (w === undefined) {
      w = random.normal(0, std);
      weights.set(key, w);
    }
    return w;
  };
  return archs.map((arch) => {
    const tokens = textTokens(arch);
    let score = 0;
    tokens.forEach((token, position) => {
      score += weight(`${position}:${token}`, 1);
      if (position > 0) score += weight(`${position}:${tokens[position - 1]}:${token}`, 0.5);
    });
    score = score / Math.sqrt(Math.max(1, tokens.length)) + random.normal(0, 0.3);
    const validation = 0.1 + 0.85 / (1 + Math.exp(-2 * score));
    const test = Math.min(1, Math.max(0, validation + 0.02 + random.normal(0, 0.006)));
    const params = Math.round(1e5 * Math.exp(random.normal(1, 0.8)));
    return {
      arch,
      val_accuracy: round(validation, 6),
      test_accuracy: round(test, 6),
      params,
      flops: params * 120,
      train_seconds: round(params / 2000, 2),
      proxy_score: round(score + random.normal(0, 1), 4),
    };
  });
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows as a table CSV file (the format `loadResultTable` reads). */
export function rowsCsv(rows: readonly SyntheticRow[]): string {
  const columns = [
    'arch',
    'val_accuracy',
    'test_accuracy',
    'params',
    'flops',
    'train_seconds',
    'proxy_score',
  ] as const;
  const lines = [columns.join(',')];
  for (const row of rows) {
    lines.push(columns.map((c) => (c === 'arch' ? csvField(row.arch) : String(row[c]))).join(','));
  }
  return `${lines.join('\n')}\n`;
}
