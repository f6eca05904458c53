/**
 * Where datasets live on disk, and the (rarely used) code that downloads them.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DatasetError } from './types.js';

/** Environment variable naming a directory that holds one sub-directory per dataset. */
export const DATA_DIR_ENV = 'NASCENT_DATA_DIR';

/** `~/.cache/nascent/datasets`: where downloads and extractions go when nothing else is set. */
export function userCacheRoot(): string {
  return join(homedir(), '.cache', 'nascent', 'datasets');
}

/** `$NASCENT_DATA_DIR` when set and non-empty. */
export function envDataRoot(): string | undefined {
  const value = process.env[DATA_DIR_ENV];
  return value === undefined || value === '' ? undefined : value;
}

/** Directory a dataset is downloaded or extracted to: `$NASCENT_DATA_DIR/<sub>`, else the user cache. */
export function writableDatasetDir(sub: string): string {
  return join(envDataRoot() ?? userCacheRoot(), sub);
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/**
 * Downloads `url` to `dest` with the global `fetch`, writing to a temporary file first and
 * renaming it into place, so an interrupted download never leaves a partial file under `dest`.
 */
export async function downloadFile(
  url: string,
  dest: string,
  log: (message: string) => void = () => undefined,
): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}`;
  log(`downloading ${url} -> ${dest}`);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetError(`downloading ${url} failed: ${reason}`, { cause: err });
  }
  if (!response.ok || response.body === null) {
    throw new DatasetError(
      `downloading ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd(),
    );
  }
  // With a Content-Encoding, fetch decodes the body and Content-Length counts encoded bytes.
  const totalHeader = response.headers.get('content-length');
  const encoded = response.headers.get('content-encoding') !== null;
  const total = totalHeader === null || encoded ? NaN : Number(totalHeader);
  let received = 0;
  let nextReport = 0.1;
  const progress = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (Number.isFinite(total) && total > 0 && received / total >= nextReport) {
        log(
          `  ${basename(dest)}: ${formatBytes(received)} of ${formatBytes(total)} (${Math.floor((100 * received) / total)}%)`,
        );
        while (received / total >= nextReport) nextReport += 0.1;
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      progress,
      createWriteStream(tmp),
    );
    if (Number.isFinite(total) && received !== total) {
      throw new Error(`received ${received} bytes, expected ${total}`);
    }
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof DatasetError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new DatasetError(`downloading ${url} to ${dest} failed: ${reason}`, { cause: err });
  }
  log(`downloaded ${basename(dest)} (${formatBytes(received)})`);
}
