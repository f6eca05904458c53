/**
 * The package as a consumer gets it: `npm pack`, the tarball unpacked into a scratch project's
 * node_modules, a strict TypeScript consumer (module nodenext) compiled against its types, and a
 * tiny search run through the public API.
 *
 * The tarball is unpacked rather than `npm install`ed: an install would fetch (or rebuild) the
 * native dependencies, which CI should not depend on. The scratch project's other packages are
 * links to this repository's installed production dependencies (plus @types/node and the
 * TypeScript compiler a consumer brings), so the package's `files`, `exports` and `types` are
 * what is tested, and a public type that needs a dev-only package fails the compile.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeFashionMnist } from '../helpers.js';

const REPO = resolve('.');

const CONSUMER = `import {
  GenomeSpace,
  Random,
  RunStore,
  analyzeArchitecture,
  createStrategy,
  estimateTrainingMemory,
  parseSearchConfig,
  runSearch,
  type SearchConfig,
  type SearchEvent,
} from 'nascent';

const [dataDir, store] = process.argv.slice(2);
if (dataDir === undefined || store === undefined) throw new Error('usage: consumer DATA_DIR STORE');

const config: SearchConfig = parseSearchConfig({
  name: 'api-smoke',
  seed: 1,
  store,
  dataset: { name: 'fashion-mnist', dataDir, subset: 200, testSubset: 40 },
  space: { name: 'genome', options: { filters: [2, 4], kernels: [3], maxNormal: 1 } },
  strategy: { name: 'random', populationSize: 2 },
  evaluation: { protocol: 'course', epochs: 1, maxStepsPerEpoch: 2 },
  budget: { generations: 1 },
});
const events: SearchEvent['type'][] = [];
const { runId, reason } = await runSearch({ config, onEvent: (event) => events.push(event.type) });

const opened = RunStore.open(store, { readonly: true });
const evaluations = opened.evaluations(runId);
opened.close();

const space = new GenomeSpace({ filters: [4], kernels: [3], maxNormal: 0 });
const target = { input: { channels: 1, height: 28, width: 28 }, classes: 10 };
const architecture = space.compile(space.sample(new Random(3), target), target);
const memory = estimateTrainingMemory(architecture, { batchSize: 128, optimizer: 'adamw' });
const strategy = createStrategy('random', {
  space,
  target,
  objectives: [{ metric: 'accuracy', direction: 'maximize' }],
  seed: 0,
});

process.stdout.write(
  JSON.stringify({
    runId,
    reason,
    statuses: evaluations.map((evaluation) => evaluation.status),
    finished: events.includes('finished'),
    params: analyzeArchitecture(architecture).params,
    memoryBytes: memory.bytes,
    proposals: strategy.ask(2).length,
  }),
);
`;

/** Links `name` from this repository's node_modules into `modules` (scoped names included). */
function link(modules: string, name: string): void {
  const from = join(REPO, 'node_modules', name);
  if (!existsSync(from) || existsSync(join(modules, name))) return;
  if (name.includes('/'))
    mkdirSync(join(modules, name.split('/')[0] as string), { recursive: true });
  symlinkSync(from, join(modules, name), 'dir');
}

describe('the packed package', () => {
  it('installs, type-checks under a strict consumer and runs a search through the API', () => {
    expect(existsSync(join(REPO, 'dist', 'src', 'index.js')), 'build first: npm run build:ts').toBe(
      true,
    );
    const root = mkdtempSync(join(tmpdir(), 'nascent-package-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', root], {
        cwd: REPO,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]?.files.map((file) => file.path) ?? [];
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('bin/nascent');
    expect(files).toContain('build/native/Release/nascent.node');
    expect(files.some((path) => path.startsWith('src/') || path.startsWith('test/'))).toBe(false);

    const project = join(root, 'consumer');
    const modules = join(project, 'node_modules');
    const installed = join(modules, 'nascent');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', [
      '-xzf',
      join(root, packed[0]?.filename ?? ''),
      '-C',
      installed,
      '--strip-components=1',
    ]);
    // Production dependencies only (and their own, hoisted beside them), as an install gives.
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const devOnly = new Set(Object.keys(manifest.devDependencies));
    for (const entry of readdirSync(join(REPO, 'node_modules'))) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(REPO, 'node_modules', entry))) {
          const name = `${entry}/${scoped}`;
          if (!devOnly.has(name) || name === '@types/node') link(modules, name);
        }
      } else if (!devOnly.has(entry)) link(modules, entry);
    }

    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(join(project, 'consumer.ts'), CONSUMER);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          types: ['node'],
          skipLibCheck: false,
          outDir: 'out',
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { cwd: project, encoding: 'utf8' },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    const dataDir = fakeFashionMnist(300, 40);
    const store = join(root, 'runs.db');
    const run = spawnSync(process.execPath, [join('out', 'consumer.js'), dataDir, store], {
      cwd: project,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as {
      runId: string;
      statuses: string[];
      finished: boolean;
      params: number;
      memoryBytes: number;
      proposals: number;
    };
    expect(result.runId).toMatch(/./);
    expect(result.finished).toBe(true);
    expect(result.statuses).toHaveLength(2);
    expect(result.statuses.every((status) => status === 'ok')).toBe(true);
    expect(result.params).toBeGreaterThan(0);
    expect(result.memoryBytes).toBeGreaterThan(0);
    expect(result.proposals).toBe(2);
    expect(existsSync(store)).toBe(true);
  }, 300_000);
});
