/**
 * `nascent report <run>`: writes a self-contained HTML report of a run, and its figures as SVG
 * files, from the run store (opened read-only, so a search may be writing it meanwhile).
 */
import { join } from 'node:path';
import { writeReport } from '../report/index.js';
import { RunReadModel } from '../store/read-model.js';

export interface ReportCommandOptions {
  /** Run id or name. */
  readonly run: string;
  /** The run store (SQLite file). */
  readonly store: string;
  /** Output folder; `runs/<run id>-report` when absent. */
  readonly out?: string;
  /** Rows of the best-candidates table. */
  readonly top?: number;
}

/** Writes the report and returns one line saying what was written. */
export async function reportCommand(options: ReportCommandOptions): Promise<string> {
  const store = RunReadModel.open(options.store);
  try {
    const runId = store.getRun(options.run).id;
    const out = options.out ?? `runs/${runId}-report`;
    const result = writeReport(store, runId, out, {
      ...(options.top !== undefined ? { top: options.top } : {}),
    });
    const count = result.figures.length;
    return `wrote ${result.html} and ${count} figure${count === 1 ? '' : 's'} in ${join(out, 'figures')}`;
  } finally {
    store.close();
  }
}
