/** Number formatting for benchmark reports. */

/** A whole number with thousands separators: 12,345. */
export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A number with a fixed count of decimals. */
export function formatFixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}
