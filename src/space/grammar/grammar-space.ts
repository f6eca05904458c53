/**
 * A user grammar as a SearchSpace, decoded by grammatical evolution: a genome is a list of integer
 * codons (0..codonMax) that `mapper.ts` turns into layers. Sampling draws random codons; mutation
 * changes codons within the effective length; one-point crossover cuts each parent within its
 * effective length. Every operator retries (and finally resamples) until its result maps to a
 * network that builds for the target, so none ever returns an invalid genome.
 *
 * The canonical text is the network, not the codons (`flatten; dense 128 relu; dropout 0.2`):
 * genomes that map to the same network are the same candidate. `parse` accepts that text (and
 * finds codons that derive it) or the codon form `ge:12,200,7`; the JSON form keeps the codons.
 */
import { z } from 'zod';
import type { Random } from '../../util/random.js';
import { OptionsError, describeSchemaIssues } from '../../util/unknown-keys.js';
import { type Architecture, analyzeArchitecture } from '../ir.js';
import type { CompileTarget, SearchSpace } from '../space.js';
import { type Grammar, GrammarError, LAYER_PARAMS, specCount } from './grammar.js';
import { type Mapping, deriveCodons, mapGenome } from './mapper.js';
import { compileLayers, formatLayers, parseLayers } from './phenotype.js';

export const GRAMMAR_SPACE_NAME = 'grammar';

/** A grammar-space genome: the codons, including the unused tail. */
export interface GrammarGenome {
  readonly codons: readonly number[];
}

/** The options' fields, without the cross-field checks (so configs can take a partial). */
export const grammarSpaceFieldsSchema = z
  .object({
    /** Codons in a sampled genome. */
    genomeLength: z.number().int().min(1).max(10_000),
    /** Crossover children are cut to this many codons. */
    maxGenomeLength: z.number().int().min(1).max(100_000),
    /** Codons are integers 0..codonMax. */
    codonMax: z.number().int().min(1).max(0x7fffffff),
    /** Times reading may wrap around to the first codon before the genome is invalid. */
    maxWraps: z.number().int().min(0).max(100),
    maxLayers: z.number().int().min(1).max(1000),
    maxDepth: z.number().int().min(1).max(10_000),
    /** Probability that mutation changes each codon within the effective length. */
    mutationRate: z.number().gt(0).max(1),
    /** Sampling and the operators reject networks with more trainable parameters. */
    maxParams: z.number().int().positive().optional(),
  })
  .strict();
export const grammarSpaceOptionsSchema = grammarSpaceFieldsSchema.refine(
  (o) => o.genomeLength <= o.maxGenomeLength,
  'genomeLength must not exceed maxGenomeLength',
);
export type GrammarSpaceOptions = z.infer<typeof grammarSpaceOptionsSchema>;

export const DEFAULT_GRAMMAR_SPACE: GrammarSpaceOptions = {
  genomeLength: 64,
  maxGenomeLength: 512,
  codonMax: 65535,
  maxWraps: 2,
  maxLayers: 48,
  maxDepth: 100,
  mutationRate: 0.05,
};

const ATTEMPTS = 50;
const SAMPLE_ATTEMPTS = 200;
const CODON_TEXT = /^ge:\s*(\d+(\s*,\s*\d+)*)\s*$/;

export class GrammarSpace implements SearchSpace<GrammarGenome> {
  readonly name = GRAMMAR_SPACE_NAME;
  readonly options: GrammarSpaceOptions;
  private readonly genomeSchema: z.ZodType<{ codons: number[] }>;

  constructor(
    readonly grammar: Grammar,
    options: Partial<GrammarSpaceOptions> = {},
  ) {
    const parsed = grammarSpaceOptionsSchema.safeParse({ ...DEFAULT_GRAMMAR_SPACE, ...options });
    if (!parsed.success) {
      throw new OptionsError(
        'invalid grammar space',
        describeSchemaIssues(parsed.error, grammarSpaceOptionsSchema, 'option'),
      );
    }
    this.options = parsed.data;
    this.checkCodonRange();
    this.genomeSchema = z.object({
      codons: z
        .array(z.number().int().min(0).max(this.options.codonMax))
        .min(1)
        .max(this.options.maxGenomeLength),
    });
  }

  /** Every choice in the grammar must be reachable by some codon. */
  private checkCodonRange(): void {
    const values = this.options.codonMax + 1;
    for (const rule of this.grammar.rules.values()) {
      if (rule.productions.length > values) {
        throw new GrammarError(
          this.grammar.file,
          rule.pos,
          `rule ${rule.name} has ${rule.productions.length} productions, more than the ${values} codon values (codonMax ${this.options.codonMax})`,
        );
      }
      for (const production of rule.productions) {
        for (const symbol of production.symbols) {
          if (symbol.kind !== 'layer') continue;
          for (const def of LAYER_PARAMS[symbol.layer.type]) {
            const spec = symbol.layer.params.get(def.name);
            if (spec && specCount(spec) > values) {
              throw new GrammarError(
                this.grammar.file,
                spec.pos,
                `${symbol.layer.type} ${def.name} has ${specCount(spec)} values, more than the ${values} codon values (codonMax ${this.options.codonMax})`,
              );
            }
          }
        }
      }
    }
  }

  /** The genome's mapping: its layers (or why it has none) and its effective length. */
  map(genome: GrammarGenome): Mapping {
    return mapGenome(this.grammar, genome.codons, this.options);
  }

  /** Codons that took part in the mapping (at most the genome's length). */
  effectiveLength(genome: GrammarGenome): number {
    return this.map(genome).effectiveLength;
  }

  format(genome: GrammarGenome): string {
    const mapping = this.map(genome);
    return mapping.valid ? formatLayers(mapping.layers) : `ge:${genome.codons.join(',')}`;
  }

  parse(text: string): GrammarGenome {
    const codonText = CODON_TEXT.exec(text);
    if (codonText) {
      return this.fromJSON({ codons: (codonText[1] as string).split(',').map(Number) });
    }
    if (text.trim().startsWith('ge:')) {
      throw new Error(`"${text}": the codon form is ge: followed by integers separated by commas`);
    }
    const layers = parseLayers(text);
    const codons = deriveCodons(this.grammar, layers);
    if (!codons) {
      throw new Error(
        `"${text}" is not in the grammar ${this.grammar.file}: no derivation from ${this.grammar.start} gives these layers`,
      );
    }
    // A genome needs a codon even when the grammar decides nothing.
    const genome = { codons: codons.length > 0 ? codons : [0] };
    const mapping = this.map(genome);
    if (!mapping.valid) throw new Error(`"${text}": ${mapping.reason}`);
    if (formatLayers(mapping.layers) !== formatLayers(layers)) {
      throw new Error(`internal: the codons derived for "${text}" map to another network`);
    }
    return genome;
  }

  toJSON(genome: GrammarGenome): unknown {
    return { codons: [...genome.codons] };
  }

  fromJSON(value: unknown): GrammarGenome {
    const parsed = this.genomeSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `not a grammar-space genome: ${issue ? `${issue.path.join('.') || 'genome'}: ${issue.message}` : ''}`,
      );
    }
    return parsed.data;
  }

  compile(genome: GrammarGenome, target: CompileTarget): Architecture {
    return this.build(genome, target).architecture;
  }

  private build(
    genome: GrammarGenome,
    target: CompileTarget,
  ): { architecture: Architecture; params: number } {
    const mapping = this.map(genome);
    if (!mapping.valid) throw new Error(`the genome does not map to a network: ${mapping.reason}`);
    const architecture = compileLayers(mapping.layers, target);
    return { architecture, params: analyzeArchitecture(architecture).params };
  }

  /** Why the genome is no candidate for the target, or null when it is one. */
  problem(genome: GrammarGenome, target: CompileTarget): string | null {
    try {
      const { params } = this.build(genome, target);
      const { maxParams } = this.options;
      return maxParams !== undefined && params > maxParams
        ? `${params} parameters, more than maxParams ${maxParams}`
        : null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private randomCodon(random: Random): number {
    return random.int(0, this.options.codonMax);
  }

  sample(random: Random, target: CompileTarget): GrammarGenome {
    let reason = '';
    for (let attempt = 0; attempt < SAMPLE_ATTEMPTS; attempt += 1) {
      const genome = {
        codons: Array.from({ length: this.options.genomeLength }, () => this.randomCodon(random)),
      };
      const problem = this.problem(genome, target);
      if (problem === null) return genome;
      reason = problem;
    }
    const { channels, height, width } = target.input;
    throw new Error(
      `the grammar ${this.grammar.file} gave no usable network for a ${channels}x${height}x${width} input in ${SAMPLE_ATTEMPTS} random genomes; the last: ${reason}`,
    );
  }

  /**
   * Codon mutation: each codon within the effective length changes with probability
   * `mutationRate` (at least one changes). Retried until the child maps to a different network
   * that builds; after that many tries, a fresh sample.
   */
  mutate(genome: GrammarGenome, random: Random, target: CompileTarget): GrammarGenome {
    const parentText = this.format(genome);
    const effective = Math.max(1, this.effectiveLength(genome));
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const codons = [...genome.codons];
      const change = (index: number): void => {
        let codon = this.randomCodon(random);
        while (codon === codons[index]) codon = this.randomCodon(random);
        codons[index] = codon;
      };
      let changed = false;
      for (let index = 0; index < effective; index += 1) {
        if (random.bool(this.options.mutationRate)) {
          change(index);
          changed = true;
        }
      }
      if (!changed) change(random.int(0, effective - 1));
      const child = { codons };
      if (this.problem(child, target) === null && this.format(child) !== parentText) return child;
    }
    return this.sample(random, target);
  }

  /**
   * One-point crossover: a cut in each parent within its effective length, heads swapped
   * (`a[..ca] + b[cb..]`, `b[..cb] + a[ca..]`), cut to `maxGenomeLength`. A child that does not
   * build is retried with new cuts; after that many tries it is its parent, mutated.
   */
  crossover(
    a: GrammarGenome,
    b: GrammarGenome,
    random: Random,
    target: CompileTarget,
  ): [GrammarGenome, GrammarGenome] {
    const effectiveA = Math.max(1, this.effectiveLength(a));
    const effectiveB = Math.max(1, this.effectiveLength(b));
    const cap = (codons: number[]): GrammarGenome => ({
      codons: codons.slice(0, this.options.maxGenomeLength),
    });
    let first: GrammarGenome | undefined;
    let second: GrammarGenome | undefined;
    for (let attempt = 0; attempt < ATTEMPTS && (!first || !second); attempt += 1) {
      const cutA = random.int(1, effectiveA);
      const cutB = random.int(1, effectiveB);
      const child1 = cap([...a.codons.slice(0, cutA), ...b.codons.slice(cutB)]);
      const child2 = cap([...b.codons.slice(0, cutB), ...a.codons.slice(cutA)]);
      if (!first && this.problem(child1, target) === null) first = child1;
      if (!second && this.problem(child2, target) === null) second = child2;
    }
    return [first ?? this.mutate(a, random, target), second ?? this.mutate(b, random, target)];
  }
}
