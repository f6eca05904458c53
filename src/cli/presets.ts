/**
 * Presets: ready search configurations under `configs/presets/`, one per workflow users know
 * from the projects Nascent replaces. `nascent presets` lists them with their one-line
 * descriptions; `nascent search --preset NAME` runs one (every setting can still be overridden on
 * the command line). Relative paths in a preset (its grammar, its data directory) are read from
 * the working directory when they exist there, else from Nascent's package directory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../run/config.js';
import { packageRoot } from '../util/fs.js';
import { table } from '../util/format.js';

export interface PresetInfo {
  readonly name: string;
  readonly description: string;
  readonly file: string;
}

export function presetsDirectory(): string {
  return join(packageRoot(), 'configs', 'presets');
}

export function listPresets(): PresetInfo[] {
  const dir = presetsDirectory();
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => {
      const path = join(dir, file);
      const parsed = parseYaml(readFileSync(path, 'utf8')) as { description?: unknown } | null;
      return {
        name: basename(file, '.yaml'),
        description: typeof parsed?.description === 'string' ? parsed.description : '',
        file: path,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The configuration file of a preset; the error lists the presets there are. */
export function presetFile(name: string): string {
  const preset = listPresets().find((p) => p.name === name);
  if (!preset)
    throw new ConfigError(
      `unknown preset ${JSON.stringify(name)}; presets: ${listPresets()
        .map((p) => p.name)
        .join(', ')} (nascent presets describes them)`,
    );
  return preset.file;
}

export function presetsCommand(): string {
  return table(
    ['preset', 'what it runs'],
    listPresets().map((p) => [p.name, p.description]),
  );
}
