/**
 * Inherited weights kept with their candidate, on disk: with `inheritWeights`, each trained
 * candidate's weights are written to `<store dir>/weights/<run id>/<candidate id>.safetensors`,
 * and its children read them from there. So a resumed run, and a child of an elite that has
 * lived for many generations, still start from their parents' trained weights.
 *
 * Disk policy: after every tell, the weights of a candidate are kept while the strategy's saved
 * state still names it (its population, parents, archive: any candidate it may still breed
 * from), or while it belongs to the ask being answered; the others are deleted. A strategy whose
 * state names no candidates (random search) keeps none. The files of a run are at most the size
 * of its strategy's population of networks; the folder is deleted with nothing in it.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { WeightMap } from '../engine/engine.js';
import { decodeSafetensors, encodeSafetensors } from '../export/safetensors.js';

const SUFFIX = '.safetensors';

/** Where a store keeps a run's inherited weights. */
export function weightsDirectory(storePath: string, runId: string): string {
  return join(dirname(storePath), 'weights', runId);
}

/** Every candidate id of `runId` that a JSON value (a strategy snapshot) names. */
export function candidateIdsIn(value: unknown, runId: string): Set<string> {
  const ids = new Set<string>();
  const pattern = new RegExp(`^${runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-c\\d+$`);
  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      if (pattern.test(node)) ids.add(node);
    } else if (Array.isArray(node)) {
      for (const item of node) visit(item);
    } else if (typeof node === 'object' && node !== null) {
      for (const item of Object.values(node)) visit(item);
    }
  };
  visit(value);
  return ids;
}

export class InheritedWeights {
  /** Recently written or read weights, so a generation's parents are read from disk once. */
  private readonly cache = new Map<string, WeightMap>();

  constructor(
    readonly directory: string,
    private readonly cacheSize: number,
  ) {}

  private file(candidateId: string): string {
    return join(this.directory, `${candidateId}${SUFFIX}`);
  }

  private remember(candidateId: string, weights: WeightMap): void {
    this.cache.delete(candidateId);
    this.cache.set(candidateId, weights);
    for (const id of this.cache.keys()) {
      if (this.cache.size <= this.cacheSize) break;
      this.cache.delete(id);
    }
  }

  /** Writes a candidate's trained weights (atomically: a crash leaves the old file or none). */
  save(candidateId: string, weights: WeightMap): void {
    mkdirSync(this.directory, { recursive: true });
    const file = this.file(candidateId);
    const partial = `${file}.partial`;
    writeFileSync(partial, encodeSafetensors(weights, { candidate: candidateId }));
    renameSync(partial, file);
    this.remember(candidateId, weights);
  }

  /**
   * Gives `candidateId` the weights of `sourceId` (a result reused from it: the same network,
   * trained the same way), when they are kept. Returns whether it did.
   */
  alias(candidateId: string, sourceId: string): boolean {
    const source = this.file(sourceId);
    if (candidateId === sourceId || !existsSync(source)) return false;
    copyFileSync(source, this.file(candidateId));
    return true;
  }

  /** A candidate's weights, or undefined when none are kept. */
  load(candidateId: string): WeightMap | undefined {
    const cached = this.cache.get(candidateId);
    if (cached) return cached;
    const file = this.file(candidateId);
    if (!existsSync(file)) return undefined;
    const weights = decodeSafetensors(readFileSync(file), file).tensors;
    this.remember(candidateId, weights);
    return weights;
  }

  /**
   * The parents' weights that exist, in the parents' order, and where they came from: `scratch`
   * when there are none, else a hash of the weights (part of the evaluation's identity).
   */
  parents(parentIds: readonly string[]): { weights: WeightMap[]; origin: string } {
    const found = parentIds.flatMap((id) => {
      const weights = this.load(id);
      return weights ? [{ id, weights }] : [];
    });
    if (found.length === 0) return { weights: [], origin: 'scratch' };
    const hash = createHash('sha256');
    for (const { weights } of found) {
      for (const [name, tensor] of Object.entries(weights)) {
        hash.update(`${name}:${tensor.shape.join('x')};`);
        hash.update(
          new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
        );
      }
      hash.update('|');
    }
    return { weights: found.map((f) => f.weights), origin: hash.digest('hex').slice(0, 24) };
  }

  /** Candidates with weights on disk. */
  stored(): string[] {
    if (!existsSync(this.directory)) return [];
    return readdirSync(this.directory)
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => name.slice(0, -SUFFIX.length));
  }

  /** Deletes the weights of every candidate not in `keep` (the disk policy above). */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const id of this.stored()) {
      if (keep.has(id)) continue;
      rmSync(this.file(id), { force: true });
      this.cache.delete(id);
    }
    if (existsSync(this.directory) && readdirSync(this.directory).length === 0)
      rmdirSync(this.directory);
  }
}
