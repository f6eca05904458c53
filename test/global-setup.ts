/**
 * Gives the test run one temporary folder and removes it afterwards: tests make their stores,
 * data files and exports under `os.tmpdir()`, which reads TMPDIR, so nothing they write is left
 * in the system's temporary folder (about 100 MiB a run before).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'nascent-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
