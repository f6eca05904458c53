import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NORMALISATION } from '../../src/data/registry.js';
import {
  readModelFile,
  trainingNormalisation,
  writeModelFile,
} from '../../src/export/model-file.js';
import { architectureToPytorch, writePytorchExport } from '../../src/export/pytorch.js';
import type { Architecture } from '../../src/space/ir.js';
import { conv } from '../helpers.js';
import {
  EXPORT_ARCHITECTURES,
  type TrainedExample,
  maxAbsDifference,
  trainedExample,
} from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) {
  console.warn(
    `PyTorch export check skipped: ${PYTHON} cannot import torch (apt-get install python3-torch)`,
  );
}

/** Node ids that are Python keywords, nn.Module attributes, or names the generated code uses. */
const AWKWARD_NAMES: Architecture = {
  format: 'nascent-ir/1',
  input: { channels: 1, height: 8, width: 8 },
  output: 'eval',
  nodes: [
    { id: 'self', op: 'input', inputs: [] },
    conv('in', 'self', 4, 3),
    { id: 'train', op: 'batchnorm', inputs: ['in'] },
    { id: 'in_', op: 'activation', inputs: ['train'], fn: 'relu' },
    { id: 'F', op: 'global_avg_pool', inputs: ['in_'] },
    { id: 'eval', op: 'dense', inputs: ['F'], units: 4, bias: true },
  ],
};

interface PythonResult {
  params: number;
  state: Record<string, number[]>;
  metadata: Record<string, string>;
  logits: number[][];
}

const CASES: Record<string, { architecture: Architecture; standardise?: 'cifar10' }> = {
  activations: { architecture: EXPORT_ARCHITECTURES.activations as Architecture },
  relu: { architecture: EXPORT_ARCHITECTURES.relu as Architecture },
  'graph (standardised cifar10 pixels)': {
    architecture: EXPORT_ARCHITECTURES.graph as Architecture,
    standardise: 'cifar10',
  },
  'awkward node ids': { architecture: AWKWARD_NAMES },
};

describe.skipIf(!hasTorch)('PyTorch export (model.py run by Debian python3-torch)', () => {
  const examples = new Map<string, TrainedExample>();
  const results = new Map<string, PythonResult>();

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'nascent-pytorch-'));
    const args: string[] = [];
    for (const [name, { architecture, standardise }] of Object.entries(CASES)) {
      const normalisation = standardise ? NORMALISATION[standardise] : undefined;
      const example = await trainedExample(architecture, 5, normalisation);
      examples.set(name, example);
      const dir = join(root, `case${examples.size}`);
      const file = join(root, `case${examples.size}.safetensors`);
      writeModelFile(file, {
        network: example.network,
        normalisation: trainingNormalisation(standardise ?? 'mnist', standardise !== undefined),
        classes: Array.from({ length: example.classes }, (_, k) => `label ${k}`),
      });
      writePytorchExport(dir, readModelFile(file));
      writeFileSync(join(dir, 'pixels.u8'), example.pixels);
      args.push(dir, join(dir, 'pixels.u8'), String(example.count));
    }
    const python = spawnSync(PYTHON, ['python/check_pytorch_export.py', ...args], {
      encoding: 'utf8',
    });
    if (python.status !== 0) throw new Error(`model.py failed:\n${python.stderr}`);
    (JSON.parse(python.stdout) as PythonResult[]).forEach((result, i) =>
      results.set(Object.keys(CASES)[i] as string, result),
    );
  }, 60_000);

  it.each(Object.keys(CASES))(
    '%s: PyTorch gives the engine logits within 1e-4, with the same parameters',
    (name) => {
      const example = examples.get(name) as TrainedExample;
      const result = results.get(name) as PythonResult;
      expect(result.params).toBe(example.network.parameterCount());
      expect(result.metadata.format).toBe('nascent-model/1');
      const flat = result.logits.flat();
      expect(result.logits).toHaveLength(example.count);
      expect(flat).toHaveLength(example.logits.length);
      expect(maxAbsDifference(flat, example.logits)).toBeLessThanOrEqual(1e-4);
    },
  );

  it('names the state like the engine, except node ids Python cannot use', () => {
    for (const name of ['graph (standardised cifar10 pixels)', 'awkward node ids']) {
      const engine = Object.keys((examples.get(name) as TrainedExample).network.getWeights());
      const python = Object.keys((results.get(name) as PythonResult).state).filter(
        (key) => !key.endsWith('num_batches_tracked'),
      );
      const renamed = engine.map((key) =>
        key.replace(/^(in|train|eval)\./, (_, id: string) => `${id === 'in' ? 'in__' : `${id}_`}.`),
      );
      expect(python.sort()).toEqual((name === 'awkward node ids' ? renamed : engine).sort());
    }
  });
});

describe('PyTorch model.py text', () => {
  it('pads asymmetric same padding explicitly and symmetric padding in the layer', () => {
    const text = architectureToPytorch(EXPORT_ARCHITECTURES.relu as Architecture, {
      normalisation: trainingNormalisation('fashion-mnist', true),
    });
    // NC 6 2: a 2x2 kernel with same padding puts its one row and column at the bottom and right
    expect(text).toContain('conv1 = self.conv1(F.pad(input, (0, 1, 0, 1)))');
    expect(text).toContain('self.conv4 = nn.Conv2d(8, 4, 5, padding=(2, 2))');
    expect(text).toContain('MEAN = (0.286,)');
    expect(text).toContain('RENAMED = {}');
  });
});
