/**
 * Child processes of the distributed tests: `nascent` commands run from the built CLI
 * (`npm run build:ts` first), with their output collected and awaited line by line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The built command line (the tests spawn real processes to kill them with SIGKILL). */
export const CLI = join('dist', 'src', 'cli', 'main.js');

export interface NascentProcess {
  readonly child: ChildProcess;
  /** The worker id this process has if it is a worker: `hostname-pid`. */
  readonly workerId: string;
  output(): string;
  /** Resolves with the first match of `pattern` in the output, waiting for it up to `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends SIGKILL and waits for the process to end. */
  kill(): Promise<void>;
}

/** Runs `node dist/src/cli/main.js ...args`. */
export function startNascent(args: readonly string[]): NascentProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let closed = false;
  void exited.then(() => {
    closed = true;
    for (const waiter of [...waiters]) waiter();
  });
  return {
    child,
    workerId: `${hostname()}-${child.pid}`,
    output: () => output,
    waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no ${pattern} after ${timeoutMs} ms from nascent ${args[0]}:\n${output}`),
          );
        }, timeoutMs);
        const check = (): void => {
          const match = output.match(pattern);
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match);
          } else if (closed) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `nascent ${args[0]} ended (${child.exitCode ?? child.signalCode}) before printing ${pattern} (is dist built? npm run build:ts):\n${output}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
    async kill(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** A `nascent worker` process on `url` that gives a dead worker's job away after 3 s. */
export async function startWorkerProcess(
  url: string,
  extra: readonly string[] = [],
): Promise<NascentProcess> {
  const worker = startNascent([
    'worker',
    '--queue',
    url,
    '--threads',
    '1',
    '--stall-seconds',
    '3',
    ...extra,
  ]);
  await worker.waitFor(/ready on/);
  return worker;
}

/** The candidate ids a worker process started training, in order, with repeats. */
export function startedCandidates(worker: NascentProcess): string[] {
  return [...worker.output().matchAll(/ start (\S+) \(job/g)].map((m) => m[1] as string);
}
