/** Markdown helpers: tables, and generated sections between markers in a shared file. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface SectionMarkers {
  readonly start: string;
  readonly end: string;
}

/**
 * Replaces the text between `markers` (markers included) with `body` wrapped in the same markers,
 * or appends the wrapped body when the markers are not there. Everything else is kept as is.
 */
export function replaceSection(text: string, markers: SectionMarkers, body: string): string {
  const block = `${markers.start}\n${body.trim()}\n${markers.end}`;
  const start = text.indexOf(markers.start);
  const end = start >= 0 ? text.indexOf(markers.end, start + markers.start.length) : -1;
  if (start >= 0 && end < 0) {
    throw new Error(`found ${markers.start} without a following ${markers.end}`);
  }
  if (start < 0) {
    if (text.includes(markers.end))
      throw new Error(`found ${markers.end} without ${markers.start}`);
    const base = text.trimEnd();
    return `${base}${base.length > 0 ? '\n\n' : ''}${block}\n`;
  }
  return text.slice(0, start) + block + text.slice(end + markers.end.length);
}

/** Writes `body` into its section of the file at `path`, creating the file with `header` if missing. */
export function writeSection(
  path: string,
  markers: SectionMarkers,
  body: string,
  header: string,
): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `${header.trim()}\n`;
  writeFileSync(path, replaceSection(text, markers, body));
}

export type Align = 'left' | 'right';

function escapeCell(cell: string): string {
  return cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  const rule = headers.map((_, i) => (align[i] === 'right' ? '---:' : '---'));
  return [line(headers), `|${rule.map((r) => ` ${r} `).join('|')}|`, ...rows.map(line)].join('\n');
}
