/**
 * Grammatical-evolution mapping: codons to a layer sequence, by leftmost derivation.
 *
 * The derivation starts from the start rule and always expands the leftmost symbol. A rule with
 * n > 1 productions reads the next codon and takes production `codon mod n`; a layer terminal
 * reads one codon for each parameter that has n > 1 possible values, in the catalog's order
 * (integer range: `lo + codon mod (hi - lo + 1)`; float range: grid point `codon mod 101`;
 * choice: `values[codon mod n]`). A rule with one production and a fixed value read nothing.
 * When the codons run out, reading wraps around to the first codon, at most `maxWraps` times;
 * a derivation still unfinished then is invalid, as are ones deeper than `maxDepth`, longer than
 * `maxLayers`, or whose layers cannot follow each other (a conv after flatten).
 *
 * `deriveCodons` goes the other way: it finds a derivation of a given layer sequence (an Earley-
 * like fixed point over spans, so left recursion and empty productions are fine) and writes the
 * codons that make the mapping take it.
 */
import {
  type Grammar,
  type GrammarSymbol,
  type LayerTemplate,
  type ParamValue,
  FLOAT_STEPS,
  LAYER_PARAMS,
  floatGridValue,
  specCount,
  specValue,
} from './grammar.js';
import { type Layer, buildLayer, formatLayer, sequenceProblem } from './phenotype.js';

export interface MappingLimits {
  /** How many times reading may wrap around to the first codon (0: never). */
  readonly maxWraps: number;
  /** The most layers a network may have. */
  readonly maxLayers: number;
  /** The deepest a derivation tree may be (the start rule is depth 1). */
  readonly maxDepth: number;
}

interface MappingCommon {
  /** Codons read, counting re-reads after wrapping. */
  readonly used: number;
  /** Codons that took part: `min(used, genome length)`; the operators work within them. */
  readonly effectiveLength: number;
}

export type Mapping =
  | (MappingCommon & { readonly valid: true; readonly layers: readonly Layer[] })
  | (MappingCommon & { readonly valid: false; readonly reason: string });

class InvalidMapping extends Error {}

type WorkItem =
  | { readonly kind: 'rule'; readonly name: string; readonly depth: number }
  | { readonly kind: 'layer'; readonly layer: LayerTemplate };

/** The layer a terminal gives, reading a codon for each parameter with a choice. */
export function resolveLayer(template: LayerTemplate, read: () => number): Layer {
  const values = new Map<string, ParamValue>();
  for (const def of LAYER_PARAMS[template.type]) {
    const spec = template.params.get(def.name);
    if (!spec) continue;
    values.set(def.name, specValue(def, spec, specCount(spec) > 1 ? read() : 0));
  }
  return buildLayer(template.type, values);
}

/** Maps codons to layers. Deterministic: the same codons always give the same result. */
export function mapGenome(
  grammar: Grammar,
  codons: readonly number[],
  limits: MappingLimits,
): Mapping {
  let used = 0;
  const capacity = codons.length * (limits.maxWraps + 1);
  /** What the derivation is deciding, for the message when the codons run out. */
  let deciding = grammar.start;
  const read = (): number => {
    if (used >= capacity) {
      throw new InvalidMapping(
        codons.length === 0
          ? 'the genome has no codons'
          : `the derivation did not finish within ${codons.length} codons and ${limits.maxWraps} wrap${limits.maxWraps === 1 ? '' : 's'} (${used} codons read, deciding ${deciding})`,
      );
    }
    const codon = codons[used % codons.length] as number;
    used += 1;
    return codon;
  };
  const layers: Layer[] = [];
  const result = (fields: { valid: true; layers: Layer[] } | { valid: false; reason: string }) =>
    ({ ...fields, used, effectiveLength: Math.min(used, codons.length) }) as Mapping;
  try {
    // The symbols still to derive, leftmost on top.
    const work: WorkItem[] = [{ kind: 'rule', name: grammar.start, depth: 1 }];
    for (let item = work.pop(); item !== undefined; item = work.pop()) {
      if (item.kind === 'layer') {
        deciding = `a ${item.layer.type} layer`;
        layers.push(resolveLayer(item.layer, read));
        if (layers.length > limits.maxLayers) {
          throw new InvalidMapping(
            `the network has more than maxLayers ${limits.maxLayers} layers`,
          );
        }
        continue;
      }
      if (item.depth > limits.maxDepth) {
        throw new InvalidMapping(
          `the derivation is deeper than maxDepth ${limits.maxDepth} (at ${item.name})`,
        );
      }
      const rule = grammar.rules.get(item.name);
      if (!rule) throw new Error(`internal: unknown rule ${item.name}`);
      deciding = item.name;
      const count = rule.productions.length;
      const symbols = rule.productions[count > 1 ? read() % count : 0]?.symbols ?? [];
      for (let i = symbols.length - 1; i >= 0; i -= 1) {
        const symbol = symbols[i] as GrammarSymbol;
        work.push(
          symbol.kind === 'rule'
            ? { kind: 'rule', name: symbol.name, depth: item.depth + 1 }
            : { kind: 'layer', layer: symbol.layer },
        );
      }
    }
  } catch (error) {
    if (error instanceof InvalidMapping) return result({ valid: false, reason: error.message });
    throw error;
  }
  const problem = sequenceProblem(layers);
  return problem ? result({ valid: false, reason: problem }) : result({ valid: true, layers });
}

/**
 * The codons a terminal needs to give exactly `layer`, or null if it cannot. Each parameter with
 * a choice gets the smallest codon that picks the layer's value; the result is checked by
 * resolving the terminal with them (defaults such as a pool's stride included).
 */
function terminalCodons(template: LayerTemplate, layer: Layer): number[] | null {
  if (template.type !== layer.type) return null;
  const fields = layer as unknown as Readonly<Record<string, ParamValue | undefined>>;
  const codons: number[] = [];
  for (const def of LAYER_PARAMS[template.type]) {
    const spec = template.params.get(def.name);
    if (!spec || specCount(spec) <= 1) continue;
    const wanted: ParamValue = fields[def.name] ?? (def.kind === 'activation?' ? 'none' : '');
    let codon = -1;
    switch (spec.kind) {
      case 'int': {
        const numeric = wanted === 'valid' ? 0 : wanted;
        if (typeof numeric === 'number' && numeric >= spec.lo && numeric <= spec.hi)
          codon = numeric - spec.lo;
        break;
      }
      case 'float':
        for (let k = 0; k <= FLOAT_STEPS && codon < 0; k += 1) {
          if (floatGridValue(spec.lo, spec.hi, k) === wanted) codon = k;
        }
        break;
      case 'choice':
        codon = spec.values.indexOf(wanted);
        break;
      case 'fixed':
        break;
    }
    if (codon < 0) return null;
    codons.push(codon);
  }
  let next = 0;
  const resolved = resolveLayer(template, () => codons[next++] as number);
  return formatLayer(resolved) === formatLayer(layer) ? codons : null;
}

/**
 * Codons whose mapping derives exactly `layers` (without wrapping), or null when the grammar
 * cannot derive them. Spans are filled in rounds: in round r, a rule covers layers [i, j) if one
 * of its productions does using only facts of earlier rounds; the round numbers then rank the
 * facts, so rebuilding a derivation from ranks always terminates (even with cycles).
 */
export function deriveCodons(grammar: Grammar, layers: readonly Layer[]): number[] | null {
  const n = layers.length;
  const size = n + 1;
  /** rank of the fact "rule covers layers [i, j)" at i * size + j: the round it was found in. */
  const ranks = new Map<string, Int32Array>();
  for (const name of grammar.rules.keys()) ranks.set(name, new Int32Array(size * size));
  const rankOf = (rule: string, i: number, j: number): number =>
    (ranks.get(rule) as Int32Array)[i * size + j] as number;
  const terminalCache = new Map<LayerTemplate, (number[] | null)[]>();
  const matchTerminal = (template: LayerTemplate, i: number): number[] | null => {
    let row = terminalCache.get(template);
    if (!row) {
      row = layers.map((layer) => terminalCodons(template, layer));
      terminalCache.set(template, row);
    }
    return i < n ? (row[i] ?? null) : null;
  };
  type Symbols = readonly GrammarSymbol[];
  /** Per round: end positions reachable by symbols[k..] from i, keyed by k * size + i. */
  let memo = new Map<Symbols, Map<number, readonly number[]>>();
  /** End positions reachable by symbols[k..] from position i, with facts ranked below `below`. */
  const ends = (symbols: Symbols, k: number, i: number, below: number): readonly number[] => {
    const symbol = symbols[k];
    if (!symbol) return [i];
    let table = memo.get(symbols);
    if (!table) {
      table = new Map();
      memo.set(symbols, table);
    }
    const cached = table.get(k * size + i);
    if (cached) return cached;
    const mids: number[] = [];
    if (symbol.kind === 'layer') {
      if (matchTerminal(symbol.layer, i)) mids.push(i + 1);
    } else {
      for (let m = i; m <= n; m += 1) {
        const r = rankOf(symbol.name, i, m);
        if (r > 0 && r < below) mids.push(m);
      }
    }
    const out = new Set<number>();
    for (const m of mids) for (const j of ends(symbols, k + 1, m, below)) out.add(j);
    const result = [...out];
    table.set(k * size + i, result);
    return result;
  };

  for (let round = 1; ; round += 1) {
    memo = new Map();
    const found: [Int32Array, number][] = [];
    for (const rule of grammar.rules.values()) {
      const row = ranks.get(rule.name) as Int32Array;
      for (let i = 0; i <= n; i += 1) {
        for (const production of rule.productions) {
          for (const j of ends(production.symbols, 0, i, round)) {
            if (row[i * size + j] === 0) found.push([row, i * size + j]);
          }
        }
      }
    }
    if (found.length === 0) break;
    for (const [row, at] of found) row[at] = round;
  }
  if (rankOf(grammar.start, 0, n) === 0) return null;

  type Step = { codons: number[] } | { rule: string; i: number; j: number };
  /** A way for symbols[k..] to cover exactly [i, j) using facts ranked below `below`. */
  const split = (
    symbols: Symbols,
    k: number,
    i: number,
    j: number,
    below: number,
  ): Step[] | null => {
    const symbol = symbols[k];
    if (!symbol) return i === j ? [] : null;
    if (symbol.kind === 'layer') {
      const codons = i < j ? matchTerminal(symbol.layer, i) : null;
      const rest = codons ? split(symbols, k + 1, i + 1, j, below) : null;
      return codons && rest ? [{ codons }, ...rest] : null;
    }
    for (let m = i; m <= j; m += 1) {
      const r = rankOf(symbol.name, i, m);
      if (r === 0 || r >= below) continue;
      const rest = split(symbols, k + 1, m, j, below);
      if (rest) return [{ rule: symbol.name, i, j: m }, ...rest];
    }
    return null;
  };
  const out: number[] = [];
  const emit = (name: string, i: number, j: number): void => {
    const rule = grammar.rules.get(name);
    const below = rule ? rankOf(name, i, j) : 0;
    if (!rule || below === 0) throw new Error(`internal: no derivation of ${name}`);
    for (const [index, production] of rule.productions.entries()) {
      const steps = split(production.symbols, 0, i, j, below);
      if (!steps) continue;
      if (rule.productions.length > 1) out.push(index);
      for (const step of steps) {
        if ('codons' in step) out.push(...step.codons);
        else emit(step.rule, step.i, step.j);
      }
      return;
    }
    throw new Error(`internal: derivation of ${name} over [${i}, ${j}) lost`);
  };
  emit(grammar.start, 0, n);
  return out;
}
