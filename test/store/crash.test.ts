/**
 * kill -9 in the middle of a search: a child process writes through the real RunStore code
 * (transpiled from src/store with TypeScript, since plain Node 20 cannot run .ts), commits some
 * work, starts "training" one candidate and then opens a transaction it never finishes. The
 * parent kills it with SIGKILL and checks what the store holds afterwards.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/store/index.js';
import { KEY, tempDirs } from './fixtures.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const storeDir = fileURLToPath(new URL('../../src/store/', import.meta.url));
const betterSqlite = pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href;

/** Transpiles the store's modules into `dir` (imports of better-sqlite3 point at the package). */
function transpileStore(dir: string): void {
  const names = readdirSync(storeDir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -'.ts'.length));
  for (const name of names) {
    const source = readFileSync(join(storeDir, `${name}.ts`), 'utf8');
    const output = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(
      join(dir, `${name}.mjs`),
      output
        .replaceAll("'better-sqlite3'", `'${betterSqlite}'`)
        .replace(/\.\/([\w-]+)\.js'/g, "./$1.mjs'"),
    );
  }
}

const CHILD = `
import { RunStore, candidateHash } from './index.mjs';
const [path, key] = process.argv.slice(2);
const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
const candidate = (filters, generation = 0) => {
  const genome = 'NC ' + filters + ' 3 relu;RC 32 3 relu;RC 64 3 relu;FL gelu;';
  return { generation, genome, genomeJson: { filters }, architecture: { filters },
    hash: candidateHash(genome, target), operator: 'sample', params: filters, flops: filters };
};
const store = RunStore.open(path);
const run = store.createRun({ name: 'crashy', space: 'genome', strategy: 'random', dataset: 'fashion-mnist',
  seed: 1, config: {}, codeVersion: 'test' });
const now = new Date().toISOString();
// three candidates asked, trained and told
for (const filters of [8, 16, 32]) {
  store.transaction(() => {
    const [c] = store.addCandidates(run.id, [candidate(filters)]);
    store.saveStrategyState(run.id, 'asked', { asked: c.seq });
    store.addEvaluation({ candidateId: c.id, status: 'ok', fidelity: 10, metrics: { accuracy: filters / 100 },
      epochs: [], objectives: { accuracy: filters / 100 }, evaluationKey: key, startedAt: now, finishedAt: now });
    store.saveStrategyState(run.id, 'told', { told: c.seq });
  });
}
// the fourth is asked (committed) and is being trained when the kill comes
store.transaction(() => {
  const [c] = store.addCandidates(run.id, [candidate(64, 1)]);
  store.saveStrategyState(run.id, 'asked', { asked: c.seq });
});
// a transaction that never commits
store.transaction(() => {
  store.addCandidates(run.id, Array.from({ length: 50 }, (_, i) => candidate(100 + i, 2)));
  store.logEvent(run.id, 'never', 'this is never committed');
  process.stdout.write('in-flight\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
});
process.stdout.write('not killed\\n');
`;

function runUntilKilled(
  dir: string,
  path: string,
): Promise<{ signal: string | null; out: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(dir, 'child.mjs'), path, KEY], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('in-flight')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (!out.includes('in-flight')) reject(new Error(`child failed before the kill:\n${err}`));
      else resolvePromise({ signal, out });
    });
  });
}

describe('crash safety', () => {
  it('keeps every committed row and nothing partial after kill -9', async () => {
    const dir = dirs.make();
    transpileStore(dir);
    writeFileSync(join(dir, 'child.mjs'), CHILD);
    const path = join(dir, 'runs.sqlite');

    const { signal, out } = await runUntilKilled(dir, path);
    expect(signal).toBe('SIGKILL');
    expect(out).not.toContain('not killed');
    // the committed rows may live only in the WAL: reopening must recover them from it
    expect(existsSync(`${path}-wal`)).toBe(true);

    const store = RunStore.open(path);
    const run = store.getRun('crashy');
    expect(run.status).toBe('running');
    expect(store.candidates(run.id).map((c) => c.seq)).toEqual([1, 2, 3, 4]);
    expect(store.evaluationCount(run.id)).toBe(3);
    expect(store.evaluations(run.id).map((e) => e.objectives.accuracy)).toEqual([0.08, 0.16, 0.32]);
    // the one evaluation in flight is what resume has to redo
    expect(store.pendingCandidates(run.id).map((c) => c.seq)).toEqual([4]);
    expect(store.latestStrategyState(run.id)).toMatchObject({
      phase: 'asked',
      state: { asked: 4 },
    });
    expect(store.events(run.id)).toEqual([]);
    // the store goes on normally
    expect(store.logEvent(run.id, 'resumed', 'resumed after kill -9').kind).toBe('resumed');
    store.close();
  });
});
