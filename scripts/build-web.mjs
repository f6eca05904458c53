#!/usr/bin/env node
/**
 * Bundles the dashboard's front end (web/) into dist/web/: one minified app.js (Preact, the
 * ECharts modules it uses, the pages), app.css and index.html. Nothing is fetched at run time.
 *
 *   node scripts/build-web.mjs [--out DIR]
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--out');
const out = at === -1 ? join(root, 'dist', 'web') : resolve(process.argv[at + 1] ?? '');
if (at !== -1 && process.argv[at + 1] === undefined) {
  process.stderr.write('build-web: --out needs a folder\n');
  process.exit(2);
}

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'src', 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'linked',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css'])
  copyFileSync(join(root, 'web', file), join(out, file));
const kib = Math.round(statSync(join(out, 'app.js')).size / 1024);
process.stdout.write(`build-web: ${out} (app.js ${kib} KiB)\n`);
