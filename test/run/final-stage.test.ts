import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { searchCommand } from '../../src/cli/search.js';
import { readModelFile } from '../../src/export/model-file.js';
import { finalRecipe, finalStageSchema } from '../../src/run/final-recipe.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist } from '../helpers.js';

/** A tiny main job: the cnn space, accuracy against params under a limit, the final stage on. */
function tinyConfig(dir: string, final: Record<string, unknown>): string {
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    `name: tiny
seed: 0
store: ${join(dir, 'runs.db')}
dataset: { name: fashion-mnist, dataDir: ${fakeFashionMnist(200, 60)} }
space:
  name: cnn
  options: { maxStages: 2, channels: [8, 16], stemChannels: [8], depths: [1], headChannels: [0] }
strategy: { name: random, populationSize: 2 }
objectives:
  - { metric: accuracy, direction: maximize }
  - { metric: params, direction: minimize }
constraints:
  - { metric: params, op: '<=', value: 100000 }
evaluation: { protocol: standard, epochs: 1, maxStepsPerEpoch: 2 }
budget: { generations: 1 }
final: ${JSON.stringify(final)}
`,
  );
  return file;
}

describe('final stage', () => {
  it('re-trains the best network and a baseline, writes the model, its ONNX file and the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-final-stage-'));
    const file = tinyConfig(dir, {
      networks: 1,
      seeds: [1],
      epochs: 1,
      warmupEpochs: 0.5,
      maxStepsPerEpoch: 3,
      baselines: ['plain-cnn'],
    });
    const summary = await searchCommand({ config: file, progress: false });
    const store = RunStore.open(join(dir, 'runs.db'), { readonly: true });
    let runId: string;
    try {
      const [run] = store.listRuns();
      runId = run?.id as string;
      const trainings = store.finalTrainings(runId);
      expect(trainings.map((t) => [t.role, t.seed, t.status])).toEqual([
        ['candidate', 1, 'ok'],
        ['baseline', 1, 'ok'],
      ]);
      expect(trainings[0]?.settings.protocol).toBe('final');
    } finally {
      store.close();
    }
    const out = join(dir, runId);
    const modelPath = join(out, 'best-model.safetensors');
    const onnxPath = join(out, 'best-model.onnx');
    for (const path of [modelPath, onnxPath, join(out, 'report.html')])
      expect(existsSync(path), path).toBe(true);
    expect(summary).toContain(`model file: ${modelPath}`);
    expect(summary).toContain(`ONNX:       ${onnxPath}`);
    expect(summary).toContain(`npx nascent predict ${modelPath} fashion-mnist`);
    expect(summary).toMatch(/plain-cnn \(baseline\)/);
    expect(summary).toMatch(/test acc \(mean ± sd\)/);
    // the ONNX file runs and has the model's ten outputs
    const model = readModelFile(modelPath);
    expect(model.genome).toMatch(/^(relu|swish)\|s8\|/);
    const session = await InferenceSession.create(onnxPath);
    const result = await session.run({
      input: new Tensor('float32', new Float32Array(2 * 28 * 28), [2, 1, 28, 28]),
    });
    await session.release();
    expect((result.logits as Tensor).dims).toEqual([2, 10]);
  }, 120_000);

  it('is skipped with --no-final, and refuses unknown final settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-final-stage-'));
    const file = tinyConfig(dir, { seeds: [1], epochs: 1 });
    const summary = await searchCommand({ config: file, progress: false, final: false });
    expect(summary).not.toContain('final stage');
    const store = RunStore.open(join(dir, 'runs.db'), { readonly: true });
    try {
      expect(store.finalTrainings((store.listRuns()[0] as { id: string }).id)).toEqual([]);
    } finally {
      store.close();
    }
    await expect(
      searchCommand({ config: tinyConfig(dir, { epoch: 3 }), progress: false }),
    ).rejects.toThrow(/final\.epoch.*epochs/);
  }, 60_000);

  it('describes the recipe: warmup, cosine, label smoothing, SGD', () => {
    const recipe = finalRecipe(finalStageSchema.parse({}));
    expect(recipe.training).toMatchObject({
      epochs: 30,
      optimizer: 'sgd',
      schedule: 'cosine',
      warmupEpochs: 2,
      labelSmoothing: 0.1,
    });
  });
});
