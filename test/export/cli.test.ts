import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { type PredictionReport, predictCommand } from '../../src/cli/predict.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/fashion-mnist.js';
import { writeIdx } from '../../src/data/idx.js';
import { loadDataset } from '../../src/data/registry.js';
import { sliceDataset } from '../../src/data/split.js';
import type { ImageDataset } from '../../src/data/types.js';
import { Network, TensorData } from '../../src/engine/engine.js';
import {
  readModelFile,
  trainingNormalisation,
  writeModelFile,
} from '../../src/export/model-file.js';
import { genomeToArchitecture } from '../../src/space/genome.js';
import { RunStore } from '../../src/store/run-store.js';
import { fakeFashionMnist } from '../helpers.js';

const GENOME = 'NC 8 3 relu;RC 8 3 relu;RC 8 3 relu;FL swish;';
const architecture = genomeToArchitecture(GENOME, {
  input: { channels: 1, height: 28, width: 28 },
  classes: 10,
});
const normalisation = trainingNormalisation('fashion-mnist', true);
const dir = mkdtempSync(join(tmpdir(), 'nascent-export-cli-'));
const modelPath = join(dir, 'model.safetensors');
let dataDir: string;
let test: ImageDataset;
/** The trained network's class for each test image, from the engine directly. */
let engineClasses: number[];

function argmaxRows(logits: Float32Array, classes: number): number[] {
  return Array.from({ length: logits.length / classes }, (_, row) => {
    const values = Array.from(logits.subarray(row * classes, (row + 1) * classes));
    return values.indexOf(Math.max(...values));
  });
}

/** A binary PGM of one 28x28 image of `data`. */
function pgm(data: ImageDataset, index: number): Buffer {
  const size = data.height * data.width;
  return Buffer.concat([
    Buffer.from(`P5\n${data.width} ${data.height}\n255\n`),
    data.images.subarray(index * size, (index + 1) * size),
  ]);
}

beforeAll(async () => {
  dataDir = fakeFashionMnist(400, 60);
  const splits = await loadDataset('fashion-mnist', { dataDir });
  test = splits.test;
  const network = Network.build(architecture, { init: 'kaiming', seed: 1 });
  const tensorOptions = {
    normalisation: { mean: normalisation.mean ?? [], std: normalisation.std ?? [] },
  };
  const train = TensorData.fromImages(splits.train, tensorOptions);
  await network.train(train, null, {
    epochs: 4,
    batchSize: 32,
    optimizer: 'adamw',
    lr: 0.01,
    weightDecay: 0,
    schedule: 'constant',
    seed: 1,
    threads: 1,
  });
  train.release();
  const testData = TensorData.fromImages(test, tensorOptions);
  const { logits } = await network.predict(testData, { threads: 1 });
  testData.release();
  engineClasses = argmaxRows(logits, 10);
  writeModelFile(modelPath, {
    network,
    genome: GENOME,
    space: 'genome',
    dataset: 'fashion-mnist',
    classes: FASHION_MNIST_CLASSES,
    normalisation,
    protocol: 'standard',
  });
}, 60_000);

describe('nascent export', () => {
  it('prints the genome and the IR of a model file, or writes them with --out', async () => {
    expect(await exportCommand(modelPath, { format: 'genome' })).toBe(GENOME);
    expect(JSON.parse(await exportCommand(modelPath, { format: 'json' }))).toEqual(architecture);
    const out = join(dir, 'arch.json');
    expect(await exportCommand(modelPath, { format: 'json', out })).toContain(`to ${out}`);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(architecture);
  });

  it('writes ONNX next to the model file and PyTorch into a folder', async () => {
    const onnx = await exportCommand(modelPath, { format: 'onnx' });
    expect(onnx).toContain(`wrote ${join(dir, 'model.onnx')}: ONNX opset 13`);
    expect(onnx).toContain(
      'input "input": float32 [N, 1, 28, 28], (pixels / 255 - mean) / std with mean [0.286], std [0.353]',
    );
    expect(onnx).toContain('output "logits": float32 [N, 10]');
    expect(readFileSync(join(dir, 'model.onnx')).includes('T-shirt/top')).toBe(true);
    const pytorch = await exportCommand(modelPath, { format: 'pytorch', out: join(dir, 'torch') });
    expect(pytorch).toContain(join(dir, 'torch', 'model.py'));
    expect(readFileSync(join(dir, 'torch', 'model.py'), 'utf8')).toContain(`GENOME = "${GENOME}"`);
    const copy = readModelFile(join(dir, 'torch', 'model.safetensors'));
    expect(copy.weights).toEqual(readModelFile(modelPath).weights);
  });

  it('exports a search candidate without weights as genome or json, and says how to get weights', async () => {
    const storePath = join(dir, 'runs.db');
    const store = RunStore.open(storePath);
    const run = store.createRun({
      name: 'exp',
      space: 'genome',
      strategy: 'ga',
      dataset: 'fashion-mnist',
      seed: 0,
      config: { evaluation: { protocol: 'course' } },
      codeVersion: 'test',
    });
    const [candidate] = store.addCandidates(run.id, [
      {
        generation: 0,
        genome: GENOME,
        genomeJson: {},
        architecture,
        hash: 'h1',
        operator: 'sample',
      },
    ]);
    store.close();
    const id = candidate?.id as string;
    expect(await exportCommand(id, { format: 'genome', store: storePath })).toBe(GENOME);
    expect(JSON.parse(await exportCommand(id, { format: 'json', store: storePath }))).toEqual(
      architecture,
    );
    const refusal = exportCommand(id, { format: 'onnx', store: storePath });
    await expect(refusal).rejects.toThrow(`candidate ${id} has no trained weights`);
    await expect(refusal).rejects.toThrow(
      `nascent train --genome "${GENOME}" --dataset fashion-mnist --protocol course --save model.safetensors`,
    );
    await expect(refusal).rejects.toThrow('nascent export model.safetensors --format onnx');
    await expect(exportCommand('nope', { format: 'json', store: storePath })).rejects.toThrow(
      /no candidate nope/,
    );
  });

  it('refuses unknown formats, missing and corrupt model files', async () => {
    await expect(exportCommand(modelPath, { format: 'tflite' })).rejects.toThrow(
      'unknown export format "tflite" (expected onnx, pytorch, genome, json)',
    );
    await expect(exportCommand(join(dir, 'none.safetensors'), { format: 'onnx' })).rejects.toThrow(
      /no model file .*none\.safetensors \(to export a candidate of a search, give its id with --store/,
    );
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, readFileSync(modelPath).subarray(0, 200));
    await expect(exportCommand(corrupt, { format: 'onnx' })).rejects.toThrow(
      /corrupt\.safetensors: truncated/,
    );
    await expect(predictCommand(corrupt, ['fashion-mnist'], { dataDir })).rejects.toThrow(
      /corrupt\.safetensors: truncated/,
    );
  });
});

describe('nascent predict', () => {
  it('predicts a labelled dataset as the engine does, with accuracy and a confusion matrix', async () => {
    const report = JSON.parse(
      await predictCommand(modelPath, ['fashion-mnist'], { dataDir, limit: 50, json: true }),
    ) as PredictionReport;
    expect(report.predictions).toHaveLength(50);
    expect(report.predictions.map((p) => p.predicted)).toEqual(engineClasses.slice(0, 50));
    expect(report.predictions.map((p) => p.label)).toEqual(Array.from(test.labels.subarray(0, 50)));
    const correct = report.predictions.filter((p) => p.label === p.predicted).length;
    expect(report.accuracy).toBe(correct / 50);
    expect(report.accuracy).toBeGreaterThan(0.5);
    expect(report.confusion).toHaveLength(10);
    for (const row of report.confusion ?? []) expect(row).toHaveLength(10);
    const cells = (report.confusion ?? []).flat();
    expect(cells.reduce((a, b) => a + b, 0)).toBe(50);
    const diagonal = (report.confusion ?? []).reduce((sum, row, k) => sum + (row[k] ?? 0), 0);
    expect(diagonal).toBe(correct);
    for (const p of report.predictions) {
      expect(p.probability).toBeGreaterThanOrEqual(0.1);
      expect(p.probability).toBeLessThanOrEqual(1);
      expect(p.className).toBe(FASHION_MNIST_CLASSES[p.predicted]);
    }
  });

  it('prints a table of predictions for a few images, then accuracy and the matrix', async () => {
    const text = await predictCommand(modelPath, ['fashion-mnist'], { dataDir, limit: 8 });
    expect(text).toContain('8 images from fashion-mnist test set');
    expect(text).toMatch(/prediction\s+│ probability\s+│ label/);
    expect(text).toMatch(/accuracy: \d+\.\d\d% \(\d of 8\)/);
    expect(text).toContain('confusion matrix (rows: true class, columns: predicted class):');
    expect(text).toContain('9 Ankle boot');
    const many = await predictCommand(modelPath, ['fashion-mnist'], { dataDir, list: 3 });
    expect(many).toContain('(first 3 of 60; --list N shows more)');
  });

  it('predicts PGM image files and IDX files as the same images of the dataset', async () => {
    const files = [0, 1, 2].map((i) => {
      const file = join(dir, `image${i}.pgm`);
      writeFileSync(file, pgm(test, i));
      return file;
    });
    const fromFiles = JSON.parse(
      await predictCommand(modelPath, files, { json: true }),
    ) as PredictionReport;
    expect(fromFiles.predictions.map((p) => p.image)).toEqual(files);
    expect(fromFiles.predictions.map((p) => p.predicted)).toEqual(engineClasses.slice(0, 3));
    expect(fromFiles.accuracy).toBeUndefined();

    const subset = sliceDataset(test, [0, 1, 2, 3, 4]);
    const images = join(dir, 'five-images-idx3-ubyte');
    const labels = join(dir, 'five-labels-idx1-ubyte');
    writeIdx(images, subset.images, [5, 28, 28]);
    writeIdx(labels, subset.labels, [5]);
    const fromIdx = JSON.parse(
      await predictCommand(modelPath, [images], { labels, json: true }),
    ) as PredictionReport;
    expect(fromIdx.predictions.map((p) => p.predicted)).toEqual(engineClasses.slice(0, 5));
    expect(fromIdx.confusion?.flat().reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('refuses images of another size and labels out of range', async () => {
    const small = join(dir, 'small.pgm');
    writeFileSync(small, Buffer.concat([Buffer.from('P5 10 10 255\n'), Buffer.alloc(100)]));
    await expect(predictCommand(modelPath, [small])).rejects.toThrow(
      /small\.pgm holds 1x10x10 images \(channels x height x width\); the model takes 1x28x28/,
    );
    expect(existsSync(modelPath)).toBe(true);
    const images = join(dir, 'one-images-idx3-ubyte');
    const labels = join(dir, 'one-labels-idx1-ubyte');
    writeIdx(images, test.images.subarray(0, 784), [1, 28, 28]);
    writeIdx(labels, Uint8Array.of(12), [1]);
    await expect(predictCommand(modelPath, [images], { labels })).rejects.toThrow(
      /has label 12, but the model has only 10 classes/,
    );
  });
});
