/**
 * The constrained sequential CNN space, written as genome strings such as
 * `NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;`.
 *
 * - `NC <filters> <kernel> <activation>;` a normal convolution: stride 1, padding same.
 * - `RC <filters> <kernel> <activation>;` a reduction convolution: stride 2, padding valid, so its
 *   output side is floor((in - k) / 2) + 1. Exactly two RC parts, anywhere among the NC parts.
 * - `FL <activation>;` last: global average pooling, Dense 64 and Dense 10 (the class count), both
 *   with this activation.
 */
import {
  ACTIVATIONS,
  type Activation,
  type Architecture,
  ArchitectureError,
  type InputShape,
  type IrNode,
  IR_FORMAT,
  analyzeArchitecture,
} from './ir.js';

export const GENOME_LIMITS = {
  minFilters: 1,
  maxFilters: 4096,
  minKernel: 1,
  maxKernel: 7,
  reductionCount: 2,
  hiddenUnits: 64,
} as const;

export interface ConvGene {
  readonly kind: 'NC' | 'RC';
  readonly filters: number;
  readonly kernel: number;
  readonly activation: Activation;
}

export interface Genome {
  readonly convs: readonly ConvGene[];
  readonly finalActivation: Activation;
}

/** A genome string that breaks a rule of the space. The message names the part and the rule. */
export class GenomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenomeError';
  }
}

const ACTIVATION_SET: ReadonlySet<string> = new Set(ACTIVATIONS);

function parseInteger(text: string, what: string, where: string, min: number, max: number): number {
  if (!/^\d+$/.test(text))
    throw new GenomeError(`${where}: ${what} "${text}" is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) {
    throw new GenomeError(`${where}: ${what} ${value} is out of range (${min}..${max})`);
  }
  return value;
}

function parseActivation(text: string, where: string): Activation {
  if (!ACTIVATION_SET.has(text)) {
    throw new GenomeError(
      `${where}: unknown activation "${text}" (expected one of ${ACTIVATIONS.join(', ')})`,
    );
  }
  return text as Activation;
}

/** Parses a genome string. Whitespace around parts and tokens is free; keywords are upper case. */
export function parseGenome(text: string): Genome {
  const parts = text.split(';').map((part) => part.trim());
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0)
    throw new GenomeError('empty genome: expected parts like "NC 16 3 relu;"');

  const convs: ConvGene[] = [];
  let finalActivation: Activation | undefined;
  for (const [index, part] of parts.entries()) {
    const where = `part ${index + 1} "${part}"`;
    if (finalActivation !== undefined) {
      throw new GenomeError(`${where}: text after the FL part (FL must be the last part)`);
    }
    const tokens = part.split(/\s+/).filter((token) => token.length > 0);
    const keyword = tokens[0] ?? '';
    if (keyword === 'NC' || keyword === 'RC') {
      if (tokens.length !== 4) {
        throw new GenomeError(
          `${where}: ${keyword} takes 3 values, "<filters> <kernel> <activation>", got ${tokens.length - 1}`,
        );
      }
      convs.push({
        kind: keyword,
        filters: parseInteger(
          tokens[1] as string,
          'filters',
          where,
          GENOME_LIMITS.minFilters,
          GENOME_LIMITS.maxFilters,
        ),
        kernel: parseInteger(
          tokens[2] as string,
          'kernel',
          where,
          GENOME_LIMITS.minKernel,
          GENOME_LIMITS.maxKernel,
        ),
        activation: parseActivation(tokens[3] as string, where),
      });
    } else if (keyword === 'FL') {
      if (tokens.length !== 2) {
        throw new GenomeError(
          `${where}: FL takes 1 value, "<activation>", got ${tokens.length - 1}`,
        );
      }
      finalActivation = parseActivation(tokens[1] as string, where);
    } else if (part === '') {
      throw new GenomeError(`${where}: empty part (two ";" in a row)`);
    } else {
      throw new GenomeError(`${where}: unknown part type "${keyword}" (expected NC, RC or FL)`);
    }
  }
  if (finalActivation === undefined) {
    throw new GenomeError('missing FL part: a genome ends with "FL <activation>;"');
  }
  const genome = { convs, finalActivation };
  validateGenome(genome);
  return genome;
}

/** Checks the space's structural rules (the per-value ranges are checked when parsing). */
export function validateGenome(genome: Genome): void {
  const reductions = genome.convs.filter((gene) => gene.kind === 'RC').length;
  if (reductions !== GENOME_LIMITS.reductionCount) {
    throw new GenomeError(
      `the genome has ${reductions} RC part${reductions === 1 ? '' : 's'}; exactly ${GENOME_LIMITS.reductionCount} are required`,
    );
  }
  for (const [index, gene] of genome.convs.entries()) {
    const where = `part ${index + 1} "${formatGene(gene)}"`;
    if (
      !Number.isInteger(gene.filters) ||
      gene.filters < GENOME_LIMITS.minFilters ||
      gene.filters > GENOME_LIMITS.maxFilters
    ) {
      throw new GenomeError(
        `${where}: filters ${gene.filters} is out of range (${GENOME_LIMITS.minFilters}..${GENOME_LIMITS.maxFilters})`,
      );
    }
    if (
      !Number.isInteger(gene.kernel) ||
      gene.kernel < GENOME_LIMITS.minKernel ||
      gene.kernel > GENOME_LIMITS.maxKernel
    ) {
      throw new GenomeError(
        `${where}: kernel ${gene.kernel} is out of range (${GENOME_LIMITS.minKernel}..${GENOME_LIMITS.maxKernel})`,
      );
    }
  }
}

function formatGene(gene: ConvGene): string {
  return `${gene.kind} ${gene.filters} ${gene.kernel} ${gene.activation}`;
}

/** The canonical text form: every part followed by ";", single spaces, no other whitespace. */
export function formatGenome(genome: Genome): string {
  return (
    genome.convs.map((gene) => `${formatGene(gene)};`).join('') + `FL ${genome.finalActivation};`
  );
}

export interface CompileGenomeOptions {
  readonly input: InputShape;
  readonly classes: number;
  /** Stable identities for the conv genes (for weight inheritance); defaults to conv1, conv2, ... */
  readonly convIds?: readonly string[];
}

/** Compiles a genome to the IR and checks that every layer fits its input. */
export function compileGenome(genome: Genome, options: CompileGenomeOptions): Architecture {
  validateGenome(genome);
  const nodes: IrNode[] = [{ id: 'input', op: 'input', inputs: [] }];
  let previous = 'input';
  const push = (node: IrNode): void => {
    nodes.push(node);
    previous = node.id;
  };
  for (const [index, gene] of genome.convs.entries()) {
    const convId = options.convIds?.[index] ?? `conv${index + 1}`;
    const label = formatGene(gene);
    push({
      id: convId,
      op: 'conv2d',
      inputs: [previous],
      label,
      filters: gene.filters,
      kernel: gene.kernel,
      stride: gene.kind === 'NC' ? 1 : 2,
      padding: gene.kind === 'NC' ? 'same' : 'valid',
      dilation: 1,
      groups: 1,
      bias: true,
    });
    push({ id: `${convId}_act`, op: 'activation', inputs: [previous], fn: gene.activation });
  }
  const fl = genome.finalActivation;
  push({ id: 'gap', op: 'global_avg_pool', inputs: [previous] });
  push({
    id: 'dense1',
    op: 'dense',
    inputs: [previous],
    units: GENOME_LIMITS.hiddenUnits,
    bias: true,
  });
  push({ id: 'dense1_act', op: 'activation', inputs: [previous], fn: fl });
  push({ id: 'dense2', op: 'dense', inputs: [previous], units: options.classes, bias: true });
  push({ id: 'dense2_act', op: 'activation', inputs: [previous], fn: fl });
  const arch: Architecture = { format: IR_FORMAT, input: options.input, nodes, output: previous };
  try {
    analyzeArchitecture(arch);
  } catch (error) {
    if (error instanceof ArchitectureError && error.nodeId) {
      const gene = nodes.find((node) => node.id === error.nodeId)?.label;
      throw new GenomeError(
        `${gene ? `"${gene}"` : error.nodeId} cannot be built for a ${options.input.channels}x${options.input.height}x${options.input.width} input: ${error.message}`,
      );
    }
    throw error;
  }
  return arch;
}

/** Parses and compiles in one step. */
export function genomeToArchitecture(text: string, options: CompileGenomeOptions): Architecture {
  return compileGenome(parseGenome(text), options);
}
