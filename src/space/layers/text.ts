/**
 * The text form of a layer list: one line per layer, then one line per skip.
 *
 * ```
 * conv 32 k3 s1 relu      # filters, kernel, stride, activation (same padding)
 * conv 32 k3 s1 bn relu   # the same with batch norm before the activation (and no conv bias)
 * maxpool k2 s2           # kernel, stride (no padding); avgpool likewise
 * batchnorm
 * dropout 0.25            # rate in (0, 1)
 * dense 128 relu          # units, activation (the map is flattened before the first dense)
 * skip 1 -> 4             # add layer 1's output to layer 4's (1-based layer numbers)
 * ```
 *
 * `;` separates lines too, so a whole list fits in one command-line argument:
 * `conv 32 k3 s1 relu; maxpool k2 s2; dense 128 relu; skip 1 -> 2`. Line numbers in error
 * messages count both separators. `#` starts a comment; blank lines are ignored; skip lines may
 * come anywhere (their numbers count layer lines only).
 *
 * The canonical form ({@link formatLayers}) writes the layers in order, then the skips sorted by
 * source and target, one space between tokens, lines joined by a newline: two lists have the same
 * text exactly when they compile to the same network.
 */
import { ACTIVATIONS, type Activation } from '../ir.js';
import {
  LAYER_LIMITS,
  type LayerGene,
  type LayerGenome,
  type SkipGene,
  formatLayer,
} from './genes.js';
import { LayerSpaceError } from './repair.js';

/** Skips as 1-based layer positions, sorted by source and then target. */
function skipPositions(genome: LayerGenome): Array<[number, number]> {
  const position = new Map(genome.layers.map((gene, index) => [gene.id, index + 1]));
  return genome.skips
    .map((skip): [number, number] => {
      const from = position.get(skip.from);
      const to = position.get(skip.to);
      if (from === undefined || to === undefined) {
        throw new LayerSpaceError(
          `the skip from "${skip.from}" to "${skip.to}" names a layer id that is not in the list`,
        );
      }
      return [from, to];
    })
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

function formatLines(genome: LayerGenome): string[] {
  return [
    ...genome.layers.map(formatLayer),
    ...skipPositions(genome).map(([from, to]) => `skip ${from} -> ${to}`),
  ];
}

/** The canonical text: one line per layer, then the sorted skips (see the file header). */
export function formatLayers(genome: LayerGenome): string {
  return formatLines(genome).join('\n');
}

/** The same lines joined by `; `, for tables and command lines; {@link parseLayers} reads it. */
export function formatLayersOneLine(genome: LayerGenome): string {
  return formatLines(genome).join('; ');
}

const ACTIVATION_SET: ReadonlySet<string> = new Set(ACTIVATIONS);

const USAGE: Readonly<Record<string, string>> = {
  conv: '<filters> k<kernel> s<stride> [bn] <activation>',
  maxpool: 'k<kernel> s<stride>',
  avgpool: 'k<kernel> s<stride>',
  batchnorm: '',
  dropout: '<rate>',
  dense: '<units> <activation>',
};

/** Parses one line's values; `fail` throws with the line named. */
class LineReader {
  constructor(readonly fail: (problem: string) => never) {}

  integer(text: string, what: string, max: number, prefix = ''): number {
    const digits = prefix ? text.slice(prefix.length) : text;
    if (prefix && !text.startsWith(prefix)) {
      this.fail(`${what} "${text}" must be written ${prefix}<${what}>, e.g. ${prefix}3`);
    }
    if (!/^\d+$/.test(digits)) this.fail(`${what} "${text}" is not a whole number`);
    const value = Number(digits);
    if (value < 1 || value > max) this.fail(`${what} ${value} is out of range (1..${max})`);
    return value;
  }

  activation(text: string): Activation {
    if (!ACTIVATION_SET.has(text)) {
      this.fail(`unknown activation "${text}" (expected one of ${ACTIVATIONS.join(', ')})`);
    }
    return text as Activation;
  }

  rate(text: string): number {
    const value = /^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(text) ? Number(text) : Number.NaN;
    if (!(value > 0 && value < 1)) {
      this.fail(`dropout rate "${text}" must be a number above 0 and below 1, e.g. 0.25`);
    }
    return value;
  }
}

function parseLayerLine(
  keyword: string,
  values: string[],
  reader: LineReader,
  id: string,
): LayerGene {
  const usage = USAGE[keyword];
  if (usage === undefined) {
    reader.fail(
      `unknown layer "${keyword}" (expected conv, maxpool, avgpool, batchnorm, dropout, dense or skip)`,
    );
  }
  const tokens = usage === '' ? [] : usage.split(' ');
  const required = tokens.filter((token) => !token.startsWith('[')).length;
  if (values.length < required || values.length > tokens.length) {
    const count = required === tokens.length ? `${required}` : `${required} or ${tokens.length}`;
    reader.fail(
      tokens.length === 0
        ? `${keyword} takes no values, got ${values.length}`
        : `${keyword} takes ${count} value${count === '1' ? '' : 's'}, "${usage}", got ${values.length}`,
    );
  }
  const [first = '', second = '', third = '', fourth = ''] = values;
  switch (keyword) {
    case 'conv': {
      const norm = values.length === 5;
      if (norm && fourth !== 'bn') {
        reader.fail(
          `expected "bn" (batch norm) or the activation after the stride, got "${fourth}"`,
        );
      }
      return {
        id,
        kind: 'conv',
        filters: reader.integer(first, 'filters', LAYER_LIMITS.maxFilters),
        kernel: reader.integer(second, 'kernel', LAYER_LIMITS.maxKernel, 'k'),
        stride: reader.integer(third, 'stride', LAYER_LIMITS.maxStride, 's'),
        ...(norm ? { norm: true as const } : {}),
        activation: reader.activation(values.at(-1) ?? ''),
      };
    }
    case 'maxpool':
    case 'avgpool':
      return {
        id,
        kind: keyword,
        kernel: reader.integer(first, 'kernel', LAYER_LIMITS.maxKernel, 'k'),
        stride: reader.integer(second, 'stride', LAYER_LIMITS.maxStride, 's'),
      };
    case 'batchnorm':
      return { id, kind: 'batchnorm' };
    case 'dropout':
      return { id, kind: 'dropout', rate: reader.rate(first) };
    default:
      return {
        id,
        kind: 'dense',
        units: reader.integer(first, 'units', LAYER_LIMITS.maxUnits),
        activation: reader.activation(second),
      };
  }
}

/**
 * Reads the text form (see the file header). Layers get the ids g1, g2, ... in order. Errors name
 * the line and the problem. Whether the list builds for an input is checked when it is compiled.
 */
export function parseLayers(text: string): LayerGenome {
  const layers: LayerGene[] = [];
  const skipLines: Array<{ from: number; to: number; reader: LineReader }> = [];
  for (const [index, raw] of text.split(/[\n;]/).entries()) {
    const line = (raw.split('#')[0] ?? '').trim();
    if (line === '') continue;
    const reader: LineReader = new LineReader((problem) => {
      throw new LayerSpaceError(`line ${index + 1} "${line}": ${problem}`);
    });
    const [keyword = '', ...values] = line.split(/\s+/);
    if (keyword === 'skip') {
      const match = /^skip\s+(\d+)\s*->\s*(\d+)$/.exec(line);
      if (!match) {
        reader.fail('write a skip as "skip <from> -> <to>" with 1-based layer numbers');
      }
      skipLines.push({ from: Number(match[1]), to: Number(match[2]), reader });
      continue;
    }
    if (layers.length === LAYER_LIMITS.maxLayers) {
      reader.fail(`too many layers (at most ${LAYER_LIMITS.maxLayers})`);
    }
    layers.push(parseLayerLine(keyword, values, reader, `g${layers.length + 1}`));
  }
  if (layers.length === 0) {
    throw new LayerSpaceError('empty layer list: expected lines like "conv 32 k3 s1 relu"');
  }
  const skips: SkipGene[] = [];
  const seen = new Set<string>();
  for (const { from, to, reader } of skipLines) {
    for (const end of [from, to]) {
      if (end < 1 || end > layers.length) {
        reader.fail(
          `layer ${end} does not exist (the list has ${layers.length} layer${layers.length === 1 ? '' : 's'})`,
        );
      }
    }
    if (from >= to) reader.fail('a skip goes forward, from an earlier layer to a later one');
    if (seen.has(`${from} ${to}`)) reader.fail(`skip ${from} -> ${to} is given twice`);
    seen.add(`${from} ${to}`);
    skips.push({
      from: (layers[from - 1] as LayerGene).id,
      to: (layers[to - 1] as LayerGene).id,
    });
  }
  return { layers, skips };
}
