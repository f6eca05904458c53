import Table from 'cli-table3';

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** 1234567 -> "1.23M". */
export function formatCompact(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return String(value);
}

/** 0.8512 -> "85.12%"; a missing value -> "-". */
export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${(100 * value).toFixed(2)}%`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

export function table(
  head: string[],
  rows: (string | number)[][],
  align?: ('left' | 'right')[],
): string {
  const t = new Table({
    head,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...(align ? { colAligns: align } : {}),
  });
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

/** A candidate's text on one line (multi-line forms, like layer lists, joined with `; `). */
export function oneLine(text: string): string {
  return text.trim().split('\n').join('; ');
}
