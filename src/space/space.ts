/**
 * The interface every search space implements: sampling and variation operators over its own
 * genome type, a canonical text form (what users read and what deduplication keys on), a JSON
 * form that keeps whatever the text drops (layer identities), and compilation to the IR.
 */
import type { Random } from '../util/random.js';
import type { Architecture, InputShape } from './ir.js';

export interface CompileTarget {
  readonly input: InputShape;
  readonly classes: number;
}

export interface SearchSpace<G> {
  readonly name: string;
  /** A random genome that compiles for the target. */
  sample(random: Random, target: CompileTarget): G;
  /** A mutated copy that compiles for the target (repaired or resampled, never invalid). */
  mutate(genome: G, random: Random, target: CompileTarget): G;
  /** Two children that compile for the target. */
  crossover(a: G, b: G, random: Random, target: CompileTarget): [G, G];
  /** Canonical text: equal texts mean the same network. */
  format(genome: G): string;
  /** Parses a canonical text (fresh layer identities). */
  parse(text: string): G;
  toJSON(genome: G): unknown;
  fromJSON(value: unknown): G;
  /** Throws a clear error if the genome cannot be built for the target. */
  compile(genome: G, target: CompileTarget): Architecture;
  /**
   * Optional: one network holding every genome side by side, joined by `mix` nodes, for a DARTS
   * tournament (src/space/mixture.ts). Spaces with repeated positions (cells) mix per position;
   * without this method, {@link compileMixture} mixes the whole networks' outputs.
   */
  compileMixture?(genomes: readonly G[], target: CompileTarget): Architecture;
}
