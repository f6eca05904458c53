/**
 * Nascent's public typed API: `import { ... } from 'nascent'`.
 *
 * The supported surface: run a search from a configuration object ({@link runSearch},
 * {@link parseSearchConfig}); open the store it writes ({@link RunStore}); train or evaluate one
 * architecture ({@link prepareData}, {@link trainArchitecture}, {@link Network}); the search
 * spaces ({@link createSpace} and the space classes) and strategies ({@link createStrategy});
 * export a trained network (model files, ONNX, PyTorch). Everything else in the package is
 * internal and may change without notice.
 *
 * @packageDocumentation
 */

/** Running a search: the configuration (validated with zod), the runner and its events. */
export {
  ConfigError,
  configuredProtocol,
  loadSearchConfig,
  parseSearchConfig,
  searchConfigSchema,
  type SearchConfig,
  type SearchConfigInput,
} from './run/config.js';
/** `runSearch({ config })` runs (or with `resume`, continues) a search to its budget; `{ runId, reason }`. */
export { DuplicateRunNameError, runSearch, type RunSearchOptions } from './run/runner.js';
/** What a running search reports to `onEvent`: runs, generations, candidates, the end. */
export type { SearchEvent, SearchEventListener } from './run/events.js';

/** The store of runs, candidates, evaluations and final trainings (SQLite). */
export {
  RunStore,
  RunStoreError,
  type CandidateRecord,
  type EvaluationRecord,
  type EvaluationStatus,
  type FinalTrainingRecord,
  type OpenOptions,
  type RunRecord,
  type RunStatus,
} from './store/index.js';

/** The architecture IR every space compiles to: validation, shapes, parameters and FLOPs. */
export {
  ACTIVATIONS,
  ArchitectureError,
  IR_FORMAT,
  analyzeArchitecture,
  architectureSchema,
  parseArchitecture,
  type Activation,
  type Architecture,
  type ArchitectureSummary,
  type InputShape,
  type IrNode,
  type IrOp,
  type LayerSummary,
  type TensorShape,
} from './space/ir.js';

/** Search spaces: by name ({@link createSpace}) or as classes, and the interface they share. */
export {
  SPACE_NAMES,
  SpaceError,
  createSpace,
  parseSpaceArgument,
  type SpaceName,
  type SpaceSpec,
} from './space/registry.js';
/** The interface every space implements (sample, mutate, crossover, compile to the IR). */
export type { CompileTarget, SearchSpace } from './space/space.js';
/** The genome-string space (`NC 32 5 relu;RC ...`) and its text form. */
export { GenomeSpace, type GenomeSpaceOptions, type SpaceGenome } from './space/genome-space.js';
/** Genome strings parsed and compiled without a space. */
export { GenomeError, genomeToArchitecture, parseGenome } from './space/genome.js';
/** The layer-list space. */
export {
  LayerListSpace,
  type LayerGenome,
  type LayerSpaceOptionsInput,
} from './space/layers/index.js';
/** The NAS-Bench-201 cell space. */
export { CellSpace, type CellGenome, type CellSpaceOptions } from './space/cells/index.js';
/** The CNN macro space (conv-BN-act, separable and inverted-residual blocks). */
export { CnnSpace, type CnnGenome, type CnnSpaceOptionsInput } from './space/cnn/index.js';
/** Grammatical evolution over a user grammar (YAML). */
export {
  GrammarSpace,
  loadGrammarFile,
  parseGrammar,
  type Grammar,
  type GrammarGenome,
  type GrammarSpaceOptions,
} from './space/grammar/index.js';
/** Self-adaptive mutation: a wrapper that gives each genome its own mutation rate. */
export {
  SelfAdaptiveSpace,
  type SelfAdaptiveGenome,
  type SelfAdaptiveOptionsInput,
} from './space/self-adaptive.js';
/** Invalid space options, each issue at its path (unknown keys with the nearest known one). */
export { OptionsError } from './util/unknown-keys.js';
/** The seeded random number generator spaces and strategies draw from. */
export { Random } from './util/random.js';

/** Search strategies (ask/tell): by name ({@link createStrategy}) or as classes. */
export {
  GeneticAlgorithm,
  MuPlusLambda,
  NSGA2,
  RandomSearch,
  RegularizedEvolution,
  STRATEGY_NAMES,
  StrategyOptionsError,
  createStrategy,
  restoreStrategy,
  paretoFront,
  type AnyStrategyOptions,
  type Constraint,
  type Evaluated,
  type Objective,
  type Proposal,
  type Strategy,
  type StrategyName,
} from './search/index.js';

/** Training and evaluating one architecture: data, protocols, the engine's network, proxies. */
export {
  prepareData,
  prepareTrainingData,
  type DataSelection,
  type PrepareOptions,
  type PreparedData,
} from './evaluate/prepared-data.js';
/** Training protocols: named, complete recipes (course, standard, express). */
export {
  PROTOCOLS,
  PROTOCOL_NAMES,
  getProtocol,
  type ProtocolName,
  type TrainingProtocol,
} from './evaluate/protocols.js';
/** `trainArchitecture(architecture, data, { protocol, seed })`: the trained network and its report. */
export {
  trainArchitecture,
  type Augmentation,
  type TrainArchitectureOptions,
  type TrainedArchitecture,
  type TrainingBudget,
  type TrainingReport,
} from './evaluate/train.js';
/**
 * Training in segments: `TrainingSession.start`, `advance(toEpoch)` (stop rules decided at its
 * epoch boundaries), `finish()`, `release()`.
 */
export {
  TrainingSession,
  type SessionResult,
  type SessionSettings,
  type TrainingSessionOptions,
} from './evaluate/training-session.js';
/** Per-trial stop rules (kill-below), as data. */
export type { KillBelowRule, StopRule } from './evaluate/stop-rules.js';
/** The training-memory estimate from the IR, and the default limit. */
export {
  DEFAULT_MEMORY_SHARE,
  defaultMemoryLimitBytes,
  describeTrainingMemory,
  estimateTrainingMemory,
  parseByteSize,
  type TrainingMemoryEstimate,
  type TrainingMemoryOptions,
} from './evaluate/memory.js';
/** Training-free proxies (synflow, jacob_cov, naswot, ...). */
export {
  PROXY_NAMES,
  computeProxies,
  type ProxyName,
  type ProxyOptions,
  type ProxyScores,
} from './evaluate/proxies.js';
/** The evaluator interface a search evaluates candidates through (`runSearch`'s `evaluator`). */
export type {
  CandidateEvaluator,
  CandidateResult,
  EvaluationRequest,
} from './evaluate/evaluator.js';
/** The native engine: a built network (train, evaluate, weights), data tensors, devices. */
export { Network, TensorData, checkDevice, engineInfo, type WeightInit } from './engine/engine.js';
/** The built-in datasets and their loader. */
export { DATASET_NAMES, loadDataset, type DatasetName } from './data/registry.js';

/** Export: model files (architecture + weights), ONNX and PyTorch. */
export {
  ModelFileError,
  architectureToOnnx,
  architectureToPytorch,
  loadNetwork,
  readModelFile,
  writeModelFile,
  writePytorchExport,
  type ModelFile,
  type ModelFileInput,
  type OnnxOptions,
  type PytorchExport,
  type PytorchOptions,
} from './export/index.js';
