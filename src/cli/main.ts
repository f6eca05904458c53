#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { inspectCommand } from './inspect.js';
import { trainCommand } from './train.js';

function integer(name: string, min: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`${name} must be a whole number of at least ${min}`);
    }
    return Number(value);
  };
}

const program = new Command()
  .name('nascent')
  .description('Neural architecture search: TypeScript on top, libtorch underneath')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('inspect')
  .description('print an architecture layer by layer: output shapes, parameters and FLOPs')
  .option(
    '--genome <text>',
    'genome string, e.g. "NC 10 2 sigmoid;RC 10 3 relu;RC 10 3 relu;FL relu;"',
  )
  .option('--arch <file>', 'architecture IR as JSON')
  .option(
    '--dataset <name>',
    'dataset whose image shape the architecture is built for',
    'fashion-mnist',
  )
  .option('--json', 'print the IR as JSON instead of a table')
  .action((options) => {
    process.stdout.write(`${inspectCommand(options)}\n`);
  });

program
  .command('train')
  .description('train one architecture under a protocol and report validation and test accuracy')
  .option('--genome <text>', 'genome string')
  .option('--arch <file>', 'architecture IR as JSON')
  .option('--dataset <name>', 'fashion-mnist, mnist or cifar10', 'fashion-mnist')
  .option('--data-dir <dir>', 'directory holding the dataset files')
  .option('--download', 'download the dataset if it is missing')
  .option('--protocol <name>', 'training protocol: course or standard', 'course')
  .option('--epochs <n>', 'override the protocol epochs', integer('--epochs', 1))
  .option('--subset <n>', 'train on this many training images', integer('--subset', 10))
  .option('--test-subset <n>', 'test on this many test images', integer('--test-subset', 1))
  .option('--threads <n>', 'CPU threads for libtorch (default: all cores)', integer('--threads', 1))
  .option('--seed <n>', 'seed of initialisation and shuffling', integer('--seed', 0), 0)
  .addOption(new Option('--device <device>', 'cpu, cuda or cuda:N').default('cpu'))
  .option('--save <file>', 'save the trained weights (libtorch archive)')
  .option('--json', 'print the report as JSON')
  .option('--no-progress', 'no progress bar')
  .action(async (options) => {
    process.stdout.write(`${await trainCommand(options)}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`nascent: ${message}\n`);
  if (process.env.NASCENT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}
