/**
 * Read-only commands (`runs`, `show`, `report`, `export`, `serve`) open the store read-only:
 * they never create it or its folder, and they read a store in a read-only place. The commands
 * run from the built CLI (`npm run build:ts` first). Tests run as root here, where file modes do
 * not stop writes, so the read-only place is read as user `nobody` when `runuser` is there.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunReadModel } from '../../src/store/read-model.js';
import { RunStore } from '../../src/store/index.js';

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

/** As `nobody` when the tests run as root and runuser is there (file modes bind only then). */
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((path) =>
  existsSync(path),
);
const AS_NOBODY = process.getuid?.() === 0 && RUNUSER !== undefined;

function command(args: readonly string[]): [string, string[]] {
  return AS_NOBODY && RUNUSER !== undefined
    ? [RUNUSER, ['-u', 'nobody', '--', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
}

function nascent(args: readonly string[]): { status: number | null; out: string; err: string } {
  const [file, argv] = command(args);
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

function fingerprint(file: string): { mtimeMs: number; size: number; sha256: string } {
  const stat = statSync(file);
  return {
    mtimeMs: stat.mtimeMs,
    size: stat.size,
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  };
}

describe('read-only commands on a missing store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-read-only-missing-'));

  beforeAll(() => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build:ts first`).toBe(true);
  });

  it.each([
    ['runs', (store: string) => ['runs', '--store', store]],
    ['show', (store: string) => ['show', 'some-run', '--store', store]],
    [
      'report',
      (store: string) => ['report', 'some-run', '--store', store, '--out', join(dir, 'out')],
    ],
    ['export', (store: string) => ['export', 'some-run-c1', '--store', store, '--format', 'json']],
    ['serve', (store: string) => ['serve', '--store', store, '--port', '0']],
  ])('nascent %s creates nothing and names the missing path', (name, args) => {
    const folder = join(dir, `typo-${name}`);
    const store = join(folder, 'path.db');
    const [file, argv] = [process.execPath, [CLI, ...args(store)]];
    const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`no run store at ${store}`);
    expect(existsSync(folder)).toBe(false);
  });

  it('the read model and a read-only RunStore refuse it the same way, creating nothing', () => {
    const store = join(dir, 'nowhere', 'runs.db');
    expect(() => RunReadModel.open(store)).toThrow(`no run store at ${store}`);
    expect(() => RunStore.open(store, { readonly: true })).toThrow(`no run store at ${store}`);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });
});

describe('read-only commands on a store in a read-only place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-read-only-place-'));
  const folder = join(dir, 'shelf');
  const store = join(folder, 'runs.db');
  let runId = '';
  let before: ReturnType<typeof fingerprint>;
  let serving: ChildProcess | undefined;
  const tmpdirMode = statSync(tmpdir()).mode;

  beforeAll(() => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build:ts first`).toBe(true);
    mkdirSync(folder);
    const writer = RunStore.open(store);
    runId = writer.createRun({
      name: 'shelved',
      space: 'genome',
      strategy: 'ga',
      dataset: 'fashion-mnist',
      seed: 0,
      config: { objectives: [{ metric: 'accuracy', direction: 'maximize' }], constraints: [] },
      codeVersion: 'test',
    }).id;
    writer.close();
    // The writer's close removed its -wal and -shm: only the file is left.
    expect(existsSync(`${store}-wal`)).toBe(false);
    chmodSync(dir, 0o755);
    // nobody must reach the folder: the tests' temporary folder is made traversable (not listable).
    if (AS_NOBODY) chmodSync(tmpdir(), (tmpdirMode | 0o111) & 0o7777);
    chmodSync(store, 0o444);
    chmodSync(folder, 0o555);
    before = fingerprint(store);
  });

  afterAll(() => {
    serving?.kill('SIGKILL');
    chmodSync(folder, 0o755);
    chmodSync(tmpdir(), tmpdirMode & 0o7777);
  });

  it('nascent runs lists the runs, and the store is left as it was', () => {
    const result = nascent(['runs', '--store', store]);
    expect(result.err).toBe('');
    expect(result.status).toBe(0);
    expect(result.out).toContain(runId);
    expect(result.out).toContain('shelved');
    expect(fingerprint(store)).toEqual(before);
    if (AS_NOBODY) {
      // nobody cannot create the -shm and -wal files SQLite wants: the store was read as it is.
      expect(existsSync(`${store}-wal`)).toBe(false);
      expect(existsSync(`${store}-shm`)).toBe(false);
    }
  });

  it('nascent show prints the run', () => {
    const result = nascent(['show', 'shelved', '--store', store]);
    expect(result.status).toBe(0);
    expect(result.out).toContain(`run ${runId} (shelved): running, ga over genome`);
    expect(fingerprint(store)).toEqual(before);
  });

  it('nascent serve answers with the runs', async () => {
    const [file, argv] = command(['serve', '--store', store, '--port', '0']);
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    serving = child;
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve printed no URL: ${output}`)), 30_000);
      const collect = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = /dashboard at (http:\/\/\S+?\/)/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('close', () => reject(new Error(`serve ended: ${output}`)));
    });
    const response = await fetch(new URL('/api/runs', url));
    expect(response.status).toBe(200);
    const runs = (await response.json()) as { id: string; name: string }[];
    expect(runs.map((run) => [run.id, run.name])).toEqual([[runId, 'shelved']]);
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    serving = undefined;
    expect(fingerprint(store)).toEqual(before);
  });

  it('the read model reads it in-process too, while a writer may come later', () => {
    const model = RunReadModel.open(store);
    try {
      expect(model.listRuns().map((run) => run.name)).toEqual(['shelved']);
      expect(model.runActivity(runId)).toEqual({
        lastStopRequestId: null,
        lastSessionEventId: null,
        lastEventAt: null,
      });
    } finally {
      model.close();
    }
    expect(fingerprint(store)).toEqual(before);
  });
});
