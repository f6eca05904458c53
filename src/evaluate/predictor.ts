/**
 * The learned accuracy predictor: a regressor from an architecture (and optionally its proxy
 * scores) to its validation accuracy, trained on evaluations from the run store.
 *
 * Two models, both trained by libtorch:
 * - `lstm`: the architecture as a sequence of per-layer vectors (every IR node in order, so it
 *   works for every space) read by an LSTM whose last hidden state feeds a linear head;
 * - `mlp`: a fixed-length vector of whole-network features (counts per op and activation, depth,
 *   widths, parameters, FLOPs, and any proxy scores) read by a two-layer perceptron.
 *
 * Inputs are standardised with the training set's means and deviations, and so are the targets;
 * both are saved with the weights so a loaded predictor answers exactly as the trained one did.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Regressor, type RegressorInputs } from '../engine/engine.js';
import {
  ACTIVATIONS,
  type Architecture,
  type ArchitectureSummary,
  type IrOp,
  analyzeArchitecture,
  tensorElements,
} from '../space/ir.js';
import { kendall, rSquared, spearman } from '../util/stats.js';
import { PROXY_NAMES, type ProxyName, checkProxyNames } from './proxies.js';

export type PredictorKind = 'lstm' | 'mlp';
export const PREDICTOR_KINDS: readonly PredictorKind[] = ['lstm', 'mlp'];

const LAYER_OPS: readonly IrOp[] = [
  'conv2d',
  'maxpool2d',
  'avgpool2d',
  'global_avg_pool',
  'batchnorm',
  'dropout',
  'flatten',
  'dense',
  'activation',
  'add',
  'concat',
];

/** Values per layer in the LSTM's input: op and activation one-hots, then 9 numbers. */
export const LAYER_FEATURES = LAYER_OPS.length + ACTIVATIONS.length + 9;

const log2p = (value: number): number => Math.log2(1 + value);
const log10p = (value: number): number => Math.log10(1 + value);

/** One vector per IR node (the input node left out), in the IR's order. */
export function layerVectors(
  architecture: Architecture,
  summary?: ArchitectureSummary,
): number[][] {
  const layers = (summary ?? analyzeArchitecture(architecture)).layers;
  const byId = new Map(architecture.nodes.map((node) => [node.id, node]));
  const vectors: number[][] = [];
  for (const layer of layers) {
    if (layer.op === 'input') continue;
    const node = byId.get(layer.id);
    const vector = new Array<number>(LAYER_FEATURES).fill(0);
    vector[LAYER_OPS.indexOf(layer.op)] = 1;
    let at = LAYER_OPS.length;
    if (node?.op === 'activation') vector[at + ACTIVATIONS.indexOf(node.fn)] = 1;
    at += ACTIVATIONS.length;
    const out = layer.outputShape;
    const kernel = node && 'kernel' in node ? node.kernel : 0;
    const stride = node && 'stride' in node ? node.stride : 0;
    const width = node?.op === 'conv2d' ? node.filters : node?.op === 'dense' ? node.units : 0;
    vector[at] = kernel / 7;
    vector[at + 1] = stride / 2;
    vector[at + 2] = log2p(width) / 8;
    vector[at + 3] = node?.op === 'dropout' ? node.rate : 0;
    vector[at + 4] = log2p(out.kind === 'map' ? out.channels : out.features) / 8;
    vector[at + 5] = out.kind === 'map' ? log2p(out.height) / 6 : 0;
    vector[at + 6] = out.kind === 'flat' ? 1 : 0;
    vector[at + 7] = log10p(layer.params) / 6;
    vector[at + 8] = layer.inputShapes.length / 4;
    vectors.push(vector);
  }
  return vectors;
}

/** Names of the fixed-length features, in order (proxy columns come after these). */
export const NETWORK_FEATURE_NAMES: readonly string[] = [
  'log10_params',
  'log10_flops',
  'depth',
  ...LAYER_OPS.map((op) => `count_${op}`),
  ...ACTIVATIONS.map((fn) => `count_${fn}`),
  'mean_log2_width',
  'max_log2_width',
  'min_log2_map',
  'last_activation_relu_like',
  // What limits a short training besides size: activation memory, where the weights are, the
  // classifier's input width, how deep the first dense layer sits, and the functions at each end.
  'log10_activation_values',
  'log10_conv_params',
  'log10_dense_params',
  'log2_flatten_features',
  'layers_before_dense',
  'log10_flops_per_param',
  ...ACTIVATIONS.map((fn) => `first_activation_${fn}`),
  ...ACTIVATIONS.map((fn) => `last_activation_${fn}`),
];

/** Whole-network features: what the MLP reads besides proxy scores. */
export function networkFeatures(
  architecture: Architecture,
  summary?: ArchitectureSummary,
): number[] {
  const analysed = summary ?? analyzeArchitecture(architecture);
  const opCounts = LAYER_OPS.map((op) => analysed.layers.filter((l) => l.op === op).length);
  const activations = architecture.nodes.flatMap((node) =>
    node.op === 'activation' ? [node.fn] : [],
  );
  const widths = architecture.nodes.flatMap((node) =>
    node.op === 'conv2d' ? [log2p(node.filters)] : node.op === 'dense' ? [log2p(node.units)] : [],
  );
  const maps = analysed.layers.flatMap((l) =>
    l.outputShape.kind === 'map' ? [log2p(l.outputShape.height)] : [],
  );
  const last = activations.at(-1);
  const paramsOf = (op: string): number =>
    analysed.layers.filter((l) => l.op === op).reduce((sum, l) => sum + l.params, 0);
  const flatten = analysed.layers.find((l) => l.op === 'flatten');
  const firstDense = analysed.layers.findIndex((l) => l.op === 'dense');
  return [
    log10p(analysed.params),
    log10p(analysed.flops),
    analysed.layers.length,
    ...opCounts,
    ...ACTIVATIONS.map((fn) => activations.filter((a) => a === fn).length),
    widths.length > 0 ? widths.reduce((a, b) => a + b, 0) / widths.length : 0,
    widths.length > 0 ? Math.max(...widths) : 0,
    maps.length > 0 ? Math.min(...maps) : 0,
    last === 'relu' || last === 'leaky_relu' || last === 'elu' ? 1 : 0,
    log10p(analysed.layers.reduce((sum, l) => sum + tensorElements(l.outputShape), 0)),
    log10p(paramsOf('conv2d')),
    log10p(paramsOf('dense')),
    flatten ? log2p(tensorElements(flatten.outputShape)) : 0,
    firstDense < 0 ? analysed.layers.length : firstDense,
    log10p(analysed.flops) - log10p(analysed.params),
    ...ACTIVATIONS.map((fn) => (activations[0] === fn ? 1 : 0)),
    ...ACTIVATIONS.map((fn) => (last === fn ? 1 : 0)),
  ];
}

/**
 * A proxy score as a predictor feature: signed log of its magnitude (synflow spans orders of
 * magnitude), 0 with a failure flag left to the missing value.
 */
export function proxyFeature(value: number | null | undefined): number {
  if (value === null || value === undefined || !Number.isFinite(value)) return 0;
  return Math.sign(value) * Math.log10(1 + Math.abs(value));
}

export interface PredictorExample {
  /**
   * The compiled network; null for one with no path from its input to its output (a NAS-Bench-201
   * cell without one compiles to no network: its output is constant), which the LSTM reads as one
   * all-zero layer and the MLP as all-zero features.
   */
  readonly architecture: Architecture | null;
  /** The space and its canonical text: what the few-shot predictors' cell encodings read. */
  readonly genome?: { readonly space: string; readonly text: string };
  /** The target: validation accuracy, a fraction. */
  readonly accuracy: number;
  readonly proxies?: Partial<Record<ProxyName, number | null>>;
}

export type PredictorQuery = Omit<PredictorExample, 'accuracy'>;

export interface PredictorOptions {
  readonly kind: PredictorKind;
  /** Proxy scores used as extra features (each example must carry them). */
  readonly proxyFeatures?: readonly ProxyName[];
  readonly hidden?: number;
  readonly epochs?: number;
  readonly lr?: number;
  readonly seed?: number;
  readonly threads?: number;
}

const metadataSchema = z.object({
  format: z.literal('nascent-predictor/1'),
  kind: z.enum(['lstm', 'mlp']),
  inputSize: z.number().int().positive(),
  hidden: z.number().int().positive(),
  layers: z.number().int().positive(),
  proxyFeatures: z.array(z.enum(PROXY_NAMES as [ProxyName, ...ProxyName[]])),
  featureMean: z.array(z.number()),
  featureStd: z.array(z.number()),
  targetMean: z.number(),
  targetStd: z.number(),
  examples: z.number().int().nonnegative(),
  trainedAt: z.string(),
  source: z.string().optional(),
});
type PredictorMetadata = z.infer<typeof metadataSchema>;

const METADATA_FILE = 'predictor.json';
const WEIGHTS_FILE = 'weights.pt';

/** Column means and standard deviations (1 where a column is constant). */
function columnStats(rows: readonly number[][], width: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (const row of rows)
    for (let j = 0; j < width; j++) mean[j] = (mean[j] as number) + (row[j] as number);
  for (let j = 0; j < width; j++) mean[j] = (mean[j] as number) / Math.max(1, rows.length);
  for (const row of rows)
    for (let j = 0; j < width; j++)
      std[j] = (std[j] as number) + ((row[j] as number) - (mean[j] as number)) ** 2;
  for (let j = 0; j < width; j++) {
    const s = Math.sqrt((std[j] as number) / Math.max(1, rows.length));
    std[j] = s > 1e-8 ? s : 1;
  }
  return { mean, std };
}

export class AccuracyPredictor {
  private constructor(
    private readonly regressor: Regressor,
    private readonly metadata: PredictorMetadata,
  ) {}

  get kind(): PredictorKind {
    return this.metadata.kind;
  }

  get proxyFeatures(): readonly ProxyName[] {
    return this.metadata.proxyFeatures;
  }

  get trainedOn(): number {
    return this.metadata.examples;
  }

  /** Fits a new predictor to the examples. Needs at least 4. */
  static async train(
    examples: readonly PredictorExample[],
    options: PredictorOptions,
    source?: string,
  ): Promise<AccuracyPredictor> {
    if (examples.length < 4) {
      throw new Error(
        `a predictor needs at least 4 evaluated architectures to learn from (got ${examples.length})`,
      );
    }
    const proxyFeatures = checkProxyNames(options.proxyFeatures ?? []);
    if (options.kind === 'lstm' && proxyFeatures.length > 0) {
      throw new Error(
        'the LSTM predictor reads layers only; give proxy features to the mlp predictor',
      );
    }
    const rows = examples.map((example) => rawFeatures(options.kind, example, proxyFeatures));
    const inputSize = options.kind === 'lstm' ? LAYER_FEATURES : (rows[0]?.[0]?.length ?? 0);
    const { mean, std } = columnStats(rows.flat(), inputSize);
    const targets = examples.map((example) => example.accuracy);
    const targetMean = targets.reduce((a, b) => a + b, 0) / targets.length;
    const targetStd =
      Math.sqrt(targets.reduce((a, b) => a + (b - targetMean) ** 2, 0) / targets.length) || 1;
    const hidden = options.hidden ?? (options.kind === 'lstm' ? 32 : 64);
    const metadata: PredictorMetadata = {
      format: 'nascent-predictor/1',
      kind: options.kind,
      inputSize,
      hidden,
      layers: options.kind === 'lstm' ? 1 : 2,
      proxyFeatures,
      featureMean: mean,
      featureStd: std,
      targetMean,
      targetStd,
      examples: examples.length,
      trainedAt: new Date().toISOString(),
      ...(source ? { source } : {}),
    };
    const regressor = new Regressor({
      kind: options.kind,
      inputSize,
      hidden,
      layers: metadata.layers,
      seed: options.seed ?? 0,
    });
    const predictor = new AccuracyPredictor(regressor, metadata);
    await regressor.fit(
      predictor.inputs(rows),
      Float32Array.from(targets.map((t) => (t - targetMean) / targetStd)),
      {
        epochs: options.epochs ?? (options.kind === 'lstm' ? 150 : 300),
        batchSize: 16,
        lr: options.lr ?? 3e-3,
        weightDecay: 1e-4,
        seed: options.seed ?? 0,
        threads: options.threads ?? 1,
      },
    );
    return predictor;
  }

  /** Predicted validation accuracies, in the order of the queries. */
  predict(queries: readonly PredictorQuery[]): number[] {
    if (queries.length === 0) return [];
    for (const name of this.metadata.proxyFeatures) {
      const missing = queries.findIndex((q) => q.proxies?.[name] === undefined);
      if (missing >= 0) {
        throw new Error(
          `this predictor reads the proxy "${name}", which query ${missing + 1} does not have`,
        );
      }
    }
    const rows = queries.map((query) =>
      rawFeatures(this.metadata.kind, query, this.metadata.proxyFeatures),
    );
    const out = this.regressor.predict(this.inputs(rows));
    return Array.from(out, (z) => z * this.metadata.targetStd + this.metadata.targetMean);
  }

  /** Writes `predictor.json` and `weights.pt` into the directory. */
  save(directory: string): void {
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, METADATA_FILE), `${JSON.stringify(this.metadata, null, 2)}\n`);
    this.regressor.save(join(directory, WEIGHTS_FILE));
  }

  static load(directory: string): AccuracyPredictor {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(directory, METADATA_FILE), 'utf8'));
    } catch (error) {
      throw new Error(`cannot read a predictor from ${directory}: ${(error as Error).message}`);
    }
    const parsed = metadataSchema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(
        `${join(directory, METADATA_FILE)} is not a Nascent predictor: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const metadata = parsed.data;
    const expected =
      metadata.kind === 'lstm'
        ? LAYER_FEATURES
        : NETWORK_FEATURE_NAMES.length + metadata.proxyFeatures.length;
    if (metadata.inputSize !== expected) {
      throw new Error(
        `${directory} holds a ${metadata.kind} predictor of ${metadata.inputSize} features per input; this version of Nascent computes ${expected}. Train it again (nascent predictor train).`,
      );
    }
    const regressor = new Regressor({
      kind: metadata.kind,
      inputSize: metadata.inputSize,
      hidden: metadata.hidden,
      layers: metadata.layers,
    });
    regressor.load(join(directory, WEIGHTS_FILE));
    return new AccuracyPredictor(regressor, metadata);
  }

  /** Standardised rows packed for the regressor (sequences padded with zeros to the longest). */
  private inputs(rows: readonly number[][][]): RegressorInputs {
    const { featureMean: mean, featureStd: std, inputSize } = this.metadata;
    const steps = Math.max(...rows.map((row) => row.length));
    const values = new Float32Array(rows.length * steps * inputSize);
    rows.forEach((row, i) => {
      row.forEach((vector, t) => {
        for (let j = 0; j < inputSize; j++) {
          values[(i * steps + t) * inputSize + j] =
            ((vector[j] as number) - (mean[j] as number)) / (std[j] as number);
        }
      });
    });
    return this.metadata.kind === 'lstm'
      ? { values, count: rows.length, lengths: Int32Array.from(rows.map((row) => row.length)) }
      : { values, count: rows.length };
  }
}

/** An example's raw (unstandardised) input: several layer vectors, or one network vector. */
function rawFeatures(
  kind: PredictorKind,
  example: PredictorQuery,
  proxies: readonly ProxyName[],
): number[][] {
  const proxyValues = proxies.map((name) => proxyFeature(example.proxies?.[name]));
  if (example.architecture === null) {
    return kind === 'lstm'
      ? [new Array<number>(LAYER_FEATURES).fill(0)]
      : [[...new Array<number>(NETWORK_FEATURE_NAMES.length).fill(0), ...proxyValues]];
  }
  const summary = analyzeArchitecture(example.architecture);
  if (kind === 'lstm') return layerVectors(example.architecture, summary);
  return [[...networkFeatures(example.architecture, summary), ...proxyValues]];
}

export interface PredictionQuality {
  readonly count: number;
  readonly r2: number | null;
  readonly kendall: number | null;
  readonly spearman: number | null;
}

export function predictionQuality(
  truth: readonly number[],
  predicted: readonly number[],
): PredictionQuality {
  return {
    count: truth.length,
    r2: rSquared(truth, predicted) ?? null,
    kendall: kendall(truth, predicted) ?? null,
    spearman: spearman(truth, predicted) ?? null,
  };
}
