/**
 * The presets against the projects they replace: runs one preset (`nascent search --preset`),
 * optionally re-trains its best (`nascent train-best`), and records what it reached in
 * bench/presets/results/<preset>.json, with the commands, the wall times and the machine.
 * `--report` writes the side-by-side table of every recorded preset into BENCHMARKS.md.
 *
 *   node dist/bench/presets/run.js --preset ge-mlp-mnist --final="--epochs 20 --seeds 1,2,3"
 *   node dist/bench/presets/run.js --preset express-cifar10 --search="--evaluations 300"
 *   node dist/bench/presets/run.js --preset layers-cifar10 --compare="--epochs 10 --seeds 1"
 *   node dist/bench/presets/run.js --report
 *
 * For express-cifar10 it also measures the online predictor: an LSTM trained on the run's first
 * n models (in evaluation order, each network once) and scored on the models after them, for
 * each n in --r2-at that the run reached, and the best validation accuracy of the random stage
 * against the genetic stage.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AccuracyPredictor, type PredictorExample } from '../../src/evaluate/predictor.js';
import { type Architecture } from '../../src/space/ir.js';
import { meanAndSd } from '../../src/run/final-training.js';
import { type FinalTrainingRecord, RunStore } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';
import { rSquared } from '../../src/util/stats.js';
import { type MachineInfo, machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';

/** What each original project reported, and what the preset must reach (issue 11). */
const ORIGINALS: Readonly<Record<string, { original: string; bar: string }>> = {
  'ge-mlp-mnist': { original: '0.82 test accuracy', bar: '>= 0.95 test accuracy' },
  'course-min-params': {
    original: '(the assignment: >= 0.75 test accuracy, fewest parameters)',
    bar: '>= 0.75 in 3 of 3 seeds',
  },
  'evolutive-cells-cifar10': {
    original: 'about 0.70 CIFAR-10 test accuracy',
    bar: '>= 0.85 test accuracy',
  },
  'layers-cifar10': {
    original: '(compared with ResNet-18)',
    bar: 'within 2 points of ResNet-18 at <= 1/10 of its parameters',
  },
  'layers-cifar10-fast': { original: '-', bar: 'under 5 minutes' },
  'express-cifar10': {
    original: '8.3 s per model (GPU), 0.468 val accuracy, R^2 > 0.8 after ~2,000 models',
    bar: 'models/hour, R^2 at 500 and 2,000, genetic stage above the best random model',
  },
};

interface PresetResult {
  readonly preset: string;
  /** The row's name when not the preset's (e.g. the same preset on a GPU). */
  readonly label?: string;
  readonly runId: string;
  readonly commands: string[];
  readonly searchSeconds: number;
  readonly evaluations: number;
  readonly bestValidation: number | null;
  readonly final?: {
    readonly seconds: number;
    readonly name: string;
    readonly params: number | null;
    readonly testAccuracies: number[];
    readonly settings: Record<string, unknown>;
  };
  /** `nascent compare`: the run's best and the baselines, trained under one budget. */
  readonly compare?: {
    readonly seconds: number;
    readonly settings: Record<string, unknown>;
    readonly entries: {
      readonly name: string;
      readonly role: string;
      readonly params: number | null;
      readonly testAccuracies: number[];
    }[];
  };
  readonly express?: {
    readonly modelsPerHour: number;
    readonly secondsPerModel: number;
    /** Trained on the first n models, scored on the later ones (what a run would see). */
    readonly r2: { readonly trainedOn: number; readonly heldOut: number; readonly r2: number }[];
    /** Trained on n models drawn at random, scored on the rest (3 draws). */
    readonly r2Shuffled: {
      readonly trainedOn: number;
      readonly heldOut: number;
      readonly r2: number[];
    }[];
    readonly bestRandom: number | null;
    readonly bestGenetic: number | null;
  };
  readonly machine: MachineInfo;
  /** The machine the search ran on, when not the one that measured it. */
  readonly searchMachine?: string;
  readonly finishedAt: string;
}

const { values } = parseArgs({
  options: {
    preset: { type: 'string' },
    /** Extra `nascent search` arguments (budget overrides). */
    search: { type: 'string', default: '' },
    /** `nascent train-best` arguments; no final training when absent. */
    final: { type: 'string' },
    /** `nascent compare` arguments (the best against the baselines); none when absent. */
    compare: { type: 'string' },
    /** Measure an earlier run of the preset instead of searching again. */
    run: { type: 'string' },
    'r2-at': { type: 'string', default: '100,200,500,2000' },
    /** The name of the store and result files, and of the table row (default: the preset's). */
    as: { type: 'string' },
    /** With --run: the machine the run was made on, when not this one (e.g. a GPU machine). */
    machine: { type: 'string' },
    /** With --run: the commands that made the run, when not recorded here. */
    command: { type: 'string', multiple: true },
    /**
     * With --run: record as the comparison the trainings already in the store of these networks
     * (candidate ids or baseline names, comma-separated), under the budget of the latest of them;
     * its time is then the sum of those trainings' times.
     */
    compared: { type: 'string' },
    dir: { type: 'string', default: 'runs/bench-presets' },
    results: { type: 'string', default: 'bench/presets/results' },
    report: { type: 'boolean', default: false },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
});

const NASCENT = 'bin/nascent';
const split = (args: string): string[] => args.split(/\s+/).filter((a) => a.length > 0);

function nascent(args: string[]): { seconds: number; output: string } {
  const started = Date.now();
  const output = execFileSync(NASCENT, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 2 ** 20,
  });
  process.stdout.write(output);
  return { seconds: (Date.now() - started) / 1000, output };
}

/**
 * One training per seed, the latest, in seed order: a network trained again with a seed it had
 * already (an earlier train-best under the same budget) counts once.
 */
function latestPerSeed<T extends { readonly seed: number }>(trainings: readonly T[]): T[] {
  const bySeed = new Map<number, T>();
  for (const training of trainings) bySeed.set(training.seed, training);
  return [...bySeed.values()].sort((a, b) => a.seed - b.seed);
}

/** Runs `read` on the store at `path`, closing it afterwards. */
async function withStore<T>(path: string, read: (runs: RunStore) => T | Promise<T>): Promise<T> {
  const runs = RunStore.open(path);
  try {
    return await read(runs);
  } finally {
    runs.close();
  }
}

/** R^2, on `examples` after the first `n`, of an LSTM trained on the first `n`. */
async function heldOutR2(examples: readonly PredictorExample[], n: number): Promise<number> {
  const heldOut = examples.slice(n);
  const predictor = await AccuracyPredictor.train(examples.slice(0, n), { kind: 'lstm', seed: 1 });
  return (
    rSquared(
      heldOut.map((e) => e.accuracy),
      predictor.predict(heldOut),
    ) ?? Number.NaN
  );
}

/** The sizes in `at` that leave at least 20 models to score on. */
const scorable = (examples: readonly PredictorExample[], at: readonly number[]): number[] =>
  at.filter((n) => n <= examples.length - 20);

/** R^2 of an LSTM trained on the first n models, on every model after them. */
async function predictorQuality(
  examples: readonly PredictorExample[],
  at: readonly number[],
): Promise<{ trainedOn: number; heldOut: number; r2: number }[]> {
  const out: { trainedOn: number; heldOut: number; r2: number }[] = [];
  for (const n of scorable(examples, at))
    out.push({ trainedOn: n, heldOut: examples.length - n, r2: await heldOutR2(examples, n) });
  return out;
}

/** R^2 of an LSTM trained on n models drawn at random and scored on the rest, for 3 draws. */
async function shuffledQuality(
  examples: readonly PredictorExample[],
  at: readonly number[],
): Promise<{ trainedOn: number; heldOut: number; r2: number[] }[]> {
  const out: { trainedOn: number; heldOut: number; r2: number[] }[] = [];
  for (const n of scorable(examples, at)) {
    const r2: number[] = [];
    for (const seed of [1, 2, 3])
      r2.push(await heldOutR2(new Random(seed).shuffle([...examples]), n));
    out.push({ trainedOn: n, heldOut: examples.length - n, r2 });
  }
  return out;
}

/**
 * A comparison: the networks whose trainings `chosen` picks, each with all its trainings (the
 * latest per seed) under the budget of the latest chosen one. `seconds` is the wall time to
 * record, or 'trainings' for the sum of the times of the trainings it lists.
 */
function comparison(
  trainings: readonly FinalTrainingRecord[],
  chosen: (training: FinalTrainingRecord) => boolean,
  seconds: number | 'trainings',
): NonNullable<PresetResult['compare']> {
  const picked = trainings.filter(chosen);
  const settings = picked.at(-1)?.settings ?? {};
  const budget = (s: Record<string, unknown>): string => JSON.stringify({ ...s, genome: null });
  const names = [...new Set(picked.map((t) => t.name))];
  const same = trainings.filter((t) => budget(t.settings) === budget(settings));
  let trainingSeconds = 0;
  const entries = names.map((name) => {
    const mine = same.filter((t) => t.name === name);
    const kept = latestPerSeed(mine.filter((t) => t.status === 'ok'));
    for (const t of kept)
      trainingSeconds += (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000;
    return {
      name,
      role: mine[0]?.role ?? '',
      params: (mine[0]?.metrics.params as number | undefined) ?? null,
      testAccuracies: kept.map((t) => t.metrics.test_accuracy as number),
    };
  });
  return {
    seconds: seconds === 'trainings' ? trainingSeconds : seconds,
    settings: { ...settings, genome: null },
    entries,
  };
}

async function measure(preset: string): Promise<void> {
  mkdirSync(values.dir, { recursive: true });
  const name = values.as ?? preset;
  const store = join(values.dir, `${name}.db`);
  const resultFile = join(values.results, `${name}.json`);
  // Measuring an earlier run again keeps what was recorded for it (commands, search time, final
  // training, comparison) unless it is measured anew.
  const earlier =
    values.run !== undefined && existsSync(resultFile)
      ? (JSON.parse(readFileSync(resultFile, 'utf8')) as PresetResult)
      : undefined;
  const reuse = earlier?.runId === values.run ? earlier : undefined;
  const commands: string[] = values.command ?? (reuse ? [...reuse.commands] : []);
  let runId = values.run;
  let searchSeconds = reuse?.searchSeconds ?? 0;
  if (runId === undefined) {
    const args = [
      'search',
      '--preset',
      preset,
      '--store',
      store,
      '--no-progress',
      ...split(values.search),
    ];
    commands.push(`${NASCENT} ${args.join(' ')}`);
    const { seconds, output } = nascent(args);
    searchSeconds = seconds;
    runId = /^finished run (\S+)/m.exec(output)?.[1];
    if (!runId) throw new Error('could not read the run id from the search output');
  }
  let final: PresetResult['final'] = reuse?.final;
  if (values.final !== undefined) {
    const args = ['train-best', runId, '--store', store, '--no-progress', ...split(values.final)];
    commands.push(`${NASCENT} ${args.join(' ')}`);
    const { seconds } = nascent(args);
    final = await withStore(store, (runs) => {
      const trainings = runs.finalTrainings(runId).filter((t) => t.role === 'candidate');
      const last = trainings.at(-1);
      const same = trainings.filter(
        (t) =>
          t.name === last?.name && JSON.stringify(t.settings) === JSON.stringify(last?.settings),
      );
      return {
        seconds,
        name: last?.name ?? '',
        params: (last?.metrics.params as number | undefined) ?? null,
        testAccuracies: latestPerSeed(same.filter((t) => t.status === 'ok')).map(
          (t) => t.metrics.test_accuracy as number,
        ),
        settings: last?.settings ?? {},
      };
    });
  }
  let compare: PresetResult['compare'] = reuse?.compare;
  if (values.compare !== undefined) {
    const args = ['compare', runId, '--store', store, '--no-progress', ...split(values.compare)];
    commands.push(`${NASCENT} ${args.join(' ')}`);
    const started = new Date().toISOString();
    const { seconds } = nascent(args);
    // The networks this compare trained, with every seed they have under its budget.
    compare = await withStore(store, (runs) =>
      comparison(runs.finalTrainings(runId), (t) => t.startedAt >= started, seconds),
    );
  } else if (values.compared !== undefined) {
    const names = new Set(split(values.compared.replace(/,/g, ' ')));
    const named = (t: FinalTrainingRecord): boolean =>
      names.has(t.name) || names.has(t.name.replace(`${runId}-`, ''));
    compare = await withStore(store, (runs) =>
      comparison(runs.finalTrainings(runId), named, 'trainings'),
    );
  }
  await withStore(store, async (runs) => {
    const evaluations = runs.evaluations(runId);
    const ok = evaluations.filter((e) => e.status === 'ok' && e.metrics.accuracy !== undefined);
    const best = (list: typeof ok): number | null =>
      list.length > 0 ? Math.max(...list.map((e) => e.metrics.accuracy as number)) : null;
    if (searchSeconds === 0) {
      const times = evaluations.map((e) => Date.parse(e.finishedAt));
      searchSeconds = (Math.max(...times) - Date.parse(runs.getRun(runId).createdAt)) / 1000;
    }
    let express: PresetResult['express'];
    if (preset === 'express-cifar10') {
      const trained = evaluations.filter((e) => e.fidelity > 0);
      const trainSeconds = trained.reduce((sum, e) => sum + (e.metrics.train_seconds ?? 0), 0);
      // Each network once: a duplicate answered from the store would put the same network on
      // both sides of a held-out split.
      const examples: PredictorExample[] = ok
        .filter((e) => e.reusedFrom === null)
        .map((e) => ({
          architecture: runs.getCandidate(e.candidateId).architecture as Architecture,
          accuracy: e.metrics.accuracy as number,
        }));
      const operator = (e: (typeof ok)[number]): string =>
        runs.getCandidate(e.candidateId).operator;
      const r2At = split(values['r2-at'].replace(/,/g, ' ')).map(Number);
      express = {
        modelsPerHour: trained.length / (searchSeconds / 3600),
        secondsPerModel: trainSeconds / Math.max(1, trained.length),
        r2: await predictorQuality(examples, r2At),
        r2Shuffled: await shuffledQuality(examples, r2At),
        bestRandom: best(ok.filter((e) => operator(e) === 'sample')),
        bestGenetic: best(ok.filter((e) => operator(e) !== 'sample')),
      };
    }
    const result: PresetResult = {
      preset,
      ...(values.as !== undefined ? { label: values.as } : {}),
      runId,
      commands,
      searchSeconds,
      evaluations: evaluations.length,
      bestValidation: best(ok),
      ...(final ? { final } : {}),
      ...(compare ? { compare } : {}),
      ...(express ? { express } : {}),
      machine: machineInfo(),
      ...(values.machine !== undefined ? { searchMachine: values.machine } : {}),
      finishedAt: new Date().toISOString(),
    };
    mkdirSync(values.results, { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });
}

const pct = (value: number | null | undefined): string =>
  value === null || value === undefined ? '-' : `${(value * 100).toFixed(2)}%`;
const minutes = (seconds: number): string => `${(seconds / 60).toFixed(1)} min`;

function report(): void {
  if (!existsSync(values.results)) throw new Error(`no results in ${values.results}`);
  const results = readdirSync(values.results)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(values.results, f), 'utf8')) as PresetResult)
    .sort((a, b) => a.preset.localeCompare(b.preset));
  const rows = results.map((r) => {
    const o = ORIGINALS[r.preset] ?? { original: '?', bar: '?' };
    const tests = r.final?.testAccuracies ?? [];
    const { mean, sd } = meanAndSd(tests);
    const reached = r.express
      ? `${r.express.modelsPerHour.toFixed(0)} models/h (${r.express.secondsPerModel.toFixed(1)} s training each); predictor R^2 on the later models ${r.express.r2.map((q) => `${q.r2.toFixed(2)} after ${q.trainedOn}`).join(', ') || '-'}, on random held-out models ${r.express.r2Shuffled.map((q) => `${q.r2.map((v) => v.toFixed(2)).join('/')} from ${q.trainedOn}`).join(', ') || '-'}; best val: random stage ${pct(r.express.bestRandom)}, genetic stage ${pct(r.express.bestGenetic)}`
      : r.compare
        ? r.compare.entries
            .map((e) => {
              const m = meanAndSd(e.testAccuracies).mean;
              return `${e.role === 'baseline' ? e.name : 'best'}: test ${e.testAccuracies.map((t) => pct(t)).join(' / ')}, ${e.params?.toLocaleString('en-US') ?? '?'} params${e.testAccuracies.length > 1 ? ` (mean ${pct(m)})` : ''}`;
            })
            .join('; ') +
          ` (${String(r.compare.settings.epochs)} epochs, ${r.compare.settings.subset === null ? 'all' : String(r.compare.settings.subset)} training images${r.compare.settings.augment ? ', crops and flips' : ''}, same for all)`
        : tests.length > 0
          ? `test ${tests.map((t) => pct(t)).join(' / ')}${tests.length > 1 ? ` (mean ${pct(mean)} ± ${(sd * 100).toFixed(2)})` : ' (1 seed)'}`
          : `best val ${pct(r.bestValidation)} (search only)`;
    return [
      r.label ?? r.preset,
      o.original,
      o.bar,
      reached,
      (
        r.final?.params ?? r.compare?.entries.find((e) => e.role === 'candidate')?.params
      )?.toLocaleString('en-US') ?? '-',
      `search ${minutes(r.searchSeconds)} (${r.evaluations} evaluations)${r.final ? `, final ${minutes(r.final.seconds)}` : ''}${r.compare ? `, compare ${minutes(r.compare.seconds)}` : ''}`,
      r.searchMachine ?? `${r.machine.cpus} x ${r.machine.cpuModel}`,
    ];
  });
  const commands = results.flatMap((r) => [
    `# ${r.label ?? r.preset} (run ${r.runId}, ${r.finishedAt.slice(0, 10)}${r.searchMachine !== undefined ? `, on ${r.searchMachine}` : ''})`,
    ...r.commands,
  ]);
  const body = [
    '## Presets against the projects they replace',
    '',
    'Each row is one run of `node dist/bench/presets/run.js --preset NAME ...` (the commands are',
    'below); `--report` rebuilt this table from bench/presets/results/*.json. One run per preset,',
    'so these are single measurements, not distributions. Budgets were cut to fit a 2-core',
    'machine where the preset says so.',
    '',
    markdownTable(
      [
        'preset',
        'original reported',
        'bar (issue 11)',
        'Nascent reached',
        'params',
        'wall time',
        'machine',
      ],
      rows,
    ),
    '',
    '```',
    ...commands,
    '```',
  ].join('\n');
  writeSection(
    values.out,
    { start: '<!-- presets:start -->', end: '<!-- presets:end -->' },
    body,
    '# Benchmarks',
  );
  process.stdout.write(`${body}\n`);
}

if (values.report) {
  report();
} else {
  if (!values.preset) throw new Error('give --preset NAME (or --report)');
  await measure(values.preset);
}
