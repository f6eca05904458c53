/** Number, time and status formatting for the pages. */

/** 1234 -> "1,234"; 1234567 -> "1.23M"; null -> "–". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  return Number.isInteger(value) ? value.toLocaleString('en') : value.toPrecision(4);
}

export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return `${(value * 100).toFixed(2)}%`;
}

/** A metric's value the way people read it: accuracies as percentages, sizes compact. */
export function formatMetric(metric: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (/accuracy/.test(metric)) return formatPercent(value);
  if (/seconds/.test(metric)) return formatDuration(value);
  if (Number.isInteger(value)) return formatCount(value);
  return value.toPrecision(4);
}

/** 75 -> "1m 15s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${minutes % 60}m`;
}

/** "3 minutes ago"-style age of an ISO time. */
export function formatAge(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  return `${formatDuration(seconds)} ago`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString('en-GB');
}
