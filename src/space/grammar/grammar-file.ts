/**
 * Loads a grammar from YAML and checks it, so that a broken grammar fails at load with the line,
 * the column and the reason: YAML syntax, a missing start or rules, an unknown non-terminal,
 * layer type or parameter, a bad range or value, a rule without productions, a rule that can
 * never finish (computed as a fixed point), or a rule that the start never reaches.
 * The format is documented in docs/grammars.md.
 */
import { readFileSync } from 'node:fs';
import {
  LineCounter,
  type Node as YamlNode,
  type Scalar,
  type YAMLMap,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
} from 'yaml';
import {
  type Grammar,
  type GrammarSymbol,
  GrammarError,
  LAYER_PARAMS,
  LAYER_TYPES,
  type LayerTemplate,
  type LayerType,
  type ParamDef,
  type ParamSpec,
  type ParamValue,
  type Production,
  type Rule,
  type SourcePos,
  isRequired,
  normaliseValue,
  rangeKind,
  valueProblem,
} from './grammar.js';
import { convertOriginalGrammar, isOriginalFormat } from './original-format.js';

const RULE_NAME = /^<[A-Za-z_][A-Za-z0-9_-]*>$/;
const TOP_KEYS = ['start', 'rules', 'description'];

class GrammarReader {
  private readonly lines = new LineCounter();

  constructor(private readonly file: string) {}

  fail(at: SourcePos, reason: string): never {
    throw new GrammarError(this.file, at, reason);
  }

  pos(node: YamlNode | null | undefined, fallback: SourcePos = { line: 1, column: 1 }): SourcePos {
    const offset = node?.range?.[0];
    if (offset === undefined) return fallback;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  read(text: string): Grammar {
    const doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true });
    const syntax = doc.errors[0];
    if (syntax) {
      const at = syntax.linePos?.[0];
      const reason = (syntax.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      this.fail(at ? { line: at.line, column: at.col } : { line: 1, column: 1 }, reason);
    }
    const top = doc.contents;
    if (!isMap(top)) {
      this.fail(this.pos(top), 'a grammar is a mapping with `start` and `rules`');
    }
    let start: { name: string; pos: SourcePos } | undefined;
    let rulesNode: YAMLMap | undefined;
    let description: string | undefined;
    for (const pair of top.items) {
      const key = this.scalarKey(pair.key);
      const keyPos = this.pos(pair.key as YamlNode);
      const value = pair.value as YamlNode | null;
      if (key === 'start') {
        if (!isScalar(value) || typeof value.value !== 'string' || !RULE_NAME.test(value.value)) {
          this.fail(this.pos(value, keyPos), 'start must name a rule, e.g. `start: <network>`');
        }
        start = { name: value.value, pos: this.pos(value) };
      } else if (key === 'rules') {
        if (!isMap(value) || value.items.length === 0) {
          this.fail(
            this.pos(value, keyPos),
            'rules must map rule names like <network> to lists of productions',
          );
        }
        rulesNode = value;
      } else if (key === 'description') {
        if (!isScalar(value) || typeof value.value !== 'string') {
          this.fail(this.pos(value, keyPos), 'description must be text');
        }
        description = value.value;
      } else {
        this.fail(keyPos, `unknown key "${key}" (a grammar has ${TOP_KEYS.join(', ')})`);
      }
    }
    if (!start)
      this.fail(this.pos(top), 'missing start: name the first rule, e.g. `start: <network>`');
    if (!rulesNode) this.fail(this.pos(top), 'missing rules');

    const rules = new Map<string, Rule>();
    for (const pair of rulesNode.items) {
      const name = this.scalarKey(pair.key);
      const pos = this.pos(pair.key as YamlNode);
      if (!RULE_NAME.test(name)) {
        this.fail(pos, `rule name "${name}" must be written in angle brackets, like <block>`);
      }
      rules.set(name, {
        name,
        pos,
        productions: this.productions(name, pair.value as YamlNode | null, pos),
      });
    }
    const grammar: Grammar = {
      file: this.file,
      start: start.name,
      rules,
      ...(description === undefined ? {} : { description }),
    };
    if (!rules.has(start.name)) {
      this.fail(
        start.pos,
        `start ${start.name} is not a rule (rules: ${[...rules.keys()].join(', ')})`,
      );
    }
    this.checkReferences(grammar);
    this.checkTermination(grammar);
    this.checkReachability(grammar);
    return grammar;
  }

  private scalarKey(node: unknown): string {
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
      this.fail(this.pos(node as YamlNode), 'keys must be plain names');
    }
    return String(node.value);
  }

  private productions(rule: string, node: YamlNode | null, keyPos: SourcePos): Production[] {
    if (!isSeq(node)) {
      this.fail(
        this.pos(node, keyPos),
        `rule ${rule} must be a list of productions, e.g. [[<a>, <b>], []]`,
      );
    }
    if (node.items.length === 0) {
      this.fail(
        this.pos(node),
        `rule ${rule} has no productions (write [] inside the list for an empty one: [[]])`,
      );
    }
    return node.items.map((item) => {
      const itemNode = item as YamlNode;
      const pos = this.pos(itemNode);
      const symbols = isSeq(itemNode)
        ? itemNode.items.map((symbol) => this.symbol(symbol as YamlNode))
        : [this.symbol(itemNode)];
      return { symbols, pos };
    });
  }

  private symbol(node: YamlNode): GrammarSymbol {
    const pos = this.pos(node);
    if (isAlias(node)) this.fail(pos, 'YAML aliases are not supported in grammars');
    if (isScalar(node) && typeof node.value === 'string') {
      const text = node.value;
      if (text.startsWith('<')) {
        if (!RULE_NAME.test(text)) this.fail(pos, `"${text}" is not a rule name like <block>`);
        return { kind: 'rule', name: text, pos };
      }
      const type = this.layerType(text, pos);
      const missing = LAYER_PARAMS[type].filter(isRequired).map((def) => def.name);
      if (missing.length > 0) {
        this.fail(
          pos,
          `${type} needs ${missing.join(', ')}: write { ${type}: { ${missing.map((m) => `${m}: ...`).join(', ')} } }`,
        );
      }
      return { kind: 'layer', layer: { type, params: new Map(), pos }, pos };
    }
    if (isMap(node)) {
      if (node.items.length !== 1) {
        this.fail(pos, 'a layer is written { type: { parameters } }, with exactly one type');
      }
      const pair = node.items[0] as { key: unknown; value: unknown };
      const type = this.layerType(this.scalarKey(pair.key), this.pos(pair.key as YamlNode));
      return { kind: 'layer', layer: this.layer(type, pair.value as YamlNode | null, pos), pos };
    }
    return this.fail(
      pos,
      'a symbol is a rule like <block>, a layer name like flatten, or a layer like { dense: { units: [16, 256] } }',
    );
  }

  private layerType(text: string, pos: SourcePos): LayerType {
    if (!(LAYER_TYPES as readonly string[]).includes(text)) {
      this.fail(pos, `unknown layer type "${text}" (layer types: ${LAYER_TYPES.join(', ')})`);
    }
    return text as LayerType;
  }

  private layer(type: LayerType, node: YamlNode | null, pos: SourcePos): LayerTemplate {
    const defs = LAYER_PARAMS[type];
    const params = new Map<string, ParamSpec>();
    const empty = node === null || (isScalar(node) && node.value === null);
    if (!empty && !isMap(node)) {
      this.fail(
        this.pos(node, pos),
        `the parameters of ${type} are a mapping, e.g. { ${type}: { ... } }`,
      );
    }
    for (const pair of empty ? [] : (node as YAMLMap).items) {
      const name = this.scalarKey(pair.key);
      const def = defs.find((d) => d.name === name);
      if (!def) {
        const known =
          defs.length > 0 ? `parameters: ${defs.map((d) => d.name).join(', ')}` : 'it takes none';
        this.fail(this.pos(pair.key as YamlNode), `${type} has no parameter "${name}" (${known})`);
      }
      params.set(
        name,
        this.paramSpec(type, def, pair.value as YamlNode | null, this.pos(pair.key as YamlNode)),
      );
    }
    const missing = defs.filter((def) => isRequired(def) && !params.has(def.name));
    if (missing.length > 0) {
      this.fail(pos, `${type} needs ${missing.map((def) => def.name).join(', ')}`);
    }
    // Keep the catalog's order: it is the order in which codons decide the parameters.
    const ordered = new Map<string, ParamSpec>();
    for (const def of defs) {
      const spec = params.get(def.name);
      if (spec) ordered.set(def.name, spec);
    }
    return { type, params: ordered, pos };
  }

  private paramSpec(
    type: LayerType,
    def: ParamDef,
    node: YamlNode | null,
    keyPos: SourcePos,
  ): ParamSpec {
    const pos = this.pos(node, keyPos);
    const what = `${type} ${def.name}`;
    const check = (value: ParamValue, at: SourcePos): ParamValue => {
      const problem = valueProblem(def, value);
      if (problem) this.fail(at, `${type}: ${problem}`);
      return normaliseValue(def, value);
    };
    const scalarValue = (item: unknown): ParamValue => {
      const scalar = item as Scalar;
      if (
        !isScalar(item) ||
        (typeof scalar.value !== 'number' && typeof scalar.value !== 'string')
      ) {
        this.fail(this.pos(item as YamlNode, pos), `${what}: values are numbers or names`);
      }
      return scalar.value as ParamValue;
    };
    const choice = (items: readonly unknown[]): ParamSpec => {
      if (items.length === 0) this.fail(pos, `${what}: a choice needs at least one value`);
      const values: ParamValue[] = [];
      for (const item of items) {
        const value = check(scalarValue(item), this.pos(item as YamlNode, pos));
        if (values.includes(value))
          this.fail(this.pos(item as YamlNode, pos), `${what}: ${value} is listed twice`);
        values.push(value);
      }
      return { kind: 'choice', values, pos };
    };

    if (isScalar(node)) return { kind: 'fixed', value: check(scalarValue(node), pos), pos };
    if (isMap(node)) {
      const [pair] = node.items;
      if (
        node.items.length !== 1 ||
        !pair ||
        this.scalarKey(pair.key) !== 'choice' ||
        !isSeq(pair.value)
      ) {
        this.fail(pos, `${what}: the only mapping a parameter takes is { choice: [values] }`);
      }
      return choice(pair.value.items);
    }
    if (!isSeq(node)) {
      return this.fail(
        pos,
        `${what}: give a value, a range [lo, hi] or a list of names to choose from`,
      );
    }
    const items = node.items.map(scalarValue);
    if (items.length === 0 || items.some((value) => typeof value !== 'number'))
      return choice(node.items);
    const numeric = rangeKind(def);
    if (!numeric) this.fail(pos, `${what} takes names, not a numeric range`);
    if (items.length !== 2) {
      this.fail(
        pos,
        `${what}: a range is [lo, hi]; for a choice of numbers write { choice: [${items.join(', ')}] }`,
      );
    }
    const [lo, hi] = items as [number, number];
    if (numeric === 'int' && (!Number.isInteger(lo) || !Number.isInteger(hi))) {
      this.fail(pos, `${what}: an integer range takes integers, got [${lo}, ${hi}]`);
    }
    if (lo > hi) this.fail(pos, `${what}: bad range [${lo}, ${hi}]: lo must not exceed hi`);
    check(lo, pos);
    check(hi, pos);
    return { kind: numeric, lo, hi, pos };
  }

  private checkReferences(grammar: Grammar): void {
    for (const rule of grammar.rules.values()) {
      for (const production of rule.productions) {
        for (const symbol of production.symbols) {
          if (symbol.kind === 'rule' && !grammar.rules.has(symbol.name)) {
            this.fail(
              symbol.pos,
              `unknown non-terminal ${symbol.name} in rule ${rule.name} (rules: ${[...grammar.rules.keys()].join(', ')})`,
            );
          }
        }
      }
    }
  }

  /** A rule can finish when one of its productions uses only rules that can: a fixed point. */
  private checkTermination(grammar: Grammar): void {
    const finishes = new Set<string>();
    for (let changed = true; changed;) {
      changed = false;
      for (const rule of grammar.rules.values()) {
        if (finishes.has(rule.name)) continue;
        const ok = rule.productions.some((p) =>
          p.symbols.every((s) => s.kind === 'layer' || finishes.has(s.name)),
        );
        if (ok) {
          finishes.add(rule.name);
          changed = true;
        }
      }
    }
    const stuck = new Map<string, string[]>();
    for (const rule of grammar.rules.values()) {
      if (finishes.has(rule.name)) continue;
      const names = rule.productions.flatMap((p) =>
        p.symbols.flatMap((s) => (s.kind === 'rule' && !finishes.has(s.name) ? [s.name] : [])),
      );
      stuck.set(rule.name, [...new Set(names)]);
    }
    // Every rule that cannot finish leads to a cycle of such rules: report a rule on one.
    const onCycle = (name: string): boolean => {
      const seen = new Set<string>();
      const queue = [...(stuck.get(name) ?? [])];
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
        if (next === name) return true;
        if (seen.has(next)) continue;
        seen.add(next);
        queue.push(...(stuck.get(next) ?? []));
      }
      return false;
    };
    const culprit = [...stuck.keys()].find(onCycle) ?? [...stuck.keys()][0];
    const rule = culprit === undefined ? undefined : grammar.rules.get(culprit);
    if (rule) {
      this.fail(
        rule.pos,
        `rule ${rule.name} never terminates: every production uses a rule that cannot finish (${(stuck.get(rule.name) ?? []).join(', ')}); add a production without them`,
      );
    }
  }

  private checkReachability(grammar: Grammar): void {
    const reached = new Set([grammar.start]);
    const queue = [grammar.start];
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      for (const production of grammar.rules.get(name)?.productions ?? []) {
        for (const symbol of production.symbols) {
          if (symbol.kind === 'rule' && !reached.has(symbol.name)) {
            reached.add(symbol.name);
            queue.push(symbol.name);
          }
        }
      }
    }
    for (const rule of grammar.rules.values()) {
      if (!reached.has(rule.name)) {
        this.fail(
          rule.pos,
          `rule ${rule.name} is unreachable: no derivation from ${grammar.start} uses it`,
        );
      }
    }
  }
}

/** Whether `text` is a grammar in the original grammatical-evolution format (by its keys). */
export function isOriginalGrammarText(text: string): boolean {
  const top = parseDocument(text).contents;
  if (!isMap(top)) return false;
  return isOriginalFormat(
    top.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : '')),
  );
}

/**
 * Parses and checks a grammar; `file` names it in error messages. Throws GrammarError. A file in
 * the original grammatical-evolution format (enter_expr, grammar, number_mapping) is converted
 * (./original-format.ts) and checked as its Nascent form, errors naming the original line.
 */
export function parseGrammar(text: string, file = 'grammar'): Grammar {
  if (!isOriginalGrammarText(text)) return new GrammarReader(file).read(text);
  const converted = convertOriginalGrammar(text, file);
  try {
    const grammar = new GrammarReader(file).read(converted.text);
    return converted.notes.length > 0 ? { ...grammar, notes: converted.notes } : grammar;
  } catch (error) {
    if (!(error instanceof GrammarError)) throw error;
    const from = converted.lineMap.get(error.pos.line) ?? { line: 1, column: 1 };
    throw new GrammarError(file, from, error.reason);
  }
}

/** Reads, parses and checks a grammar file. Throws GrammarError (or an Error if unreadable). */
export function loadGrammarFile(path: string): Grammar {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`cannot read grammar file ${path}: ${code}`);
  }
  return parseGrammar(text, path);
}
