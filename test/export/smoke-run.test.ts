/**
 * Issue "from a search to a usable model", done when: for a finished smoke-sized run, every export
 * format is produced and verified: ONNX against libtorch through onnxruntime, PyTorch code and
 * weights through Debian's PyTorch, genome text and IR JSON against the run store.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { NORMALISATION } from '../../src/data/registry.js';
import { trainBestCommand } from '../../src/cli/final.js';
import { TensorData } from '../../src/engine/engine.js';
import { loadNetwork } from '../../src/export/model-file.js';
import { loadSearchConfig } from '../../src/run/config.js';
import { runSearch } from '../../src/run/runner.js';
import { RunStore } from '../../src/store/index.js';
import { fakeFashionMnist, syntheticImages } from '../helpers.js';

describe('a finished smoke run, exported in every format', () => {
  it('re-trains the best candidate and exports it as ONNX, PyTorch, genome and JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nascent-smoke-export-'));
    const store = join(dir, 'runs.db');
    const config = loadSearchConfig(undefined, {
      store,
      dataDir: fakeFashionMnist(300, 60),
      subset: 200,
      strategy: 'ga',
      population: 3,
      epochs: 1,
      generations: 2,
      protocol: 'standard',
    });
    const { runId } = await runSearch({ config });
    await trainBestCommand({ run: runId, store, epochs: 1, seeds: [1], progress: false });
    const reader = RunStore.open(store);
    const [final] = reader.finalTrainings(runId);
    const candidate = reader.getCandidate(final?.candidateId as string);
    reader.close();
    const modelPath = final?.modelPath as string;
    expect(modelPath).toMatch(/\.safetensors$/);

    // genome and JSON, from the model file and from the store, say the same network
    const genome = await exportCommand(modelPath, { format: 'genome' });
    expect(genome.trim()).toBe(candidate.genome);
    const fromStore = await exportCommand(candidate.id, { format: 'genome', store });
    expect(fromStore.trim()).toBe(candidate.genome);
    const json = JSON.parse(await exportCommand(modelPath, { format: 'json' })) as unknown;
    expect(json).toEqual(candidate.architecture);

    // the same images through libtorch, onnxruntime and PyTorch
    const images = syntheticImages(8, { size: 28, classes: 4, seed: 9 });
    const network = loadNetwork(modelPath);
    // The `standard` protocol standardises pixels with the dataset's mean and std.
    const { mean, std } = NORMALISATION['fashion-mnist'];
    const inputs = TensorData.fromImages(images, { normalisation: { mean, std } });
    const engine = await network.predict(inputs);
    inputs.release();
    const pixels = Float32Array.from(
      images.images,
      (p) => (p / 255 - (mean[0] as number)) / (std[0] as number),
    );

    const onnxPath = join(dir, 'model.onnx');
    await exportCommand(modelPath, { format: 'onnx', out: onnxPath });
    const session = await ort.InferenceSession.create(readFileSync(onnxPath));
    const output = await session.run({ input: new ort.Tensor('float32', pixels, [8, 1, 28, 28]) });
    const onnxLogits = output.logits?.data as Float32Array;
    expect(onnxLogits.length).toBe(engine.logits.length);
    for (let i = 0; i < onnxLogits.length; i += 1)
      expect(Math.abs((onnxLogits[i] as number) - (engine.logits[i] as number))).toBeLessThan(1e-4);

    const torchDir = join(dir, 'pytorch');
    await exportCommand(modelPath, { format: 'pytorch', out: torchDir });
    const pixelFile = join(dir, 'pixels.u8');
    writeFileSync(pixelFile, images.images);
    const python = spawnSync(
      '/usr/bin/python3',
      [join('python', 'check_pytorch_export.py'), torchDir, pixelFile, '8'],
      { encoding: 'utf8' },
    );
    expect(python.status, python.stderr).toBe(0);
    const [result] = JSON.parse(python.stdout) as { params: number; logits: number[][] }[];
    expect(result?.params).toBe(network.parameterCount());
    const torchLogits = (result?.logits ?? []).flat();
    expect(torchLogits.length).toBe(engine.logits.length);
    for (let i = 0; i < torchLogits.length; i += 1)
      expect(Math.abs((torchLogits[i] as number) - (engine.logits[i] as number))).toBeLessThan(
        1e-4,
      );
  });
});
