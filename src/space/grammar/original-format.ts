/**
 * The original grammatical-evolution NAS project's grammar format, read as it is, and its
 * conversion to Nascent's format (docs/grammars.md):
 *
 * ```yaml
 * enter_expr: <expr>
 * grammar:
 *   <expr>: ["<fc>$<bn>$<act>$<expr>$", "<fc>$<act>$"]
 *   <fc>: ["layer,fc,num_features:int_rnd_10-200$"]
 *   <bn>: ["layer,bn,num_features:64$", "layer,empty$"]
 *   <act>: ["layer,relu,empty$", "layer,sigmoid,empty$", "layer,tanh,empty$"]
 * number_mapping:
 *   int_rnd_10-200: [10, 200]
 * ```
 *
 * - A production is `$`-separated symbols: `<non-terminal>` or a terminal
 *   `layer,<kind>,<param>:<value>,...` (kinds fc, bn, do, relu, sigmoid, tanh; `empty` for no
 *   parameters; `layer,empty` alone is no layer). A value is a number or a placeholder of
 *   `number_mapping` (`[lo, hi]`, `{ min, max }` or `"lo-hi"`; `int...` names are integer ranges,
 *   `float...` names float ranges), which codons decide as Nascent's ranges do.
 * - fc's output count is `out_features` (or `num_features`, `units`); its `in_features` and bn's
 *   `num_features` follow from shape inference: a value the file gives is not used, and a note
 *   says so. The converted grammar flattens the image first (a start rule `<network>`).
 * - A broken file is refused with its line and the reason.
 */
import { LineCounter, type Node as YamlNode, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { GrammarError, type SourcePos } from './grammar.js';

export const ORIGINAL_FORMAT_KEYS = ['enter_expr', 'grammar', 'number_mapping'] as const;

const RULE_NAME = /^<[A-Za-z_][A-Za-z0-9_-]*>$/;

/** The original grammar converted to Nascent's YAML, with notes and a line map back. */
export interface ConvertedGrammar {
  /** The grammar in Nascent's format (a YAML text). */
  readonly text: string;
  /** What the conversion changed or ignored, each with the original line. */
  readonly notes: readonly string[];
  /** For each line of `text` (1-based index), the original file's position it came from. */
  readonly lineMap: ReadonlyMap<number, SourcePos>;
}

/** Whether a parsed YAML document's top-level keys are the original format's. */
export function isOriginalFormat(keys: readonly string[]): boolean {
  return keys.some((key) => (ORIGINAL_FORMAT_KEYS as readonly string[]).includes(key));
}

interface Range {
  readonly kind: 'int' | 'float';
  readonly lo: number;
  readonly hi: number;
}

const UNIT_NAMES = ['out_features', 'num_features', 'units'];
const ACTIVATION_KINDS = ['relu', 'sigmoid', 'tanh'];
const KINDS = ['fc', 'bn', 'do', ...ACTIVATION_KINDS];

/** Converts an original-format grammar text to Nascent's format; throws GrammarError. */
export function convertOriginalGrammar(text: string, file = 'grammar'): ConvertedGrammar {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const pos = (node: unknown, fallback: SourcePos = { line: 1, column: 1 }): SourcePos => {
    const offset = (node as YamlNode | null | undefined)?.range?.[0];
    if (offset === undefined) return fallback;
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const fail = (at: SourcePos, reason: string): never => {
    throw new GrammarError(file, at, reason);
  };
  const syntax = doc.errors[0];
  if (syntax) {
    const at = syntax.linePos?.[0];
    fail(
      at ? { line: at.line, column: at.col } : { line: 1, column: 1 },
      (syntax.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, ''),
    );
  }
  const top = doc.contents;
  if (!isMap(top))
    return fail(
      pos(top),
      'an original-format grammar is a mapping of enter_expr, grammar and number_mapping',
    );
  let enter: { name: string; pos: SourcePos } | undefined;
  let grammarNode: YamlNode | undefined;
  let grammarPos: SourcePos = { line: 1, column: 1 };
  let mappingNode: YamlNode | undefined;
  for (const pair of top.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const keyPos = pos(pair.key);
    const value = pair.value as YamlNode | null;
    if (key === 'enter_expr') {
      if (
        !isScalar(value) ||
        typeof value.value !== 'string' ||
        !RULE_NAME.test(value.value.trim())
      )
        fail(pos(value, keyPos), 'enter_expr must name a non-terminal, e.g. `enter_expr: <expr>`');
      enter = { name: String((value as { value: string }).value).trim(), pos: pos(value) };
    } else if (key === 'grammar') {
      grammarNode = value ?? undefined;
      grammarPos = keyPos;
    } else if (key === 'number_mapping') {
      mappingNode = value ?? undefined;
    } else {
      fail(
        keyPos,
        `unknown key "${key}" (an original-format grammar has ${ORIGINAL_FORMAT_KEYS.join(', ')}; Nascent's own format has start, rules, description)`,
      );
    }
  }
  if (enter === undefined)
    return fail(pos(top), 'missing enter_expr: the start non-terminal, e.g. `enter_expr: <expr>`');
  if (grammarNode === undefined || !isMap(grammarNode) || grammarNode.items.length === 0)
    return fail(grammarPos, 'grammar must map non-terminals like <expr> to lists of productions');

  const ranges = new Map<string, Range>();
  if (mappingNode !== undefined && !(isScalar(mappingNode) && mappingNode.value === null)) {
    if (!isMap(mappingNode))
      fail(pos(mappingNode), 'number_mapping must map placeholders like int_rnd_10-20 to [lo, hi]');
    for (const pair of (mappingNode as { items: Array<{ key: unknown; value: unknown }> }).items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const at = pos(pair.key);
      const value = pair.value as YamlNode | null;
      let bounds: unknown[] = [];
      if (isSeq(value))
        bounds = value.items.map((item) => (isScalar(item) ? item.value : undefined));
      else if (isMap(value)) {
        const get = (...keys: string[]): unknown =>
          value.items.find((item) => isScalar(item.key) && keys.includes(String(item.key.value)))
            ?.value;
        bounds = [get('min', 'low', 'lo'), get('max', 'high', 'hi')].map((item) =>
          isScalar(item) ? item.value : undefined,
        );
      } else if (isScalar(value) && typeof value.value === 'string') {
        bounds = value.value.split(/\s*-\s*|\s*,\s*/).map(Number);
      }
      const [lo, hi] = bounds.map((bound) => (typeof bound === 'string' ? Number(bound) : bound));
      if (
        bounds.length !== 2 ||
        typeof lo !== 'number' ||
        typeof hi !== 'number' ||
        Number.isNaN(lo) ||
        Number.isNaN(hi)
      )
        fail(pos(value, at), `number_mapping ${name}: give its bounds as [lo, hi]`);
      if ((lo as number) > (hi as number))
        fail(
          pos(value, at),
          `number_mapping ${name}: bad range [${String(lo)}, ${String(hi)}]: lo must not exceed hi`,
        );
      const kind = name.startsWith('float')
        ? 'float'
        : name.startsWith('int') || (Number.isInteger(lo) && Number.isInteger(hi))
          ? 'int'
          : 'float';
      if (kind === 'int' && (!Number.isInteger(lo) || !Number.isInteger(hi)))
        fail(
          pos(value, at),
          `number_mapping ${name}: an integer placeholder takes integer bounds, got [${String(lo)}, ${String(hi)}]`,
        );
      ranges.set(name, { kind, lo: lo as number, hi: hi as number });
    }
  }

  const notes: string[] = [];
  const out: string[] = [];
  const lineMap = new Map<number, SourcePos>();
  const emit = (line: string, from: SourcePos): void => {
    out.push(line);
    lineMap.set(out.length, from);
  };
  const names = new Set(
    grammarNode.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value).trim() : '')),
  );
  let wrapper = '<network>';
  for (let i = 0; names.has(wrapper); i += 1) wrapper = `<network_${i}>`;
  emit(
    `# Converted from ${file} (the original grammatical-evolution format) by nascent grammar convert.`,
    enter.pos,
  );
  emit(`description: ${JSON.stringify(`converted from ${file}`)}`, enter.pos);
  emit(`start: ${JSON.stringify(wrapper)}`, enter.pos);
  emit('rules:', grammarPos);
  // The original grammars build fully-connected networks: the image is flattened first.
  emit(`  ${JSON.stringify(wrapper)}:`, enter.pos);
  emit(`    - [flatten, ${JSON.stringify(enter.name)}]`, enter.pos);

  const value = (
    text: string,
    at: SourcePos,
    what: string,
    integer: boolean,
  ): { yaml: string; range?: Range } => {
    const number = Number(text);
    if (text.length > 0 && !Number.isNaN(number)) {
      if (integer && !Number.isInteger(number)) fail(at, `${what} takes an integer, got ${text}`);
      return { yaml: String(number) };
    }
    const range = ranges.get(text);
    if (range === undefined)
      return fail(
        at,
        `${what}: "${text}" is neither a number nor a placeholder of number_mapping (${[...ranges.keys()].join(', ') || 'number_mapping is empty'})`,
      );
    if (integer && range.kind !== 'int')
      fail(
        at,
        `${what}: placeholder ${text} is a float range; it needs integers (name it int_...)`,
      );
    return { yaml: `[${range.lo}, ${range.hi}]`, range };
  };

  const terminal = (text: string, at: SourcePos): string | null => {
    const parts = text.split(',').map((part) => part.trim());
    if (parts[0] !== 'layer')
      return fail(
        at,
        `"${text}" is neither a non-terminal like <fc> nor a terminal layer,<kind>,...`,
      );
    const kind = parts[1] ?? '';
    if (kind === 'empty' && parts.length === 2) return null;
    if (!KINDS.includes(kind))
      fail(
        at,
        `unknown layer kind "${kind}" in "${text}" (kinds: ${KINDS.join(', ')}, or layer,empty for none)`,
      );
    const params = new Map<string, string>();
    for (const part of parts.slice(2)) {
      if (part === 'empty' || part === '') continue;
      const colon = part.indexOf(':');
      if (colon <= 0) fail(at, `parameter "${part}" of ${kind} must be written name:value`);
      const name = part.slice(0, colon).trim();
      if (params.has(name)) fail(at, `${kind} sets ${name} twice`);
      params.set(name, part.slice(colon + 1).trim());
    }
    const known: Record<string, readonly string[]> = {
      fc: ['in_features', ...UNIT_NAMES, 'bias'],
      bn: ['num_features', 'eps', 'momentum'],
      do: ['p', 'rate', 'inplace'],
    };
    for (const name of params.keys()) {
      if (!(known[kind] ?? []).includes(name))
        fail(
          at,
          `${kind} has no parameter "${name}" (${known[kind] ? `parameters: ${(known[kind] ?? []).join(', ')}` : 'it takes none: write layer,' + kind + ',empty'})`,
        );
    }
    const inferred = (name: string): void => {
      const given = params.get(name);
      if (given !== undefined)
        notes.push(
          `${file}:${at.line}: ${kind} ${name}:${given} is not used: Nascent infers it from the shape of the layer before`,
        );
    };
    const ignored = (name: string): void => {
      if (params.has(name))
        notes.push(
          `${file}:${at.line}: ${kind} ${name}:${params.get(name)} is ignored (Nascent's default is used)`,
        );
    };
    switch (kind) {
      case 'fc': {
        inferred('in_features');
        ignored('bias');
        const unitNames = UNIT_NAMES.filter((name) => params.has(name));
        if (unitNames.length === 0)
          fail(
            at,
            `fc needs its output count: layer,fc,out_features:64 (or num_features:int_rnd_16-256)`,
          );
        if (unitNames.length > 1)
          fail(at, `fc sets its output count twice (${unitNames.join(', ')})`);
        const units = value(
          params.get(unitNames[0] as string) ?? '',
          at,
          `fc ${unitNames[0]}`,
          true,
        );
        if (units.range && units.range.lo < 1)
          fail(at, `fc ${unitNames[0]}: the range ${units.yaml} must start at 1 or more`);
        return `{ dense: { units: ${units.yaml} } }`;
      }
      case 'bn':
        inferred('num_features');
        ignored('eps');
        ignored('momentum');
        return 'batchnorm';
      case 'do': {
        ignored('inplace');
        if (params.has('p') && params.has('rate')) fail(at, 'do sets its rate twice (p and rate)');
        const given = params.get('p') ?? params.get('rate');
        if (given === undefined)
          return fail(at, 'do needs its rate: layer,do,p:0.5 (or p:float_rnd_0-1)');
        const rate = value(given, at, 'do p', false);
        if (rate.range !== undefined) {
          let { lo, hi } = rate.range;
          if (hi >= 1) {
            notes.push(
              `${file}:${at.line}: do p ${given} reaches ${hi}; capped at 0.99 (a rate of 1 drops every unit)`,
            );
            hi = 0.99;
          }
          if (lo < 0 || lo > hi)
            fail(at, `do p: the range [${rate.range.lo}, ${rate.range.hi}] is not within 0..1`);
          lo = Math.min(lo, hi);
          return `{ dropout: { rate: [${lo}, ${hi}] } }`;
        }
        const fixed = Number(rate.yaml);
        if (!(fixed >= 0 && fixed < 1)) fail(at, `do p ${fixed} must be at least 0 and below 1`);
        return `{ dropout: { rate: ${fixed} } }`;
      }
      default:
        return `{ activation: { fn: ${kind} } }`;
    }
  };

  for (const pair of grammarNode.items) {
    const keyPos = pos(pair.key);
    const name = isScalar(pair.key) ? String(pair.key.value).trim() : '';
    if (!RULE_NAME.test(name))
      fail(keyPos, `non-terminal "${name}" must be written in angle brackets, like <expr>`);
    emit(`  ${JSON.stringify(name)}:`, keyPos);
    const productions = pair.value as YamlNode | null;
    const items: unknown[] = isSeq(productions)
      ? productions.items
      : isScalar(productions) && typeof productions.value === 'string'
        ? [productions]
        : fail(
            pos(productions, keyPos),
            `${name} must be a list of productions like "<fc>$<act>$"`,
          );
    if (items.length === 0) fail(pos(productions, keyPos), `${name} has no productions`);
    for (const item of items) {
      const at = pos(item, keyPos);
      if (!isScalar(item) || (typeof item.value !== 'string' && item.value !== null))
        fail(at, `a production of ${name} is a text of $-separated symbols, like "<fc>$<act>$"`);
      const textValue = String((item as { value: unknown }).value ?? '');
      const symbols: string[] = [];
      for (const piece of textValue.split('$').map((part) => part.trim())) {
        if (piece === '') continue;
        if (piece.startsWith('<')) {
          if (!RULE_NAME.test(piece)) fail(at, `"${piece}" is not a non-terminal like <expr>`);
          if (!names.has(piece))
            fail(
              at,
              `unknown non-terminal ${piece} in ${name} (non-terminals: ${[...names].join(', ')})`,
            );
          symbols.push(JSON.stringify(piece));
        } else {
          const layer = terminal(piece, at);
          if (layer !== null) symbols.push(layer);
        }
      }
      emit(`    - [${symbols.join(', ')}]`, at);
    }
  }
  if (!names.has(enter.name))
    fail(
      enter.pos,
      `enter_expr ${enter.name} is not a non-terminal of grammar (${[...names].join(', ')})`,
    );
  const header = notes.map((note) => `# note: ${note}`);
  // the notes go after the first line: the line map shifts by their count
  const shifted = new Map<number, SourcePos>();
  for (const [line, from] of lineMap) shifted.set(line > 1 ? line + header.length : line, from);
  for (let i = 0; i < header.length; i += 1) shifted.set(2 + i, enter.pos);
  return {
    text: `${[out[0], ...header, ...out.slice(1)].join('\n')}\n`,
    notes,
    lineMap: shifted,
  };
}
