import { readFileSync } from 'node:fs';
import { datasetShape } from '../data/registry.js';
import { type Architecture, parseArchitecture } from '../space/ir.js';
import { createSpace, parseSpaceArgument } from '../space/registry.js';

export interface ArchitectureSource {
  /** A candidate's canonical text in `space` (a genome string by default). */
  genome?: string;
  arch?: string;
  /** genome, layers, cells or grammar:path.yaml. */
  space?: string;
  /** The space's options as JSON, e.g. '{"channels": 8}'. */
  spaceOptions?: string;
}

/** `--space-options` as an object; throws a message that names the flag. */
export function parseSpaceOptions(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`--space-options is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('--space-options must be a JSON object, e.g. \'{"channels": 8}\'');
  return value as Record<string, unknown>;
}

/** The architecture named on the command line, compiled for the dataset's image shape. */
export function resolveArchitecture(source: ArchitectureSource, datasetName: string): Architecture {
  return resolveCandidate(source, datasetName).architecture;
}

/** The architecture, and the candidate's canonical text and space when it was given as text. */
export function resolveCandidate(
  source: ArchitectureSource,
  datasetName: string,
): { architecture: Architecture; genome?: string; space?: string } {
  const { classes, ...input } = datasetShape(datasetName);
  if (source.genome !== undefined && source.arch !== undefined) {
    throw new Error('give either --genome or --arch, not both');
  }
  if (source.genome !== undefined) {
    const options = parseSpaceOptions(source.spaceOptions);
    const space = createSpace({
      ...parseSpaceArgument(source.space ?? 'genome'),
      ...(options ? { options } : {}),
    });
    const genome = space.parse(source.genome);
    return {
      architecture: space.compile(genome, { input, classes }),
      genome: space.format(genome),
      space: space.name,
    };
  }
  if (source.arch !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(source.arch, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read architecture file ${source.arch}: ${(error as Error).message}`);
    }
    return { architecture: parseArchitecture(json) };
  }
  throw new Error(
    'no architecture given: use --genome "NC 16 3 relu;RC 32 3 relu;RC 32 3 relu;FL relu;" or --arch file.json',
  );
}
