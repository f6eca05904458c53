/** Renders bench/engine-throughput's results as markdown (for BENCHMARKS.md and stdout). */
import { formatFixed, formatInt } from '../common/format.js';
import type { MachineInfo } from '../common/machine.js';
import { markdownTable } from '../common/markdown.js';
import { type Summary, median, rangesOverlap, summarize } from '../common/stats.js';
import { BATCH_SIZE, EFFICIENCY_MODEL_PARAMS } from './architectures.js';
import { TUNED_GLIBC_TUNABLES } from './pytorch.js';

export interface MeasuredArchitecture {
  readonly name: string;
  readonly genome: string;
  readonly params: number;
  /** Forward FLOPs per image from analyzeArchitecture. */
  readonly forwardFlops: number;
  readonly steps: number;
  readonly warmupSteps: number;
}

/** All repetitions of one architecture at one thread count; index r of each list is round r. */
export interface Cell {
  readonly arch: MeasuredArchitecture;
  readonly threads: number;
  readonly nascent: number[];
  readonly pytorchDefault: number[];
  readonly pytorchTuned: number[];
}

export interface Peak {
  readonly threads: number;
  /** Best GFLOP/s of oneDNN's sgemm, the measured peak; null where oneDNN is not available. */
  readonly onednn: { readonly size: number; readonly best: number } | null;
  readonly blas: { readonly size: number; readonly best: number };
}

export interface ReportInput {
  /** How Nascent ran: through the `nascent` launcher's environment, or as a library in plain Node. */
  readonly nascentMode: 'launcher' | 'api';
  readonly command: string;
  readonly date: Date;
  readonly quick: boolean;
  readonly repetitions: number;
  readonly machine: MachineInfo;
  readonly engineTorch: string;
  readonly engineMallocTuned: boolean;
  readonly python: string;
  readonly pythonVersion: string;
  readonly pytorchVersion: string;
  readonly blasInfo: string;
  readonly otherEnv: readonly string[];
  /** Threads in Node's libuv pool, each warmed before the measurements. */
  readonly threadPool: number;
  readonly cells: readonly Cell[];
  readonly peaks: readonly Peak[];
}

/** Training FLOPs per image: forward plus a backward pass counted as twice the forward. */
export function trainingFlops(arch: MeasuredArchitecture): number {
  return 3 * arch.forwardFlops;
}

function rate(summary: Summary): string {
  return `${formatInt(summary.median)} (${formatInt(summary.min)}–${formatInt(summary.max)})`;
}

function pairwise(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value / (b[i] as number));
}

function ratio(nascent: readonly number[], other: readonly number[]): string {
  const rounds = summarize(pairwise(nascent, other));
  const value = median(nascent) / median(other);
  return `**${formatFixed(value, 2)}** (${formatFixed(rounds.min, 2)}–${formatFixed(rounds.max, 2)})`;
}

function peakFor(peaks: readonly Peak[], threads: number): number | null {
  const peak = peaks.find((p) => p.threads === threads);
  return peak?.onednn?.best ?? null;
}

/** The tables of results, also printed to stdout. */
export function renderTables(input: ReportInput): string {
  const out: string[] = [];
  const archs = [...new Set(input.cells.map((cell) => cell.arch))];
  for (const arch of archs) {
    out.push(
      `#### ${arch.name}: \`${arch.genome}\``,
      '',
      `${formatInt(arch.params)} parameters, ${formatFixed(arch.forwardFlops / 1e6, 2)} MFLOP forward per image; ` +
        `${arch.steps} timed steps after ${arch.warmupSteps} warm-up steps per measurement.`,
      '',
    );
    const rows = input.cells
      .filter((cell) => cell.arch === arch)
      .map((cell) => [
        String(cell.threads),
        formatInt(arch.params),
        rate(summarize(cell.nascent)),
        rate(summarize(cell.pytorchDefault)),
        rate(summarize(cell.pytorchTuned)),
        ratio(cell.nascent, cell.pytorchDefault),
        ratio(cell.nascent, cell.pytorchTuned),
      ]);
    out.push(
      markdownTable(
        [
          'Threads',
          'Params',
          'Nascent img/s',
          'PyTorch img/s (default malloc)',
          'PyTorch img/s (tuned malloc)',
          'Nascent / PyTorch default',
          'Nascent / PyTorch tuned',
        ],
        rows,
        ['right', 'right', 'right', 'right', 'right', 'right', 'right'],
      ),
      '',
    );
  }

  out.push('#### Compute efficiency', '');
  const rows = input.cells.map((cell) => {
    const perImage = trainingFlops(cell.arch);
    const nascent = (median(cell.nascent) * perImage) / 1e9;
    const tuned = (median(cell.pytorchTuned) * perImage) / 1e9;
    const peak = peakFor(input.peaks, cell.threads);
    return [
      cell.arch.name,
      formatInt(cell.arch.params),
      String(cell.threads),
      formatFixed(perImage / 1e6, 2),
      formatFixed(nascent, 1),
      formatFixed(tuned, 1),
      peak === null ? 'n/a' : formatFixed(peak, 0),
      peak === null ? 'n/a' : `${formatFixed((100 * nascent) / peak, 1)} %`,
    ];
  });
  out.push(
    markdownTable(
      [
        'Architecture',
        'Params',
        'Threads',
        'Training MFLOP/image',
        'Nascent GFLOP/s',
        'PyTorch tuned GFLOP/s',
        'Measured peak GFLOP/s',
        'Nascent / peak',
      ],
      rows,
      ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  return out.join('\n');
}

function efficiencyLine(input: ReportInput): string {
  const cells = input.cells.filter((cell) => cell.arch.params === EFFICIENCY_MODEL_PARAMS);
  const first = cells[0];
  if (!first) return `(No ${formatInt(EFFICIENCY_MODEL_PARAMS)}-parameter model was measured.)`;
  const perImage = trainingFlops(first.arch);
  const parts = cells.map((cell) => {
    const achieved = (median(cell.nascent) * perImage) / 1e9;
    const peak = peakFor(input.peaks, cell.threads);
    const share =
      peak === null
        ? 'no measured peak'
        : `${formatFixed((100 * achieved) / peak, 1)} % of the measured ${formatFixed(peak, 0)} GFLOP/s`;
    return `${cell.threads} thread${cell.threads === 1 ? '' : 's'}: ${formatInt(median(cell.nascent))} img/s × ${formatFixed(perImage / 1e6, 2)} MFLOP = **${formatFixed(achieved, 1)} GFLOP/s**, ${share}`;
  });
  return (
    `**The ${formatInt(EFFICIENCY_MODEL_PARAMS)}-parameter model** (\`${first.arch.genome}\`, ` +
    `${formatFixed(first.arch.forwardFlops / 1e6, 2)} MFLOP forward per image) under Nascent: ` +
    `${parts.join('; ')}.`
  );
}

function peakLine(input: ReportInput): string {
  const onednn = input.peaks
    .filter((p) => p.onednn)
    .map(
      (p) =>
        `${formatFixed(p.onednn?.best ?? 0, 0)} GFLOP/s on ${p.threads} thread${p.threads === 1 ? '' : 's'}`,
    );
  const blas = input.peaks.map(
    (p) =>
      `${formatFixed(p.blas.best, 1)} GFLOP/s on ${p.threads} thread${p.threads === 1 ? '' : 's'}`,
  );
  const size = input.peaks.find((p) => p.onednn)?.onednn?.size;
  const blasSize = input.peaks[0]?.blas.size;
  return (
    `Measured peak: fp32 matrix product ${size ?? '?'}×${size ?? '?'}×${size ?? '?'} through oneDNN ` +
    `(an mkldnn-layout \`nn.Linear\` in the same PyTorch; oneDNN runs the convolutions of both engines), best of the repetitions: ` +
    `${onednn.length > 0 ? onednn.join(', ') : 'oneDNN not available'}. ` +
    `For comparison, \`torch.mm\` on ${blasSize ?? '?'}×${blasSize ?? '?'} matrices through this build's BLAS ` +
    `(BLAS_INFO=${input.blasInfo}) reaches ${blas.join(', ')}; dense layers in both engines go through that BLAS.`
  );
}

function verdict(input: ReportInput): string {
  const below = input.cells.filter((cell) => median(cell.nascent) / median(cell.pytorchTuned) < 1);
  if (below.length === 0) {
    return 'Nascent is at or above 1.0× PyTorch eager with tuned malloc for every architecture and thread count.';
  }
  const lines = below.map((cell) => {
    const nascent = summarize(cell.nascent);
    const value = nascent.median / median(cell.pytorchTuned);
    const noise = rangesOverlap(nascent, summarize(cell.pytorchTuned))
      ? 'the min–max ranges overlap, so the gap is within the run-to-run noise'
      : 'the min–max ranges do not overlap';
    const spread = nascent.max / nascent.min;
    const arena =
      spread > 1.3
        ? `; Nascent's repetitions spread ${formatFixed(spread, 1)}× (max/min), the mark of train calls landing on pool threads with a secondary malloc arena`
        : '';
    return `- ${cell.arch.name}, ${cell.threads} thread${cell.threads === 1 ? '' : 's'}: ${formatFixed(value, 2)}× (${noise}${arena}).`;
  });
  return [
    'Below 1.0× PyTorch eager with tuned malloc:',
    '',
    ...lines,
    '',
    'Why, and what would close it: see the notes after this generated section.',
  ].join('\n');
}

/** The whole generated section of BENCHMARKS.md. */
export function renderSection(input: ReportInput): string {
  const { machine } = input;
  const threads = [...new Set(input.cells.map((cell) => cell.threads))].join(' and ');
  const lines = [
    input.nascentMode === 'launcher'
      ? '## Engine throughput: Nascent (as the `nascent` command runs) vs PyTorch eager (CPU training)'
      : '## Engine throughput: Nascent as a library in a plain Node process (`--api`) vs PyTorch eager (CPU training)',
    '',
  ];
  if (input.quick) {
    lines.push(
      '> **Quick smoke run (`--quick`): a few steps only. These numbers are not measurements.**',
      '',
    );
  }
  lines.push(
    `Command (after \`npm run build\`): \`${input.command}\``,
    '',
    `- Date: ${input.date.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Machine: ${machine.cpuModel}, ${machine.cpus} CPUs (nproc), ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}`,
    input.nascentMode === 'launcher'
      ? `- Nascent: native engine on libtorch ${input.engineTorch}, in a Node process started the way the \`nascent\` command starts (bin/nascent): ` +
          `the launcher sets \`GLIBC_TUNABLES=${TUNED_GLIBC_TUNABLES}\` at process start; the user sets nothing ` +
          `(the engine's own mallopt tuning at load: ${input.engineMallocTuned ? 'done' : 'FAILED'})`
      : `- Nascent: native engine on libtorch ${input.engineTorch}, as a library in a plain Node process: no environment variables; ` +
          `only the engine's own malloc tuning with mallopt when it loads (${input.engineMallocTuned ? 'done' : 'FAILED'}), which cannot reach threads that already have a malloc arena`,
    `- PyTorch: ${input.pytorchVersion} eager (Debian python3-torch), \`${input.python}\` (Python ${input.pythonVersion}), BLAS_INFO=${input.blasInfo}; ` +
      `default malloc = the environment as is without GLIBC_TUNABLES; tuned malloc = ` +
      `\`GLIBC_TUNABLES=${TUNED_GLIBC_TUNABLES}\``,
    `- Other environment variables that affect threading or allocation: ${input.otherEnv.length > 0 ? input.otherEnv.map((v) => `\`${v}\``).join(', ') : 'none'}`,
    '',
    `Training images/s on Fashion-MNIST (60,000 images of 1×28×28 resident as float32, scaled to [0, 1]), batch ${BATCH_SIZE}, ` +
      `AdamW (lr 1e-3, weight decay 1e-9, eps 1e-7), Glorot-uniform weights and zero biases, threads ${threads}. ` +
      'Each measurement builds a fresh model, runs the warm-up steps, then times one epoch capped at the listed steps: a new optimizer, one shuffle, ' +
      'and per step index_select of the batch from the resident tensor, zero_grad, forward, cross-entropy, backward and the AdamW step. ' +
      "Nascent's figure is the engine's own clock (`images / seconds` of `Network.train`); PyTorch runs the same loop in a fresh `python3` process per measurement, timed with `perf_counter`. " +
      `Before the first measurement each of Node's ${input.threadPool} libuv pool threads runs a warm-up training of every architecture at every thread count: ` +
      "a train call runs on whichever pool thread is free, and the first call on a thread pays page faults to grow that thread's malloc arena. " +
      "Pool threads that glibc attached to a secondary arena keep paying page faults on every call (glibc unmaps a secondary arena's heap when it empties, whatever M_TRIM_THRESHOLD says); " +
      "that is what users get, so it stays in Nascent's figures and shows as spread between repetitions. " +
      `Each of ${input.repetitions} repetition${input.repetitions === 1 ? '' : 's'} runs Nascent, PyTorch (default malloc) and PyTorch (tuned malloc) back to back, in a rotating order; ` +
      'the tables give the median (min–max) over repetitions, and ratios as the ratio of medians (min–max of the per-repetition ratios).',
    '',
    renderTables(input),
    '',
    'Training FLOPs per image are counted as 3 × the forward FLOPs of `analyzeArchitecture` (a multiply-add is 2 FLOPs; backward ≈ 2 × forward for the input and weight gradients; the optimizer step, loss and batch gather are not counted).',
    '',
    peakLine(input),
    '',
    efficiencyLine(input),
    '',
    verdict(input),
  );
  return lines.join('\n');
}
