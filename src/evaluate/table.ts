/**
 * Tables of known results (a tabular benchmark such as NAS-Bench-201, or any file of measured
 * architectures): one row per architecture, keyed by the space's canonical text (the arch string
 * of the cell space, the genome string of the genome space), holding its metrics.
 *
 * Two file formats, told apart by the extension (`.json`, `.csv`) or, failing that, by the first
 * character (`[` or `{` is JSON):
 *
 * - CSV: a header row, then one row per architecture. An `arch` column, a validation accuracy
 *   column (`val_accuracy`, or `accuracy`), and optional `test_accuracy`, `params`, `flops`,
 *   `train_seconds` and any further numeric columns (proxy scores, latency, ...), all kept as
 *   metrics. An empty cell is a missing value. Fields may be quoted ("...", "" for a quote).
 * - JSON: an array of objects (`{"arch": "...", "val_accuracy": 0.91, ...}`) or an object keyed
 *   by architecture (`{"...": {"val_accuracy": 0.91, ...}}`), with the same fields as the CSV
 *   columns; `null` is a missing value.
 *
 * Accuracies are fractions in [0, 1] (0.9437, not 94.37); `params`, `flops` and `train_seconds`
 * are non-negative; every other value must be a finite number. Keys are canonicalised through the
 * space (parse, then format), so any spelling the space accepts matches; two rows for the same
 * architecture are refused. Every error names the file, the line (CSV) or entry (JSON), and the
 * column.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import type { SearchSpace } from '../space/space.js';

/** Metric names as the rest of Nascent knows them (`accuracy` is validation accuracy). */
export const TABLE_METRICS = {
  accuracy: 'accuracy',
  testAccuracy: 'test_accuracy',
  params: 'params',
  flops: 'flops',
  trainSeconds: 'train_seconds',
} as const;

/** The column that names the architecture. */
export const ARCH_COLUMN = 'arch';
/** Spellings of the validation accuracy column; stored as `accuracy`. */
const VALIDATION_COLUMNS = ['val_accuracy', 'accuracy'] as const;

/** A table file that cannot be read; the message names the file, line or entry, and column. */
export class TableFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableFileError';
  }
}

/** An architecture the table has no row for. */
export class TableLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableLookupError';
  }
}

/** One architecture's row. */
export interface TableEntry {
  /** The canonical text of the architecture. */
  readonly arch: string;
  /** Where it was read: `line 12` (CSV) or `entry 11` (JSON). */
  readonly where: string;
  /** `accuracy` (validation), and whatever else the row holds. */
  readonly metrics: Readonly<Record<string, number>>;
}

const FRACTION_RULE = 'is not a fraction in [0, 1] (accuracies are fractions: 0.9437, not 94.37)';
const fraction = z.number({ error: 'is not a number' }).min(0, FRACTION_RULE).max(1, FRACTION_RULE);
const nonNegative = z.number({ error: 'is not a number' }).min(0, 'is negative');

/** The metrics of one row, after `val_accuracy` has become `accuracy`. */
const rowMetricsSchema = z
  .object({
    accuracy: fraction,
    test_accuracy: fraction.optional(),
    params: nonNegative.optional(),
    flops: nonNegative.optional(),
    train_seconds: nonNegative.optional(),
  })
  .catchall(z.number({ error: 'is not a number' }));

/** A raw row: the architecture text and its values (undefined for a missing value). */
interface RawRow {
  readonly where: string;
  readonly arch: unknown;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface TableOptions {
  /** Canonicalises keys (parse, then format) and lookups; keys are taken as written without it. */
  readonly space?: SearchSpace<unknown>;
}

/** The rows of a table file, by canonical architecture text. */
export class ResultTable {
  private readonly canonicalCache = new Map<string, string>();

  constructor(
    /** The file it was read from (or a description). */
    readonly source: string,
    /** SHA-256 of the file's bytes, hex: what makes two tables the same. */
    readonly sha256: string,
    private readonly rows: ReadonlyMap<string, TableEntry>,
    /** The space whose canonical texts key the rows (undefined: keys as written). */
    readonly space: SearchSpace<unknown> | undefined,
    /** The metric names that some row holds, `accuracy` first. */
    readonly metricNames: readonly string[],
  ) {}

  get size(): number {
    return this.rows.size;
  }

  entries(): IterableIterator<TableEntry> {
    return this.rows.values();
  }

  /** The row of an architecture written in any spelling the space accepts; undefined if none. */
  get(text: string): TableEntry | undefined {
    const exact = this.rows.get(text);
    if (exact !== undefined || this.space === undefined) return exact;
    let canonical = this.canonicalCache.get(text);
    if (canonical === undefined) {
      try {
        canonical = this.space.format(this.space.parse(text));
      } catch {
        return undefined;
      }
      this.canonicalCache.set(text, canonical);
    }
    return this.rows.get(canonical);
  }

  /** The row of an architecture; throws a {@link TableLookupError} naming it and the table. */
  require(text: string): TableEntry {
    const entry = this.get(text);
    if (entry === undefined) {
      throw new TableLookupError(
        `architecture ${JSON.stringify(text)} is not in the table ${this.source} ` +
          `(${this.size} architectures): the table must hold every architecture the search ` +
          'space can produce',
      );
    }
    return entry;
  }

  /** Number of rows that hold `metric`. */
  coverage(metric: string): number {
    let count = 0;
    for (const entry of this.rows.values()) if (entry.metrics[metric] !== undefined) count += 1;
    return count;
  }

  /** The row with the highest value of `metric` (the first such row on ties); undefined if none. */
  best(metric: string): TableEntry | undefined {
    let best: TableEntry | undefined;
    for (const entry of this.rows.values()) {
      const value = entry.metrics[metric];
      if (value !== undefined && (best === undefined || value > (best.metrics[metric] as number)))
        best = entry;
    }
    return best;
  }
}

/** Reads a table file (JSON or CSV); throws a {@link TableFileError} naming what is wrong. */
export function loadResultTable(path: string, options: TableOptions = {}): ResultTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new TableFileError(
      `cannot read the table ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return parseResultTable(bytes.toString('utf8'), { ...options, source: path, sha256 });
}

/** Parses a table's text; `source` names it in messages, `format` overrides detection. */
export function parseResultTable(
  text: string,
  options: TableOptions & { source: string; sha256?: string; format?: 'json' | 'csv' },
): ResultTable {
  const { source, space } = options;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const format = options.format ?? detectFormat(source, body);
  const raw = format === 'json' ? jsonRows(body, source) : csvRows(body, source);
  const rows = new Map<string, TableEntry>();
  const metricNames = new Set<string>([TABLE_METRICS.accuracy]);
  for (const row of raw) {
    const entry = validateRow(row, source, space);
    const earlier = rows.get(entry.arch);
    if (earlier !== undefined) {
      throw new TableFileError(
        `${source} ${row.where}: architecture ${JSON.stringify(entry.arch)} is already in ` +
          `${earlier.where}; give each architecture one row`,
      );
    }
    rows.set(entry.arch, entry);
    for (const name of Object.keys(entry.metrics)) metricNames.add(name);
  }
  if (rows.size === 0) throw new TableFileError(`${source} holds no architectures`);
  const sha256 = options.sha256 ?? createHash('sha256').update(text).digest('hex');
  return new ResultTable(source, sha256, rows, space, [...metricNames]);
}

function detectFormat(source: string, text: string): 'json' | 'csv' {
  const extension = extname(source).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.csv') return 'csv';
  const first = text.trimStart()[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

function validateRow(
  row: RawRow,
  source: string,
  space: SearchSpace<unknown> | undefined,
): TableEntry {
  const at = `${source} ${row.where}`;
  if (typeof row.arch !== 'string' || row.arch.trim() === '') {
    throw new TableFileError(`${at}, column ${ARCH_COLUMN}: the architecture text is missing`);
  }
  let arch = row.arch.trim();
  if (space !== undefined) {
    try {
      arch = space.format(space.parse(arch));
    } catch (error) {
      throw new TableFileError(
        `${at}, column ${ARCH_COLUMN}: ${JSON.stringify(arch)} is not a ${space.name}-space ` +
          `architecture: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const values: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row.values)) {
    if (value !== undefined && value !== null) values[column] = value;
  }
  const given = VALIDATION_COLUMNS.filter((column) => values[column] !== undefined);
  if (given.length === 0) {
    throw new TableFileError(
      `${at}: no validation accuracy: give a val_accuracy (or accuracy) column, as a fraction in [0, 1]`,
    );
  }
  if (given.length > 1) {
    throw new TableFileError(
      `${at}: both val_accuracy and accuracy are given; keep one (both mean validation accuracy)`,
    );
  }
  const column = given[0] as string;
  const { [column]: validation, ...rest } = values;
  const parsed = rowMetricsSchema.safeParse({ ...rest, accuracy: validation });
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const field = issue.path[0] === 'accuracy' ? column : String(issue.path[0] ?? '');
    throw new TableFileError(`${at}, column ${field}: ${describe(values[field])} ${issue.message}`);
  }
  return { arch, where: row.where, metrics: parsed.data as Record<string, number> };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

// ---------------------------------------------------------------------------------------------
// JSON

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonRows(text: string, source: string): RawRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new TableFileError(
      `${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (Array.isArray(data)) {
    return data.map((item, index) => {
      const where = `entry ${index}`;
      if (!isRecord(item)) {
        throw new TableFileError(
          `${source} ${where}: expected an object such as {"arch": "...", "val_accuracy": 0.9}`,
        );
      }
      const { [ARCH_COLUMN]: arch, ...values } = item;
      return { where, arch, values };
    });
  }
  if (isRecord(data)) {
    return Object.entries(data).map(([arch, item]) => {
      const where = `entry ${JSON.stringify(arch)}`;
      if (!isRecord(item)) {
        throw new TableFileError(
          `${source} ${where}: expected an object of metrics such as {"val_accuracy": 0.9}`,
        );
      }
      if (ARCH_COLUMN in item) {
        throw new TableFileError(
          `${source} ${where}: an entry keyed by its architecture must not have an "arch" field`,
        );
      }
      return { where, arch, values: item };
    });
  }
  throw new TableFileError(
    `${source}: expected a JSON array of rows or an object keyed by architecture`,
  );
}

// ---------------------------------------------------------------------------------------------
// CSV

/** Records of a CSV text with the line each starts on (RFC 4180 quoting; CRLF or LF). */
function csvRecords(text: string, source: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = 0;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0]?.trim() === '')) records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else quoted = false;
      } else {
        if (c === '\n') line += 1;
        field += c;
      }
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
      line += 1;
      start = line;
    } else field += c;
    i += 1;
  }
  if (quoted) throw new TableFileError(`${source} line ${start}: a quoted field is never closed`);
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function csvRows(text: string, source: string): RawRow[] {
  const records = csvRecords(text, source);
  const header = records[0];
  if (header === undefined) throw new TableFileError(`${source} is empty`);
  const columns = header.fields.map((name) => name.trim());
  const archIndex = columns.indexOf(ARCH_COLUMN);
  if (archIndex < 0) {
    throw new TableFileError(
      `${source} line ${header.line}: the header has no "${ARCH_COLUMN}" column ` +
        `(got ${columns.join(', ')})`,
    );
  }
  columns.forEach((name, index) => {
    if (name === '')
      throw new TableFileError(`${source} line ${header.line}: column ${index + 1} has no name`);
    if (columns.indexOf(name) !== index)
      throw new TableFileError(`${source} line ${header.line}: column "${name}" appears twice`);
  });
  return records.slice(1).map(({ line, fields }) => {
    const where = `line ${line}`;
    if (fields.length !== columns.length) {
      throw new TableFileError(
        `${source} ${where}: ${fields.length} fields for ${columns.length} columns`,
      );
    }
    const values: Record<string, unknown> = {};
    columns.forEach((column, index) => {
      if (index === archIndex) return;
      const cell = (fields[index] as string).trim();
      if (cell === '') return;
      if (!NUMBER.test(cell)) {
        throw new TableFileError(
          `${source} ${where}, column ${column}: ${JSON.stringify(cell)} is not a number`,
        );
      }
      values[column] = Number(cell);
    });
    return { where, arch: fields[archIndex], values };
  });
}
