/**
 * Repair: turns any layer list into one that builds for a given input, and says what it changed.
 *
 * In this order:
 * 1. skips that name a layer id not in the list are dropped;
 * 2. dense layers that come before a conv or a pool are moved, in their order, to just after the
 *    last conv or pool (the map is flattened before the first dense layer);
 * 3. layers that cannot take their input are dropped: pools whose window does not fit the map
 *    (or that would shrink a 1x1 map);
 * 4. skips are dropped when an end was dropped, when they do not go forward, when they repeat
 *    another skip, or when the shapes they join cannot be fitted (see shapes.ts).
 * Channel and feature counts follow from the layers (see genes.ts), and skips between maps of
 * other channel counts or sizes get their projection when compiled, so nothing else needs fixing.
 *
 * Layer numbers in the reported changes are 1-based positions in the list given to repair.
 */
import type { TensorShape } from '../ir.js';
import type { CompileTarget } from '../space.js';
import {
  GENE_ID_PATTERN,
  type LayerGene,
  type LayerGenome,
  type SkipGene,
  formatLayer,
  needsMap,
} from './genes.js';
import { fitSkip, layerStep } from './shapes.js';

/** A layer list that cannot be read or built; the message names the line, layer or field. */
export class LayerSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerSpaceError';
  }
}

export interface RepairResult {
  readonly genome: LayerGenome;
  /** One sentence per change, e.g. "dropped maxpool k2 s2 at layer 5: the map is already 1x1". */
  readonly changes: readonly string[];
}

/** A broken rule: what repair does about it, and how compile reports it. */
interface Issue {
  readonly change: string;
  readonly problem: string;
}

export interface Diagnosis {
  readonly repaired: LayerGenome;
  readonly issues: readonly Issue[];
  /** Output shape of every layer of the repaired list (after its skips are added). */
  readonly shapes: readonly TensorShape[];
}

/**
 * Throws if a gene id is malformed or repeated (ids are layer identities; a list with repeats is
 * corrupt, not merely unbuildable).
 */
export function checkIds(genome: LayerGenome): void {
  const seen = new Set<string>();
  for (const [index, gene] of genome.layers.entries()) {
    if (!GENE_ID_PATTERN.test(gene.id)) {
      throw new LayerSpaceError(
        `layer ${index + 1} (${formatLayer(gene)}) has the id "${gene.id}"; gene ids are "g" followed by lower-case letters and digits`,
      );
    }
    if (seen.has(gene.id)) {
      throw new LayerSpaceError(
        `layer ${index + 1} (${formatLayer(gene)}) repeats the id "${gene.id}" of an earlier layer`,
      );
    }
    seen.add(gene.id);
  }
}

/** Finds every broken rule and the repaired list (see the file header for the rules). */
export function diagnose(genome: LayerGenome, target: CompileTarget): Diagnosis {
  checkIds(genome);
  const issues: Issue[] = [];
  const position = new Map(genome.layers.map((gene, index) => [gene.id, index + 1]));
  const at = (gene: LayerGene): string => `${formatLayer(gene)} at layer ${position.get(gene.id)}`;
  const skipName = (skip: SkipGene): string =>
    `skip ${position.get(skip.from) ?? skip.from} -> ${position.get(skip.to) ?? skip.to}`;

  // 1. Skips must name layers of the list.
  let skips = genome.skips.filter((skip) => {
    const missing = [skip.from, skip.to].find((id) => !position.has(id));
    if (missing === undefined) return true;
    const reason = `layer id "${missing}" is not in the list`;
    issues.push({
      change: `dropped the skip from "${skip.from}" to "${skip.to}": ${reason}`,
      problem: `the skip from "${skip.from}" to "${skip.to}": ${reason}`,
    });
    return false;
  });

  // 2. Dense layers after every conv and pool.
  let lastMapLayer = -1;
  genome.layers.forEach((gene, index) => {
    if (needsMap(gene)) lastMapLayer = index;
  });
  const early = genome.layers.filter(
    (gene, index) => gene.kind === 'dense' && index < lastMapLayer,
  );
  let ordered = genome.layers;
  if (early.length > 0) {
    const anchor = genome.layers[lastMapLayer] as LayerGene;
    const reason = 'dense layers work on the flattened map, so they come after every conv and pool';
    for (const gene of early) {
      issues.push({
        change: `moved ${at(gene)} to after layer ${lastMapLayer + 1} (${formatLayer(anchor)}): ${reason}`,
        problem: `${at(gene)} comes before ${at(anchor)}: ${reason}`,
      });
    }
    const rest = genome.layers.filter((gene) => !early.includes(gene));
    const anchorIndex = rest.indexOf(anchor);
    ordered = [...rest.slice(0, anchorIndex + 1), ...early, ...rest.slice(anchorIndex + 1)];
  }

  // 3. Layers that do not fit their input are dropped.
  const layers: LayerGene[] = [];
  const shapes: TensorShape[] = [];
  let shape: TensorShape = { kind: 'map', ...target.input };
  for (const gene of ordered) {
    const step = layerStep(gene, shape);
    if (!step.ok) {
      issues.push({
        change: `dropped ${at(gene)}: ${step.reason}`,
        problem: `${at(gene)}: ${step.reason}`,
      });
      continue;
    }
    layers.push(gene);
    shapes.push(step.shape);
    shape = step.shape;
  }

  // 4. Skips go forward, once, between shapes that can be joined.
  const kept = new Map(layers.map((gene, index) => [gene.id, index]));
  const seen = new Set<string>();
  const byPosition = (skip: SkipGene): [number, number] => [
    kept.get(skip.from) ?? -1,
    kept.get(skip.to) ?? -1,
  ];
  skips = [...skips].sort((a, b) => {
    const [fa, ta] = byPosition(a);
    const [fb, tb] = byPosition(b);
    return fa - fb || ta - tb;
  });
  skips = skips.filter((skip) => {
    const refuse = (reason: string, problem = reason): false => {
      issues.push({
        change: `dropped ${skipName(skip)}: ${reason}`,
        problem: `${skipName(skip)}: ${problem}`,
      });
      return false;
    };
    const gone = [skip.from, skip.to].find((id) => !kept.has(id));
    if (gone !== undefined) {
      const end = `its ${gone === skip.from ? 'source' : 'target'}, ${at(genome.layers.find((g) => g.id === gone) as LayerGene)},`;
      return refuse(`${end} was dropped`, `${end} cannot be built`);
    }
    const [from, to] = byPosition(skip);
    if (from >= to) return refuse('a skip must go forward, from an earlier layer to a later one');
    const key = `${skip.from} ${skip.to}`;
    if (seen.has(key)) return refuse('it repeats an earlier skip');
    seen.add(key);
    const fit = fitSkip(shapes[from] as TensorShape, shapes[to] as TensorShape);
    return fit.ok ? true : refuse(fit.reason);
  });

  return { repaired: { layers, skips }, issues, shapes };
}

/**
 * Makes any layer list buildable for the target and reports what it changed (an empty list when
 * it was buildable already). Throws only if a gene id is malformed or repeated.
 */
export function repair(genome: LayerGenome, target: CompileTarget): RepairResult {
  const { repaired, issues } = diagnose(genome, target);
  return { genome: repaired, changes: issues.map((issue) => issue.change) };
}
