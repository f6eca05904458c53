/**
 * The grammar model: non-terminals with productions, and layer terminals whose parameters are
 * fixed values, integer or float ranges, or choices. `grammar-file.ts` builds it from YAML (and
 * checks it); `mapper.ts` decodes codon genomes with it. The layer catalog here says which layer
 * types exist, which parameters each takes, in which order codons decide them, and their bounds.
 */
import { ACTIVATIONS } from '../ir.js';

/** A place in the grammar file, 1-based, for error messages. */
export interface SourcePos {
  readonly line: number;
  readonly column: number;
}

/** A grammar that cannot be used; the message is `file:line:column: reason`. */
export class GrammarError extends Error {
  constructor(
    readonly file: string,
    readonly pos: SourcePos,
    readonly reason: string,
  ) {
    super(`${file}:${pos.line}:${pos.column}: ${reason}`);
    this.name = 'GrammarError';
  }
}

export const LAYER_TYPES = [
  'conv',
  'dense',
  'dropout',
  'batchnorm',
  'activation',
  'maxpool',
  'avgpool',
  'globalpool',
  'flatten',
] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

/** Parameter values as written: numbers, or names (activations, `same`/`valid`, `none`). */
export type ParamValue = number | string;

/**
 * How a parameter's values are checked: `int` and `float` within [min, max] (`float` below 1 when
 * `belowOne`), `activation` one of the IR activations, `activation?` the same or `none`,
 * `padding` `same`, `valid` or an integer 0..max.
 */
export type ParamKind = 'int' | 'float' | 'activation' | 'activation?' | 'padding';

export interface ParamDef {
  readonly name: string;
  readonly kind: ParamKind;
  readonly min: number;
  readonly max: number;
  /** The value when the grammar leaves the parameter out. */
  readonly default?: ParamValue;
  /** Or: the parameter, decided earlier, whose value it takes when left out. */
  readonly defaultFrom?: string;
}

/** A parameter without a default must be set by every terminal of its layer type. */
export function isRequired(def: ParamDef): boolean {
  return def.default === undefined && def.defaultFrom === undefined;
}

const int = (name: string, min: number, max: number, fallback?: number): ParamDef => ({
  name,
  kind: 'int',
  min,
  max,
  ...(fallback === undefined ? {} : { default: fallback }),
});
const padding = (fallback: 'same' | 'valid'): ParamDef => ({
  name: 'padding',
  kind: 'padding',
  min: 0,
  max: 7,
  default: fallback,
});
const activation = (required: boolean): ParamDef =>
  required
    ? { name: 'fn', kind: 'activation', min: 0, max: 0 }
    : { name: 'activation', kind: 'activation?', min: 0, max: 0, default: 'none' };
const poolParams: readonly ParamDef[] = [
  int('kernel', 1, 15, 2),
  { ...int('stride', 1, 15), defaultFrom: 'kernel' },
  padding('valid'),
];

/**
 * Every layer type's parameters, in the order codons decide them. A pool's stride, when the
 * grammar leaves it out, equals its kernel.
 */
export const LAYER_PARAMS: Readonly<Record<LayerType, readonly ParamDef[]>> = {
  conv: [
    int('filters', 1, 4096),
    int('kernel', 1, 15),
    int('stride', 1, 8, 1),
    padding('same'),
    activation(false),
  ],
  dense: [int('units', 1, 65536), activation(false)],
  dropout: [{ name: 'rate', kind: 'float', min: 0, max: 1 }],
  batchnorm: [],
  activation: [activation(true)],
  maxpool: poolParams,
  avgpool: poolParams,
  globalpool: [],
  flatten: [],
};

/** Why a single value is not allowed for a parameter, or null when it is. */
export function valueProblem(def: ParamDef, value: ParamValue): string | null {
  const bounds = `${def.min}..${def.max}`;
  switch (def.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return `${def.name} takes integers, got ${JSON.stringify(value)}`;
      return value < def.min || value > def.max
        ? `${def.name} ${value} is out of range (${bounds})`
        : null;
    case 'float':
      if (typeof value !== 'number')
        return `${def.name} takes numbers, got ${JSON.stringify(value)}`;
      return value < def.min || value >= def.max
        ? `${def.name} ${value} is out of range (${def.min} <= ${def.name} < ${def.max})`
        : null;
    case 'activation':
    case 'activation?': {
      const allowed: readonly string[] =
        def.kind === 'activation' ? ACTIVATIONS : [...ACTIVATIONS, 'none'];
      return typeof value === 'string' && allowed.includes(value)
        ? null
        : `${def.name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`;
    }
    case 'padding':
      if (value === 'same' || value === 'valid') return null;
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= def.max
        ? null
        : `padding must be same, valid or an integer 0..${def.max}; got ${JSON.stringify(value)}`;
  }
}

/** The numeric type of a parameter's ranges, or null when the parameter takes no range. */
export function rangeKind(def: ParamDef): 'int' | 'float' | null {
  if (def.kind === 'float') return 'float';
  return def.kind === 'int' || def.kind === 'padding' ? 'int' : null;
}

/** Padding 0 is valid padding: one spelling for one network. */
export function normaliseValue(def: ParamDef, value: ParamValue): ParamValue {
  return def.kind === 'padding' && value === 0 ? 'valid' : value;
}

/** How a float range is cut: `lo + k * (hi - lo) / FLOAT_STEPS`, k = codon mod (FLOAT_STEPS + 1). */
export const FLOAT_STEPS = 100;

/** The k-th value of a float range, rounded to 6 decimals so that its text form is exact. */
export function floatGridValue(lo: number, hi: number, k: number): number {
  return Number((lo + (k * (hi - lo)) / FLOAT_STEPS).toFixed(6));
}

/** How one parameter of a layer terminal is decided. */
export type ParamSpec =
  | { readonly kind: 'fixed'; readonly value: ParamValue; readonly pos: SourcePos }
  | { readonly kind: 'int'; readonly lo: number; readonly hi: number; readonly pos: SourcePos }
  | { readonly kind: 'float'; readonly lo: number; readonly hi: number; readonly pos: SourcePos }
  | { readonly kind: 'choice'; readonly values: readonly ParamValue[]; readonly pos: SourcePos };

/** How many values a codon chooses among (1 for a fixed value: no codon is read). */
export function specCount(spec: ParamSpec): number {
  switch (spec.kind) {
    case 'fixed':
      return 1;
    case 'int':
      return spec.hi - spec.lo + 1;
    case 'float':
      return FLOAT_STEPS + 1;
    case 'choice':
      return spec.values.length;
  }
}

/** The value a codon picks. */
export function specValue(def: ParamDef, spec: ParamSpec, codon: number): ParamValue {
  switch (spec.kind) {
    case 'fixed':
      return spec.value;
    case 'int':
      return normaliseValue(def, spec.lo + (codon % (spec.hi - spec.lo + 1)));
    case 'float':
      return floatGridValue(spec.lo, spec.hi, codon % (FLOAT_STEPS + 1));
    case 'choice':
      return spec.values[codon % spec.values.length] as ParamValue;
  }
}

/** A layer terminal: its type and a spec for each parameter it sets (the others take defaults). */
export interface LayerTemplate {
  readonly type: LayerType;
  readonly params: ReadonlyMap<string, ParamSpec>;
  readonly pos: SourcePos;
}

export type GrammarSymbol =
  | { readonly kind: 'rule'; readonly name: string; readonly pos: SourcePos }
  | { readonly kind: 'layer'; readonly layer: LayerTemplate; readonly pos: SourcePos };

export interface Production {
  readonly symbols: readonly GrammarSymbol[];
  readonly pos: SourcePos;
}

export interface Rule {
  /** With its angle brackets, as written: `<block>`. */
  readonly name: string;
  readonly productions: readonly Production[];
  readonly pos: SourcePos;
}

/** A checked grammar: every referenced rule exists, is reachable and can finish. */
export interface Grammar {
  /** Where it came from, for messages (a path, or a name given to `parseGrammar`). */
  readonly file: string;
  readonly start: string;
  readonly rules: ReadonlyMap<string, Rule>;
  readonly description?: string;
  /** What reading it changed (an original-format file: values shape inference replaces). */
  readonly notes?: readonly string[];
}
