import cliProgress from 'cli-progress';
import { DEFAULT_DASHBOARD_PORT, startDashboard } from '../dashboard/index.js';
import { type SearchConfig, loadSearchConfig } from '../run/config.js';
import { paretoFront } from '../search/pareto.js';
import { sortByRanking } from '../search/ranking.js';
import { type SearchEvent, runSearch } from '../run/runner.js';
import type { EvaluationStatus } from '../search/strategy.js';
import { RunStore } from '../store/index.js';
import { formatCount, formatPercent, formatSeconds, oneLine, table } from '../util/format.js';
import { presetFile } from './presets.js';
import { type FinalStageResult, runFinalStage } from '../run/final-stage.js';
import { writeReport } from '../report/index.js';
import { RunReadModel } from '../store/read-model.js';

export interface SearchCommandOptions extends Record<string, unknown> {
  config?: string;
  /** A preset's name (configs/presets/NAME.yaml), instead of a configuration file. */
  preset?: string;
  resume?: string;
  progress?: boolean;
  /** Serve the live dashboard: true for the default port, or a port number. */
  dashboard?: boolean | number;
  /** `--no-final` (false): skip the configuration's final stage. */
  final?: boolean;
}

/** One finished candidate as the search command prints it. */
export function candidateLine(event: Extract<SearchEvent, { type: 'candidate-done' }>): string {
  const m = event.metrics;
  // A candidate a rung pruner did not promote trained well enough to be ranked: not a dead network.
  const pruned = event.decision === 'not-promoted' && event.status === 'killed';
  const status = event.reused ? 'reused' : pruned ? 'pruned' : event.status;
  const detail = event.error ? `  (${event.error})` : '';
  return `gen ${event.generation}  ${event.id}  ${status.padEnd(6)}  acc ${formatPercent(m.accuracy)}  params ${formatCount(m.params ?? 0).padStart(9)}  ${oneLine(event.genome)}${m.train_seconds !== undefined && !event.reused ? `  ${formatSeconds(m.train_seconds)}` : ''}${detail}`;
}

export async function searchCommand(options: SearchCommandOptions): Promise<string> {
  const {
    config: configFile,
    preset,
    resume,
    progress,
    dashboard: dashboardPort,
    final: finalStage,
    ...overrides
  } = options;
  if (configFile !== undefined && preset !== undefined)
    throw new Error('give either --config or --preset, not both');
  const file = preset !== undefined ? presetFile(preset) : configFile;
  // A resume starts from the run's stored configuration; flags change its budget, pool or device.
  let base: Record<string, unknown> = {};
  if (resume !== undefined) {
    if (file !== undefined) throw new Error('give either --config/--preset or --resume, not both');
    const store = RunStore.open(
      typeof overrides.store === 'string' ? overrides.store : 'runs/nascent.db',
    );
    try {
      base = store.getRun(resume).config as Record<string, unknown>;
    } finally {
      store.close();
    }
  }
  const config: SearchConfig = loadSearchConfig(file, overrides, base);
  const dashboard =
    dashboardPort === undefined || dashboardPort === false
      ? undefined
      : await startDashboard({
          storePath: config.store,
          createStore: true,
          port: dashboardPort === true ? DEFAULT_DASHBOARD_PORT : dashboardPort,
        });
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const bars =
    progress !== false && process.stderr.isTTY
      ? new cliProgress.MultiBar(
          {
            format: '  {label} [{bar}] {value}/{total} {unit} {detail}',
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const running = new Map<string, cliProgress.SingleBar>();
  const print = (line: string): void => (bars ? bars.log(`${line}\n`) : out(line));
  let started = Date.now();
  let generationBar: cliProgress.SingleBar | undefined;
  let generationDone = 0;
  // The best so far, from the results as they come, printed after every generation.
  const seen: {
    id: string;
    genome: string;
    status: EvaluationStatus;
    metrics: Record<string, number>;
  }[] = [];
  const printBest = (): void => {
    const best = sortByRanking(seen, config.objectives, config.constraints).slice(0, 3);
    if (best.length === 0) return;
    print(
      table(
        ['best so far', 'val acc', 'params', 'genome'],
        best.map((b) => [
          b.id,
          formatPercent(b.metrics.accuracy),
          formatCount(b.metrics.params ?? 0),
          oneLine(b.genome),
        ]),
      ),
    );
  };
  // Ctrl-C (or a kill): the run is marked stopped, so `nascent runs` says so; everything finished
  // is already in the store and `--resume` continues from there.
  let interruptedRun: string | undefined;
  const interrupt = (signal: NodeJS.Signals): void => {
    bars?.stop();
    if (interruptedRun !== undefined) {
      const store = RunStore.open(config.store);
      try {
        store.setRunStatus(interruptedRun, 'stopped');
        store.logEvent(interruptedRun, 'stopped', `interrupted by ${signal}`);
      } finally {
        store.close();
      }
      process.stderr.write(
        `\n${signal}: run ${interruptedRun} stopped; everything evaluated is in ${config.store}. Continue it with: nascent search --resume ${interruptedRun}\n`,
      );
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const { runId, reason } = await runSearch({
    config,
    ...(resume ? { resume } : {}),
    onEvent: (event) => {
      switch (event.type) {
        case 'run':
          interruptedRun = event.runId;
          started = Date.now();
          print(
            `${event.resumed ? 'resuming' : 'started'} run ${event.runId}: ${event.config.strategy.name} over the ${event.config.space.name} space on ${event.config.dataset.name}, store ${event.config.store}`,
          );
          if (dashboard)
            print(`dashboard: ${dashboard.url}#/runs/${encodeURIComponent(event.runId)}`);
          break;
        case 'generation':
          if (event.generation > 0) printBest();
          print(`generation ${event.generation}: ${event.candidates} candidates`);
          if (bars) {
            if (generationBar) bars.remove(generationBar);
            generationDone = 0;
            generationBar = bars.create(event.candidates, 0, {
              label: `generation ${event.generation}`,
              unit: 'candidates',
              detail: '',
            });
          }
          break;
        case 'candidate-start':
          if (bars) {
            running.set(
              event.id,
              bars.create(event.epochs, 0, { label: event.id, unit: 'epochs', detail: '' }),
            );
          }
          break;
        case 'candidate-epoch':
          running
            .get(event.id)
            ?.update(event.epoch, { detail: `val acc ${formatPercent(event.valAccuracy)}` });
          break;
        case 'candidate-done': {
          const bar = running.get(event.id);
          if (bar) {
            bars?.remove(bar);
            running.delete(event.id);
          }
          print(candidateLine(event));
          seen.push({
            id: event.id,
            genome: event.genome,
            status: event.status,
            metrics: event.metrics,
          });
          generationDone += 1;
          generationBar?.update(generationDone);
          break;
        }
        case 'finished':
          printBest();
          print(
            `finished run ${event.runId} (${event.reason}): ${event.evaluated} evaluations in ${formatSeconds((Date.now() - started) / 1000)}`,
          );
          break;
      }
    },
  }).finally(async () => {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await dashboard?.close();
  });
  bars?.stop();
  const searchSummary = [
    `run ${runId} stopped: ${reason}`,
    showCommand({ run: runId, store: config.store, top: 5 }),
  ].join('\n');
  if (!config.final?.enabled || finalStage === false || interruptedRun === undefined)
    return searchSummary;
  out(searchSummary);
  const result = await finalStageCommand(runId, config, print);
  return finalSummary(result, config);
}

/** The final stage of a finished run, then its HTML report in the same folder. */
async function finalStageCommand(
  runId: string,
  config: SearchConfig,
  print: (line: string) => void,
): Promise<FinalStageResult & { report: string }> {
  const final = config.final as NonNullable<SearchConfig['final']>;
  const store = RunStore.open(config.store);
  let result: FinalStageResult;
  try {
    result = await runFinalStage(store, runId, config, {
      final,
      ...(config.pool.threads !== undefined ? { threads: config.pool.threads } : {}),
      onStart: (entries, recipe) =>
        print(
          `final stage: ${entries.length} network${entries.length === 1 ? '' : 's'} (${entries.map((e) => e.name).join(', ')}) x ${final.seeds.length} seed${final.seeds.length === 1 ? '' : 's'}, from scratch on the full training set; ${recipe}`,
        ),
      onResult: (record) =>
        print(
          `  ${record.name} seed ${record.seed}: ${record.status === 'ok' ? `val acc ${formatPercent(record.metrics.accuracy)}, test acc ${formatPercent(record.metrics.test_accuracy)} (${formatSeconds(record.metrics.train_seconds ?? 0)})` : `failed: ${record.error ?? ''}`}`,
        ),
    });
  } finally {
    store.close();
  }
  const reader = RunReadModel.open(config.store);
  try {
    return { ...result, report: writeReport(reader, runId, result.outDir).html };
  } finally {
    reader.close();
  }
}

/** The final table, the delivered files and the commands that use them. */
export function finalSummary(
  result: FinalStageResult & { report: string },
  config: SearchConfig,
): string {
  const rows = result.networks.map((n) => [
    n.role === 'baseline'
      ? `${n.name} (baseline)`
      : n === result.best
        ? `${n.name} (best)`
        : n.name,
    formatCount(n.params),
    `${n.ok}/${n.seeds}`,
    n.ok ? formatPercent(n.valMean) : '-',
    n.ok ? `${formatPercent(n.testMean)} ± ${(100 * n.testSd).toFixed(2)}` : '-',
    n.testAccuracies.map((a) => formatPercent(a)).join(' '),
    oneLine(n.genome ?? ''),
  ]);
  const lines = [
    `final stage of run ${result.runId} (${result.recipe}); test accuracy on the test set the search never saw:`,
    table(
      ['network', 'params', 'ok', 'val acc', 'test acc (mean ± sd)', 'per seed', 'architecture'],
      rows,
    ),
  ];
  const limit = config.constraints.find((c) => c.metric === 'params');
  if (result.best && result.modelPath && result.onnxPath) {
    const best = result.best;
    lines.push(
      `best network: ${best.name}, ${formatCount(best.params)} parameters${limit ? ` (limit ${limit.op} ${formatCount(limit.value)})` : ''}, test accuracy ${formatPercent(best.testMean)} ± ${(100 * best.testSd).toFixed(2)} over ${best.ok} seed${best.ok === 1 ? '' : 's'} (chosen by validation accuracy)`,
      `  model file: ${result.modelPath}`,
      `  ONNX:       ${result.onnxPath}`,
      `  report:     ${result.report}`,
      'next:',
      `  npx nascent predict ${result.modelPath} ${config.dataset.name} --limit 10    (or PNG files)`,
      `  npx nascent export ${result.modelPath} --format pytorch`,
      `  npx nascent serve --store ${config.store}    (the dashboard)`,
    );
  } else {
    lines.push(`no searched network finished its final training; report: ${result.report}`);
  }
  return lines.join('\n');
}

export function runsCommand(options: { store: string }): string {
  const store = RunStore.open(options.store, { readonly: true });
  try {
    const rows = store.listRuns().map((run) => {
      const evaluations = store.evaluations(run.id, {});
      const best = Math.max(
        ...evaluations.map((e) => (e.metrics as Record<string, number>).accuracy ?? -1),
        -1,
      );
      return [
        run.id,
        run.name ?? '',
        run.status,
        run.strategy,
        run.space,
        run.dataset,
        evaluations.length,
        best < 0 ? '-' : formatPercent(best),
        run.updatedAt,
      ];
    });
    if (rows.length === 0) return `no runs in ${options.store}`;
    return table(
      [
        'run',
        'name',
        'status',
        'strategy',
        'space',
        'dataset',
        'evaluations',
        'best val acc',
        'updated',
      ],
      rows,
    );
  } finally {
    store.close();
  }
}

export function showCommand(options: { run: string; store: string; top?: number }): string {
  const store = RunStore.open(options.store, { readonly: true });
  try {
    const run = store.getRun(options.run);
    const config = run.config as SearchConfig;
    const evaluated = store
      .evaluations(run.id, {})
      .map((e) => ({ ...e, metrics: e.metrics as Record<string, number> }));
    const ranked = sortByRanking(evaluated, config.objectives, config.constraints);
    const row = (e: (typeof evaluated)[number]): (string | number)[] => [
      e.candidateId,
      e.generation,
      e.status,
      formatPercent(e.metrics.accuracy),
      formatPercent(e.metrics.test_accuracy),
      formatCount(e.metrics.params ?? 0),
      formatCount(e.metrics.flops ?? 0),
      oneLine(e.genome),
    ];
    const head = ['candidate', 'gen', 'status', 'val acc', 'test acc', 'params', 'FLOPs', 'genome'];
    const frontObjectives =
      config.objectives.length > 1
        ? config.objectives
        : [
            { metric: 'accuracy', direction: 'maximize' as const },
            { metric: 'params', direction: 'minimize' as const },
          ];
    const front = sortByRanking(
      paretoFront(
        evaluated.filter((e) => e.status === 'ok'),
        frontObjectives,
        config.constraints,
      ),
      config.objectives,
      config.constraints,
    );
    const objectives = config.objectives.map((o) => `${o.direction} ${o.metric}`).join(', ');
    const constraints = config.constraints.map((c) => `${c.metric} ${c.op} ${c.value}`).join(', ');
    return [
      `run ${run.id}${run.name ? ` (${run.name})` : ''}: ${run.status}, ${run.strategy} over ${run.space} on ${run.dataset}, ${evaluated.length} evaluations`,
      `objectives: ${objectives}${constraints ? `; constraints: ${constraints}` : ''}`,
      `best ${Math.min(options.top ?? 10, ranked.length)}:`,
      table(head, ranked.slice(0, options.top ?? 10).map(row)),
      `Pareto front (${frontObjectives.map((o) => o.metric).join(' vs ')}):`,
      table(head, front.map(row)),
    ].join('\n');
  } finally {
    store.close();
  }
}
