/**
 * The Nascent model file: one `.safetensors` file holding a trained network's weights (float32,
 * named as the engine names them) and, in `__metadata__`, everything needed to use it again:
 *
 * | key             | value                                                                  |
 * | --------------- | ---------------------------------------------------------------------- |
 * | `format`        | `nascent-model/1`                                                      |
 * | `architecture`  | the IR (`nascent-ir/1`) as JSON                                        |
 * | `normalisation` | JSON `{"divideBy": 255, "mean"?: [...], "std"?: [...]}`: the network   |
 * |                 | sees `(pixel / 255 - mean[c]) / std[c]` (or `pixel / 255`); default    |
 * |                 | when absent: `{"divideBy": 255}`                                       |
 * | `genome`        | optional: the canonical genome text                                    |
 * | `space`         | optional: the search space the genome belongs to (e.g. `genome`)       |
 * | `dataset`       | optional: the dataset it was trained on                                |
 * | `classes`       | optional: JSON array of class names, one per output                    |
 * | `protocol`      | optional: the training protocol                                        |
 * | `testAccuracy`  | optional: test accuracy in [0, 1], as a decimal string                 |
 * | `createdAt`     | ISO 8601 time of writing                                               |
 *
 * Any safetensors reader (PyTorch's `safetensors.torch.load_file`, the exported `model.py`) reads
 * the weights; the metadata is plain JSON text.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { datasetNormalisation } from '../data/registry.js';
import { type BuildOptions, Network, type WeightMap } from '../engine/engine.js';
import { type Architecture, analyzeArchitecture, parseArchitecture } from '../space/ir.js';
import { SafetensorsError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { checkedWeights, weightProblems } from './weights.js';

export const MODEL_FORMAT = 'nascent-model/1';

/** A model file that cannot be read or written; the message names the file. */
export class ModelFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelFileError';
  }
}

const normalisationSchema = z
  .object({
    divideBy: z.literal(255),
    mean: z.array(z.number().finite()).min(1).optional(),
    std: z.array(z.number().finite().positive()).min(1).optional(),
  })
  .strict()
  .refine((value) => (value.mean === undefined) === (value.std === undefined), {
    message: 'give both mean and std, or neither',
  })
  .refine((value) => value.mean === undefined || value.mean.length === value.std?.length, {
    message: 'mean and std need one value per channel each',
  });

/** How pixels are scaled before the network sees them: `(pixel / 255 - mean[c]) / std[c]`. */
export type PixelNormalisation = z.infer<typeof normalisationSchema>;

/** Pixels divided by 255, nothing else: what the engine does when no standardisation is asked. */
export const UNIT_SCALE: PixelNormalisation = { divideBy: 255 };

/**
 * The normalisation a training used: pixels / 255, standardised with the dataset's per-channel
 * constants when the protocol standardises (see `prepareImages`).
 */
export function trainingNormalisation(dataset: string, standardise: boolean): PixelNormalisation {
  if (!standardise) return UNIT_SCALE;
  const { mean, std } = datasetNormalisation(dataset);
  return { divideBy: 255, mean: [...mean], std: [...std] };
}

/** The descriptive part of a model file, besides the architecture and the weights. */
export interface ModelMetadata {
  readonly genome?: string;
  readonly space?: string;
  readonly dataset?: string;
  /** One name per output of the network. */
  readonly classes?: readonly string[];
  readonly normalisation?: PixelNormalisation;
  readonly protocol?: string;
  readonly testAccuracy?: number;
  /** ISO 8601; defaults to the time of writing. */
  readonly createdAt?: string;
}

/** What a model file holds, as read and validated. */
export interface ModelFile extends ModelMetadata {
  readonly path: string;
  readonly architecture: Architecture;
  /** In the architecture's node order. */
  readonly weights: WeightMap;
  readonly normalisation: PixelNormalisation;
  readonly createdAt: string;
}

export type ModelFileInput = ModelMetadata &
  (
    | { readonly network: Network; readonly architecture?: Architecture }
    | { readonly weights: WeightMap; readonly architecture: Architecture }
  );

const metadataSchema = z
  .object({
    format: z.string(),
    architecture: z.string(),
    genome: z.string().min(1).optional(),
    space: z.string().min(1).optional(),
    dataset: z.string().min(1).optional(),
    classes: z.string().optional(),
    normalisation: z.string().optional(),
    protocol: z.string().min(1).optional(),
    testAccuracy: z.string().optional(),
    createdAt: z.string().optional(),
  })
  .loose();

/** The number of class scores the network puts out. */
function outputCount(architecture: Architecture): number {
  const { outputShape } = analyzeArchitecture(architecture);
  return outputShape.kind === 'flat' ? outputShape.features : 0;
}

function checkClasses(architecture: Architecture, classes: readonly string[]): string | undefined {
  const outputs = outputCount(architecture);
  if (classes.length !== outputs) {
    return `${classes.length} class names for a network with ${outputs} outputs`;
  }
  if (new Set(classes).size !== classes.length) return 'class names repeat';
  return undefined;
}

/**
 * Writes a model file (atomically: a temporary file renamed into place). The weights come from
 * the network (`getWeights()`) or are given; they must fit the architecture exactly.
 */
export function writeModelFile(path: string, input: ModelFileInput): void {
  const architecture = parseArchitecture(
    'network' in input ? (input.architecture ?? input.network.architecture) : input.architecture,
  );
  const weights = checkedWeights(
    architecture,
    'network' in input ? input.network.getWeights() : input.weights,
  );
  const metadata: Record<string, string> = {
    format: MODEL_FORMAT,
    architecture: JSON.stringify(architecture),
  };
  if (input.genome !== undefined) metadata.genome = input.genome;
  if (input.space !== undefined) metadata.space = input.space;
  if (input.dataset !== undefined) metadata.dataset = input.dataset;
  if (input.classes !== undefined) {
    const problem = checkClasses(architecture, input.classes);
    if (problem) throw new ModelFileError(`cannot write ${path}: ${problem}`);
    metadata.classes = JSON.stringify(input.classes);
  }
  const normalisation = normalisationSchema.parse(input.normalisation ?? UNIT_SCALE);
  if (normalisation.mean && normalisation.mean.length !== architecture.input.channels) {
    throw new ModelFileError(
      `cannot write ${path}: the normalisation has ${normalisation.mean.length} channels, the input ${architecture.input.channels}`,
    );
  }
  metadata.normalisation = JSON.stringify(normalisation);
  if (input.protocol !== undefined) metadata.protocol = input.protocol;
  if (input.testAccuracy !== undefined) {
    if (!(input.testAccuracy >= 0 && input.testAccuracy <= 1)) {
      throw new ModelFileError(
        `cannot write ${path}: test accuracy ${input.testAccuracy} is not in [0, 1]`,
      );
    }
    metadata.testAccuracy = String(input.testAccuracy);
  }
  metadata.createdAt = input.createdAt ?? new Date().toISOString();
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, encodeSafetensors(weights, metadata));
    renameSync(temporary, path);
  } catch (error) {
    throw new ModelFileError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parses a JSON metadata field; errors name the file and the field. */
function jsonField<T>(path: string, field: string, text: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(
      `${path}: metadata ${field} is not valid JSON (${(error as Error).message})`,
    );
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${field}.${issue.path.join('.')}` : field;
    throw new ModelFileError(`${path}: metadata ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** Decodes and validates model file bytes; `path` names the file in errors. */
export function decodeModelFile(bytes: Uint8Array, path: string): ModelFile {
  let contents;
  try {
    contents = decodeSafetensors(bytes, path);
  } catch (error) {
    if (error instanceof SafetensorsError)
      throw new ModelFileError(error.message, { cause: error });
    throw error;
  }
  const parsed = metadataSchema.safeParse(contents.metadata);
  if (!parsed.success || parsed.data.format !== MODEL_FORMAT) {
    const found = contents.metadata.format;
    throw new ModelFileError(
      `${path} is a safetensors file but not a Nascent model: its metadata ${found === undefined ? 'has no format' : `format is ${JSON.stringify(found)}`} (expected ${MODEL_FORMAT} with an architecture)`,
    );
  }
  const meta = parsed.data;
  let architecture: Architecture;
  try {
    architecture = parseArchitecture(JSON.parse(meta.architecture));
  } catch (error) {
    throw new ModelFileError(`${path}: metadata architecture: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const problems = weightProblems(architecture, contents.tensors);
  if (problems.length > 0) {
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw new ModelFileError(
      `${path}: the weights do not fit the architecture: ${problems.slice(0, 5).join('; ')}${more}`,
    );
  }
  const classes =
    meta.classes === undefined
      ? undefined
      : jsonField(path, 'classes', meta.classes, z.array(z.string()).min(1));
  if (classes) {
    const problem = checkClasses(architecture, classes);
    if (problem) throw new ModelFileError(`${path}: metadata classes: ${problem}`);
  }
  const normalisation =
    meta.normalisation === undefined
      ? UNIT_SCALE
      : jsonField(path, 'normalisation', meta.normalisation, normalisationSchema);
  if (normalisation.mean && normalisation.mean.length !== architecture.input.channels) {
    throw new ModelFileError(
      `${path}: metadata normalisation has ${normalisation.mean.length} channels, the input ${architecture.input.channels}`,
    );
  }
  let testAccuracy: number | undefined;
  if (meta.testAccuracy !== undefined) {
    testAccuracy = Number(meta.testAccuracy);
    if (meta.testAccuracy.trim() === '' || !(testAccuracy >= 0 && testAccuracy <= 1)) {
      throw new ModelFileError(
        `${path}: metadata testAccuracy ${JSON.stringify(meta.testAccuracy)} is not a number in [0, 1]`,
      );
    }
  }
  return {
    path,
    architecture,
    weights: checkedWeights(architecture, contents.tensors),
    normalisation,
    createdAt: meta.createdAt ?? '',
    ...(meta.genome !== undefined ? { genome: meta.genome } : {}),
    ...(meta.space !== undefined ? { space: meta.space } : {}),
    ...(meta.dataset !== undefined ? { dataset: meta.dataset } : {}),
    ...(classes ? { classes } : {}),
    ...(meta.protocol !== undefined ? { protocol: meta.protocol } : {}),
    ...(testAccuracy !== undefined ? { testAccuracy } : {}),
  };
}

/** Reads and validates a model file. Throws ModelFileError naming the file and the problem. */
export function readModelFile(path: string): ModelFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ModelFileError(`cannot read model file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return decodeModelFile(bytes, path);
}

/** Builds the model's network with its weights set. */
export function buildNetwork(
  model: ModelFile,
  options: Pick<BuildOptions, 'device'> = {},
): Network {
  const network = Network.build(model.architecture, options);
  const copied = network.setWeights(model.weights);
  if (copied !== Object.keys(model.weights).length) {
    throw new ModelFileError(
      `${model.path}: ${copied} of ${Object.keys(model.weights).length} tensors were set`,
    );
  }
  return network;
}

/** Reads a model file and builds its network with the trained weights. */
export function loadNetwork(path: string, options: Pick<BuildOptions, 'device'> = {}): Network {
  return buildNetwork(readModelFile(path), options);
}

/** The class names of a model: from its metadata, else `class 0`, `class 1`, ... */
export function classNames(model: ModelFile): string[] {
  if (model.classes) return [...model.classes];
  return Array.from({ length: outputCount(model.architecture) }, (_, k) => `class ${k}`);
}
