import { readFileSync } from 'node:fs';
import { DATASET_SHAPES, assertDatasetName } from '../data/registry.js';
import { genomeToArchitecture } from '../space/genome.js';
import { type Architecture, parseArchitecture } from '../space/ir.js';

export interface ArchitectureSource {
  genome?: string;
  arch?: string;
}

/** The architecture named on the command line, compiled for the dataset's image shape. */
export function resolveArchitecture(source: ArchitectureSource, datasetName: string): Architecture {
  const dataset = assertDatasetName(datasetName);
  const { classes, ...input } = DATASET_SHAPES[dataset];
  if (source.genome !== undefined && source.arch !== undefined) {
    throw new Error('give either --genome or --arch, not both');
  }
  if (source.genome !== undefined) return genomeToArchitecture(source.genome, { input, classes });
  if (source.arch !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(source.arch, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read architecture file ${source.arch}: ${(error as Error).message}`);
    }
    return parseArchitecture(json);
  }
  throw new Error(
    'no architecture given: use --genome "NC 16 3 relu;RC 32 3 relu;RC 32 3 relu;FL relu;" or --arch file.json',
  );
}
