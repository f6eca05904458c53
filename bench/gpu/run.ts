/**
 * The engine on a GPU: does the CUDA path compute what the CPU path computes, and how fast does it
 * train next to PyTorch eager on the same GPU?
 *
 * 1. Agreement: each architecture is built on the CPU, its weights are copied into a copy built on
 *    the GPU, and both predict the same 256 images and score the same proxies.
 * 2. Speed: AdamW training steps on random images resident on the device, Nascent (the addon) and
 *    PyTorch (python3 with the IR's PyTorch reference, bench/gpu/pytorch_steps.py), interleaved,
 *    the same batch size and steps; images per second, median of the repetitions.
 *
 *   node dist/bench/gpu/run.js [--device cuda] [--python python3] [--steps 100] [--reps 3]
 *                              [--out BENCHMARKS.md]
 *
 * Needs an addon built against a libtorch with CUDA (cmake with Torch_DIR set to a PyTorch's
 * torch.utils.cmake_prefix_path + '/Torch'); BENCHMARKS.md says how the figures were taken.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ImageDataset } from '../../src/data/types.js';
import { Network, TensorData, engineInfo } from '../../src/engine/engine.js';
import { baselineArchitecture } from '../../src/evaluate/baselines.js';
import { compileGenome, parseGenome } from '../../src/space/genome.js';
import type { Architecture } from '../../src/space/ir.js';
import { Random } from '../../src/util/random.js';
import { formatFixed, formatInt } from '../common/format.js';
import { machineInfo } from '../common/machine.js';
import { markdownTable, writeSection } from '../common/markdown.js';
import { median } from '../common/stats.js';

const MARKERS = {
  start: '<!-- bench:gpu:start -->',
  end: '<!-- bench:gpu:end -->',
};
const HEADING = 'Engine on a GPU: CPU and GPU agreement, training speed against PyTorch eager';
const CIFAR_TARGET = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };
const PROXY_NAMES = ['synflow', 'grad_norm', 'naswot', 'jacob_cov', 'ntk_cond'] as const;

interface Case {
  readonly name: string;
  readonly architecture: Architecture;
  readonly batchSize: number;
}

const CASES: readonly Case[] = [
  {
    name: 'genome CNN (NC 64 3; RC 128 3; RC 256 3)',
    architecture: compileGenome(
      parseGenome('NC 64 3 relu;RC 128 3 relu;RC 256 3 relu;FL relu;'),
      CIFAR_TARGET,
    ),
    batchSize: 256,
  },
  {
    name: 'ResNet-18 (CIFAR stem)',
    architecture: baselineArchitecture('resnet18', CIFAR_TARGET),
    batchSize: 128,
  },
];

function randomImages(count: number, seed: number): ImageDataset {
  const random = new Random(seed);
  const images = new Uint8Array(count * 3 * 32 * 32);
  for (let i = 0; i < images.length; i += 1) images[i] = Math.floor(random.next() * 256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i += 1) labels[i] = Math.floor(random.next() * 10);
  return {
    name: `random[${count}]`,
    images,
    labels,
    count,
    channels: 3,
    height: 32,
    width: 32,
    classes: Array.from({ length: 10 }, (_, k) => `class ${k}`),
  };
}

const NORMALISATION = { mean: [127.5, 127.5, 127.5], std: [73.6, 73.6, 73.6] };

interface Agreement {
  readonly maxAbs: number;
  readonly relative: number;
  readonly argmaxAgree: number;
  readonly proxies: Record<string, { cpu: number | null; gpu: number | null }>;
}

async function agreement(architecture: Architecture, device: string): Promise<Agreement> {
  const images = randomImages(256, 7);
  const cpuNet = Network.build(architecture, { device: 'cpu', init: 'glorot', seed: 3 });
  const gpuNet = Network.build(architecture, { device, init: 'glorot', seed: 3 });
  gpuNet.setWeights(cpuNet.getWeights());
  const cpuData = TensorData.fromImages(images, { normalisation: NORMALISATION });
  const gpuData = TensorData.fromImages(images, { normalisation: NORMALISATION, device });
  const a = await cpuNet.predict(cpuData);
  const b = await gpuNet.predict(gpuData);
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < a.logits.length; i += 1) {
    maxAbs = Math.max(maxAbs, Math.abs((a.logits[i] ?? 0) - (b.logits[i] ?? 0)));
    scale = Math.max(scale, Math.abs(a.logits[i] ?? 0));
  }
  let agree = 0;
  for (let row = 0; row < a.count; row += 1) {
    const slice = (logits: Float32Array): number => {
      let best = 0;
      for (let k = 1; k < a.classes; k += 1) {
        if ((logits[row * a.classes + k] ?? 0) > (logits[row * a.classes + best] ?? 0)) best = k;
      }
      return best;
    };
    if (slice(a.logits) === slice(b.logits)) agree += 1;
  }
  const options = { names: PROXY_NAMES, seed: 5 };
  const cpuProxies = await cpuNet.proxies(cpuData, options);
  const gpuProxies = await gpuNet.proxies(gpuData, options);
  const proxies: Agreement['proxies'] = {};
  for (const name of PROXY_NAMES) {
    proxies[name] = {
      cpu: cpuProxies.scores[name]?.value ?? null,
      gpu: gpuProxies.scores[name]?.value ?? null,
    };
  }
  cpuData.release();
  gpuData.release();
  return {
    maxAbs,
    relative: maxAbs / Math.max(scale, 1e-12),
    argmaxAgree: agree / a.count,
    proxies,
  };
}

const TRAIN_SETTINGS = {
  epochs: 1,
  optimizer: 'adamw',
  lr: 1e-3,
  weightDecay: 1e-9,
  eps: 1e-7,
  schedule: 'constant',
} as const;

async function nascentRate(
  testCase: Case,
  data: TensorData,
  device: string,
  steps: number,
  seed: number,
  network: Network,
): Promise<number> {
  const started = performance.now();
  const result = await network.train(data, null, {
    ...TRAIN_SETTINGS,
    batchSize: testCase.batchSize,
    seed,
    maxStepsPerEpoch: steps,
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 'completed')
    throw new Error(`${testCase.name} on ${device}: ${result.status}`);
  return (steps * testCase.batchSize) / seconds;
}

interface PythonResult {
  readonly images_per_second: number[];
  readonly params: number;
  readonly torch_version: string;
  readonly device_name: string;
}

function pythonRate(
  python: string,
  testCase: Case,
  device: string,
  steps: number,
  count: number,
): PythonResult {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'pytorch_steps.py');
  const source = existsSync(script)
    ? script
    : resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench/gpu/pytorch_steps.py');
  const job = {
    architecture: testCase.architecture,
    device,
    batch_size: testCase.batchSize,
    steps,
    warmup_steps: 10,
    count,
    classes: 10,
    seed: 1,
    repetitions: 1,
  };
  const run = spawnSync(python, [source], { input: JSON.stringify(job), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${python} ${source} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout) as PythonResult;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      device: { type: 'string', default: 'cuda' },
      python: { type: 'string', default: 'python3' },
      steps: { type: 'string', default: '100' },
      reps: { type: 'string', default: '3' },
      out: { type: 'string' },
    },
  });
  const device = values.device;
  const steps = Number(values.steps);
  const reps = Number(values.reps);
  const info = engineInfo();
  console.log(
    `libtorch ${info.torchVersion}, CUDA available ${info.cudaAvailable}, devices ${info.cudaDevices}`,
  );
  const agreementRows: string[][] = [];
  const speedRows: string[][] = [];
  let pythonInfo = '';
  for (const testCase of CASES) {
    const check = await agreement(testCase.architecture, device);
    const proxyText = PROXY_NAMES.map((name) => {
      const { cpu, gpu } = check.proxies[name] ?? { cpu: null, gpu: null };
      if (cpu === null || gpu === null) return `${name} ${cpu ?? 'failed'} / ${gpu ?? 'failed'}`;
      return `${name} ${formatFixed(Math.abs(gpu - cpu) / Math.max(Math.abs(cpu), 1e-12), 4)}`;
    }).join(', ');
    console.log(
      `${testCase.name}: logits max |cpu-gpu| ${check.maxAbs.toExponential(2)} ` +
        `(${check.relative.toExponential(2)} of the largest), argmax agrees ${formatFixed(100 * check.argmaxAgree, 1)}%; ` +
        `proxies, relative difference: ${proxyText}`,
    );
    agreementRows.push([
      testCase.name,
      check.maxAbs.toExponential(2),
      check.relative.toExponential(2),
      `${formatFixed(100 * check.argmaxAgree, 1)}%`,
      proxyText,
    ]);

    const count = testCase.batchSize * steps;
    const data = TensorData.fromImages(randomImages(count, 11), {
      normalisation: NORMALISATION,
      device,
    });
    const network = Network.build(testCase.architecture, { device, init: 'glorot', seed: 1 });
    await nascentRate(testCase, data, device, 10, 0, network);
    const nascent: number[] = [];
    const pytorch: number[] = [];
    let params = 0;
    for (let rep = 0; rep < reps; rep += 1) {
      nascent.push(await nascentRate(testCase, data, device, steps, rep + 1, network));
      const py = pythonRate(values.python, testCase, device, steps, count);
      pytorch.push(...py.images_per_second);
      params = py.params;
      pythonInfo = `PyTorch ${py.torch_version} on ${py.device_name}`;
      console.log(
        `  rep ${rep + 1}: Nascent ${formatInt(nascent.at(-1) ?? 0)} img/s, PyTorch ${formatInt(py.images_per_second[0] ?? 0)} img/s`,
      );
    }
    data.release();
    if (params !== network.parameterCount()) {
      throw new Error(
        `${testCase.name}: ${network.parameterCount()} parameters in Nascent, ${params} in PyTorch`,
      );
    }
    const n = median(nascent);
    const p = median(pytorch);
    speedRows.push([
      testCase.name,
      formatInt(params),
      String(testCase.batchSize),
      formatInt(n),
      formatInt(p),
      formatFixed(n / p, 2),
      `${formatInt(Math.min(...nascent))}-${formatInt(Math.max(...nascent))} / ${formatInt(Math.min(...pytorch))}-${formatInt(Math.max(...pytorch))}`,
    ]);
  }
  const machine = machineInfo();
  const body = [
    `## ${HEADING}`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${pythonInfo}; libtorch ${info.torchVersion} in the addon; ` +
      `host ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}.`,
    '',
    `Command: \`node dist/bench/gpu/run.js --device ${device} --steps ${steps} --reps ${reps}\``,
    '',
    'CPU and GPU agreement (the same weights, 256 random images; proxies relative to the CPU value):',
    '',
    markdownTable(
      ['architecture', 'max logit diff', 'of largest logit', 'same argmax', 'proxies'],
      agreementRows,
    ),
    '',
    `Training speed, ${steps} AdamW steps on random images resident on the GPU, median of ${reps} interleaved repetitions after 10 warm-up steps:`,
    '',
    markdownTable(
      ['architecture', 'params', 'batch', 'Nascent img/s', 'PyTorch img/s', 'ratio', 'range N / P'],
      speedRows,
      ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
    ),
  ].join('\n');
  console.log(body);
  if (values.out !== undefined) {
    writeSection(resolve(values.out), MARKERS, body, '# Benchmarks');
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
