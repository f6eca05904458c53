/**
 * The search configuration: a YAML file, every setting overridable on the command line,
 * validated with messages that name the setting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DATASET_NAME_HINT, isDatasetSpec } from '../data/registry.js';
import { DEFAULT_DARTS_TOURNAMENT } from '../evaluate/darts-tournament.js';
import { byteSizeSchema } from '../evaluate/memory.js';
import { PROTOCOL_NAMES } from '../evaluate/protocols.js';
import { PROXY_NAMES, type ProxyName } from '../evaluate/proxies.js';
import { SpaceError, createSpace, parseSpaceArgument } from '../space/registry.js';
import { packageRoot } from '../util/fs.js';
import { finalStageSchema } from './final-recipe.js';
import { describeSchemaIssues, formatIssuePath } from '../util/unknown-keys.js';

const objectiveSchema = z.strictObject({
  metric: z.string().min(1),
  direction: z.enum(['maximize', 'minimize']),
});
const constraintSchema = z.strictObject({
  metric: z.string().min(1),
  op: z.enum(['>=', '<=']),
  value: z.number(),
});

export const searchConfigSchema = z
  .object({
    name: z.string().min(1).optional(),
    /** One line on what the configuration runs (presets show it in `nascent presets`). */
    description: z.string().optional(),
    seed: z.number().int().min(0).default(0),
    store: z.string().min(1).default('runs/nascent.db'),
    dataset: z
      .object({
        name: z
          .string()
          .refine(isDatasetSpec, { message: `not ${DATASET_NAME_HINT}` })
          .default('fashion-mnist'),
        dataDir: z.string().optional(),
        /** Training images used (before the validation split); all when absent. */
        subset: z.number().int().min(20).optional(),
        testSubset: z.number().int().min(1).optional(),
        validationFraction: z.number().gt(0).lt(1).optional(),
      })
      .strict()
      .prefault({}),
    space: z
      .object({
        /** genome, layers, cells or grammar (see src/space/registry.ts). */
        name: z.string().min(1).default('genome'),
        /** The space's own options, validated by the space. */
        options: z.record(z.string(), z.unknown()).optional(),
        /** Grammar file (YAML) of the grammar space. */
        grammar: z.string().min(1).optional(),
        /**
         * Self-adaptive mutation: true, or { initialRate, learningRate, minRate, maxRate,
         * maxSteps }, validated by createSpace (see src/space/self-adaptive.ts).
         */
        selfAdaptive: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
      })
      .strict()
      .prefault({})
      .superRefine((space, context) => {
        try {
          createSpace(space);
        } catch (error) {
          // An option's problem is told at its path (space.options.filtres), the rest whole.
          const issues = error instanceof SpaceError ? error.issues : [];
          if (issues.length > 0) {
            for (const issue of issues)
              context.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
          } else {
            context.addIssue({
              code: 'custom',
              message: error instanceof Error ? error.message : String(error),
            });
          }
        }
      }),
    /**
     * How candidates are evaluated: `train` (the engine, under the protocol), `express` (the
     * engine under the express protocol: one epoch, batch 256, 1,024 validation images), `proxies` (the
     * training-free proxies as metrics `proxy_<name>`, nothing trained) or `table:<file>` (look
     * the candidate's canonical text up in a table of known results).
     */
    evaluator: z
      .string()
      .regex(/^(train|express|proxies|table:.+)$/, 'write train, express, proxies or table:<file>')
      .default('train'),
    /** Redis URL: evaluations go to BullMQ workers (`nascent worker`) instead of this process. */
    queue: z
      .string()
      .regex(/^rediss?:\/\//, 'write redis://host:port')
      .optional(),
    strategy: z
      .object({
        name: z
          .enum(['random', 'ga', 're', 'mu+lambda', 'nsga2', 'local-search', 'bananas'])
          .default('ga'),
        populationSize: z.number().int().min(2).default(10),
        options: z.record(z.string(), z.unknown()).default({}),
        /**
         * A DARTS tournament every `every` generations (ga, nsga2, mu+lambda): the generation's
         * candidates in groups of `size`, each group trained as one mixture network for `steps`
         * weight steps (each followed by an alpha step on validation data); the largest alpha
         * wins, the others leave the selection (src/search/generational.ts).
         */
        dartsTournament: z
          .object({
            every: z.number().int().min(1),
            size: z.number().int().min(2),
            steps: z.number().int().min(1).default(DEFAULT_DARTS_TOURNAMENT.steps),
            batchSize: z.number().int().min(2).default(DEFAULT_DARTS_TOURNAMENT.batchSize),
            lr: z.number().positive().default(DEFAULT_DARTS_TOURNAMENT.lr),
            architectureLr: z.number().positive().default(DEFAULT_DARTS_TOURNAMENT.architectureLr),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({})
      .refine((s) => !s.dartsTournament || ['ga', 'nsga2', 'mu+lambda'].includes(s.name), {
        error: 'dartsTournament needs a generational strategy: ga, nsga2 or mu+lambda',
        path: ['dartsTournament'],
      }),
    objectives: z
      .array(objectiveSchema)
      .min(1)
      .default([{ metric: 'accuracy', direction: 'maximize' }]),
    constraints: z.array(constraintSchema).default([]),
    evaluation: z
      .object({
        protocol: z.enum(PROTOCOL_NAMES as [string, ...string[]]).default('course'),
        epochs: z.number().int().min(1).optional(),
        maxStepsPerEpoch: z.number().int().min(1).optional(),
        /** Stop a candidate whose validation accuracy after `epoch` epochs is below `accuracy`. */
        killBelow: z
          .strictObject({ epoch: z.number().int().min(1), accuracy: z.number().min(0).max(1) })
          .optional(),
        /**
         * Successive halving of each batch: rungs of minEpochs, minEpochs * eta, ... up to the
         * epochs; each rung promotes the best 1/eta, which continue from where they are.
         */
        successiveHalving: z
          .strictObject({ minEpochs: z.number().int().min(1), eta: z.number().int().min(2) })
          .optional(),
        /**
         * Hyperband (Li et al.): each batch split over brackets of successive halving that start
         * at different rungs (run/pruners/rungs.ts); promoted candidates continue from their rung.
         */
        hyperband: z
          .strictObject({ minEpochs: z.number().int().min(1), eta: z.number().int().min(2) })
          .optional(),
        inheritWeights: z.boolean().default(false),
        /**
         * Training-memory limit a candidate's estimate (evaluate/memory.ts) is checked against
         * before it is trained (`8GiB`, `512MiB`, or bytes); over it, the candidate is recorded as
         * failed, untrained. Default: a safe share of this machine's memory for local training, no
         * check for queue workers.
         */
        maxMemory: z.union([z.number().int().positive(), byteSizeSchema]).optional(),
        /**
         * Augmentation of each candidate's training batches, as in final training: random crops
         * with `cropPadding` black pixels on each side, and left-right flips (for CIFAR-like
         * images). A search trained without it favours networks that fit a few epochs of
         * unaugmented data, which are not the ones that do best when trained with it.
         */
        augment: z
          .object({
            cropPadding: z.number().int().min(1).max(16).optional(),
            flip: z.boolean().default(false),
          })
          .strict()
          .optional(),
        /**
         * Pre-screening: score each generation's candidates without training them (a rank vote
         * of training-free proxies, or a trained accuracy predictor) and train only the best
         * `keep`; the rest are recorded as killed, with their scores.
         */
        screen: z
          .object({
            /**
             * `vote` (proxies), `predictor` (a trained predictor directory) or `online` (an LSTM
             * predictor the run refits on its own trained candidates before a screening, once it
             * has `minExamples`; until then every candidate is trained).
             */
            by: z.enum(['vote', 'predictor', 'online']).default('vote'),
            proxies: z
              .array(z.enum(PROXY_NAMES as [ProxyName, ...ProxyName[]]))
              .min(1)
              .default(['synflow', 'jacob_cov', 'naswot']),
            /** A directory written by `nascent predictor train` (for `by: predictor`). */
            predictor: z.string().optional(),
            keep: z.number().int().min(1),
            /** `online`: trained candidates needed before the predictor screens. */
            minExamples: z.number().int().min(4).default(20),
            /**
             * `online`: refit only once the trained candidates have grown by this fraction since
             * the last fit (0: whenever there are new ones). A refit trains the LSTM afresh on
             * every example, so refitting each generation costs time that grows with the run.
             */
            refitGrowth: z.number().min(0).max(10).default(0.1),
            /** Images the proxies see (one seeded mini-batch of the training set). */
            batchSize: z.number().int().min(2).default(64),
          })
          .strict()
          .refine((s) => s.by !== 'predictor' || s.predictor !== undefined, {
            error:
              'screening by predictor needs predictor: <directory from nascent predictor train>',
            path: ['predictor'],
          })
          .optional(),
        /**
         * Screening inside the strategy: every sample, mutation and crossover is tried
         * `candidates` times and the predictor's favourite kept (src/search/screened-space.ts).
         */
        screenOperators: z
          .object({ predictor: z.string(), candidates: z.number().int().min(2).default(3) })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    budget: z
      .object({
        generations: z.number().int().min(1).optional(),
        /** Candidates evaluated: trained or answered from the store (not those screened out). */
        evaluations: z.number().int().min(1).optional(),
        /** Total training epochs across all candidates. */
        epochs: z.number().int().min(1).optional(),
        minutes: z.number().positive().optional(),
      })
      .strict()
      .prefault({})
      .refine(
        (b) => Object.values(b).some((v) => v !== undefined),
        'give at least one budget: generations, evaluations, epochs or minutes',
      ),
    pool: z
      .object({
        /** Candidates trained at once; the cores are split between them. */
        size: z.number().int().min(1).default(1),
        threads: z.number().int().min(1).optional(),
      })
      .strict()
      .prefault({}),
    device: z.string().default('cpu'),
    /** After the search: re-train the best networks and baselines (run/final-stage.ts). */
    final: finalStageSchema.optional(),
  })
  .strict();

export type SearchConfig = z.infer<typeof searchConfigSchema>;
/** A search configuration as written (YAML or an object): every default may be left out. */
export type SearchConfigInput = z.input<typeof searchConfigSchema>;

/** The protocol candidates are trained under: `express` for the express evaluator. */
export function configuredProtocol(config: Pick<SearchConfig, 'evaluator' | 'evaluation'>): string {
  return config.evaluator === 'express' ? 'express' : config.evaluation.protocol;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describeIssues(error: z.ZodError, source: string): string {
  return describeSchemaIssues(error, searchConfigSchema)
    .slice(0, 6)
    .map((issue) => `  ${formatIssuePath(issue.path) || '(top level)'}: ${issue.message}`)
    .join('\n')
    .replace(/^/, `invalid search configuration (${source}):\n`);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1) as string] = value;
}

/** Command-line overrides: flat names mapped onto the configuration's paths. */
export const OVERRIDE_PATHS: Readonly<Record<string, string[]>> = {
  name: ['name'],
  seed: ['seed'],
  evaluator: ['evaluator'],
  queue: ['queue'],
  store: ['store'],
  dataset: ['dataset', 'name'],
  dataDir: ['dataset', 'dataDir'],
  subset: ['dataset', 'subset'],
  testSubset: ['dataset', 'testSubset'],
  strategy: ['strategy', 'name'],
  population: ['strategy', 'populationSize'],
  protocol: ['evaluation', 'protocol'],
  epochs: ['evaluation', 'epochs'],
  maxSteps: ['evaluation', 'maxStepsPerEpoch'],
  inheritWeights: ['evaluation', 'inheritWeights'],
  maxMemory: ['evaluation', 'maxMemory'],
  screenKeep: ['evaluation', 'screen', 'keep'],
  screenPredictor: ['evaluation', 'screen', 'predictor'],
  screenOperators: ['evaluation', 'screenOperators', 'predictor'],
  generations: ['budget', 'generations'],
  evaluations: ['budget', 'evaluations'],
  budgetEpochs: ['budget', 'epochs'],
  minutes: ['budget', 'minutes'],
  pool: ['pool', 'size'],
  threads: ['pool', 'threads'],
  device: ['device'],
};

/**
 * A relative grammar file or data directory that does not exist from the working directory but
 * does from Nascent's package directory (a preset's `grammars/mlp.yaml`, the CI layout's
 * `../shared/data/cifar-10`) is read from there.
 */
function resolvePackagePaths(raw: Record<string, unknown>): void {
  const fromPackage = (path: unknown): string | undefined => {
    if (typeof path !== 'string' || isAbsolute(path) || existsSync(path)) return undefined;
    const candidate = join(packageRoot(), path);
    return existsSync(candidate) ? candidate : undefined;
  };
  for (const [section, key] of [
    ['space', 'grammar'],
    ['dataset', 'dataDir'],
  ] as const) {
    const value = raw[section];
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Record<string, unknown>;
    const resolved = fromPackage(record[key]);
    if (resolved !== undefined) record[key] = resolved;
  }
}

/**
 * `--set path.to.setting=value`: any setting, the value read as YAML (`--set
 * strategy.options.initialSize=200`, `--set evaluation.screen.keep=4`).
 */
function applyAssignment(raw: Record<string, unknown>, assignment: string): void {
  const equals = assignment.indexOf('=');
  const path = equals > 0 ? assignment.slice(0, equals).split('.') : [];
  if (path.length === 0 || path.some((part) => !/^[A-Za-z][A-Za-z0-9]*$/.test(part)))
    throw new ConfigError(
      `--set ${assignment}: write --set path.to.setting=value, e.g. --set strategy.options.initialSize=200`,
    );
  let value: unknown;
  try {
    value = parseYaml(assignment.slice(equals + 1));
  } catch (error) {
    throw new ConfigError(
      `--set ${assignment}: the value is not valid YAML: ${(error as Error).message}`,
    );
  }
  setPath(raw, path, value);
}

/**
 * Validates a configuration given as an object (defaults filled in); throws a
 * {@link ConfigError} naming each problem at its path, as for a file.
 */
export function parseSearchConfig(
  input: SearchConfigInput | Readonly<Record<string, unknown>>,
): SearchConfig {
  const raw = structuredClone(input) as Record<string, unknown>;
  const result = searchConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(result.error, 'object'));
  return result.data;
}

/**
 * Reads a configuration file (or starts from `base`, e.g. a stored run's configuration), applies
 * the command-line overrides and validates the result.
 */
export function loadSearchConfig(
  file: string | undefined,
  overrides: Readonly<Record<string, unknown>> = {},
  base: Readonly<Record<string, unknown>> = {},
): SearchConfig {
  let raw: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read configuration ${file}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (error) {
      throw new ConfigError(`${file} is not valid YAML: ${(error as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError(`${file} must hold a mapping of settings at the top level`);
      }
      raw = parsed as Record<string, unknown>;
    }
  }
  resolvePackagePaths(raw);
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'set') {
      for (const assignment of (value ?? []) as string[]) applyAssignment(raw, assignment);
      continue;
    }
    if (key === 'space' && typeof value === 'string') {
      // A different space makes the file's space options meaningless: they are dropped.
      let spec: { name: string; grammar?: string };
      try {
        spec = parseSpaceArgument(value);
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
      const current = (raw.space ?? {}) as Record<string, unknown>;
      raw.space = current.name === spec.name ? { ...current, ...spec } : spec;
      continue;
    }
    const path = OVERRIDE_PATHS[key];
    if (value === undefined || !path) continue;
    setPath(raw, path, value);
    // A predictor given on the command line is what screens.
    if (key === 'screenPredictor') setPath(raw, ['evaluation', 'screen', 'by'], 'predictor');
  }
  const result = searchConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(result.error, file ?? 'command line'));
  return result.data;
}
