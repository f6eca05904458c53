/**
 * The downloads a candidate page offers. Each format says whether it applies to a candidate and
 * renders the file; the page shows a button for each one that applies, so a new exporter is one
 * more entry in CANDIDATE_EXPORTS.
 */
import type { CandidateRecord } from '../store/index.js';

export interface CandidateExport {
  /** The format's name in the download URL: /api/candidates/<id>/export/<format>. */
  readonly format: string;
  /** The button's text. */
  readonly label: string;
  readonly contentType: string;
  available(candidate: CandidateRecord): boolean;
  filename(candidate: CandidateRecord): string;
  render(candidate: CandidateRecord): string | Uint8Array | Promise<string | Uint8Array>;
}

/** The genome string, as `nascent inspect --genome` and `nascent train --genome` take it. */
const genomeExport: CandidateExport = {
  format: 'genome',
  label: 'Genome (text)',
  contentType: 'text/plain; charset=utf-8',
  available: () => true,
  filename: (candidate) => `${candidate.id}.genome.txt`,
  render: (candidate) => `${candidate.genome}\n`,
};

/** The architecture IR (nascent-ir/1), as `nascent train --arch` takes it. */
const architectureExport: CandidateExport = {
  format: 'ir',
  label: 'Architecture (IR JSON)',
  contentType: 'application/json; charset=utf-8',
  available: (candidate) => candidate.architecture !== null,
  filename: (candidate) => `${candidate.id}.arch.json`,
  render: (candidate) => `${JSON.stringify(candidate.architecture, null, 2)}\n`,
};

/** Every download format, in the order the buttons appear. */
export const CANDIDATE_EXPORTS: readonly CandidateExport[] = [genomeExport, architectureExport];
