import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const depcruise = join(repo, 'node_modules/.bin/depcruise');

/** Runs the layer rules over `root`'s src/; returns the exit status and what it printed. */
function cruise(root: string): { status: number; output: string } {
  try {
    const output = execFileSync(
      depcruise,
      ['src', '--config', join(repo, '.dependency-cruiser.cjs'), '--output-type', 'err'],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { status: 0, output };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { status: failed.status, output: failed.stdout + failed.stderr };
  }
}

describe('the layers import rules', () => {
  it('hold for the source tree', () => {
    const result = cruise(repo);
    expect(result.output).not.toMatch(/error/);
    expect(result.status).toBe(0);
  });

  it('fail on a deliberate violation: a space importing the orchestration', () => {
    const root = mkdtempSync(join(tmpdir(), 'nascent-layers-'));
    mkdirSync(join(root, 'src/space'), { recursive: true });
    mkdirSync(join(root, 'src/run'), { recursive: true });
    copyFileSync(join(repo, 'tsconfig.json'), join(root, 'tsconfig.json'));
    writeFileSync(join(root, 'src/run/plan.ts'), 'export const plan = 1;\n');
    writeFileSync(
      join(root, 'src/space/bad.ts'),
      "import { plan } from '../run/plan.js';\nexport const bad = plan;\n",
    );
    const result = cruise(root);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('space-imports');
    expect(result.output).toContain('src/space/bad.ts → src/run/plan.ts');
  });

  it('fail on a cycle between modules', () => {
    const root = mkdtempSync(join(tmpdir(), 'nascent-layers-'));
    mkdirSync(join(root, 'src/search'), { recursive: true });
    copyFileSync(join(repo, 'tsconfig.json'), join(root, 'tsconfig.json'));
    writeFileSync(
      join(root, 'src/search/a.ts'),
      "import { b } from './b.js';\nexport const a = () => b;\n",
    );
    writeFileSync(
      join(root, 'src/search/b.ts'),
      "import { a } from './a.js';\nexport const b = () => a;\n",
    );
    const result = cruise(root);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('no-circular');
  });
});
