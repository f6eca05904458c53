import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TensorData } from '../../src/engine/engine.js';
import {
  MODEL_FORMAT,
  ModelFileError,
  loadNetwork,
  readModelFile,
  trainingNormalisation,
  writeModelFile,
} from '../../src/export/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/export/safetensors.js';
import { expectedWeightShapes } from '../../src/export/weights.js';
import type { Architecture } from '../../src/space/ir.js';
import { syntheticImages } from '../helpers.js';
import { EXPORT_ARCHITECTURES, type TrainedExample, trainedExample } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'nascent-model-file-'));
const relu = EXPORT_ARCHITECTURES.relu as Architecture;
const GENOME = 'NC 6 2 relu;RC 8 3 relu;RC 8 3 relu;NC 4 5 relu;FL relu;';

/** A safetensors file with the given header (JSON) and data bytes, laid out by hand. */
function handMade(header: unknown, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

describe('expected weights', () => {
  it.each(Object.keys(EXPORT_ARCHITECTURES))(
    '%s: names and shapes equal what libtorch holds',
    async (name) => {
      const architecture = EXPORT_ARCHITECTURES[name] as Architecture;
      const { network } = await trainedExample(architecture, 1);
      const engine = Object.fromEntries(
        Object.entries(network.getWeights()).map(([key, tensor]) => [key, [...tensor.shape]]),
      );
      expect(Object.fromEntries(expectedWeightShapes(architecture))).toEqual(engine);
    },
  );
});

describe('safetensors', () => {
  it('lays out the header and data as the format says, and reads back what it wrote', () => {
    const tensors = {
      b: { shape: [3], data: Float32Array.of(1, -2.5, 3e-8) },
      a: { shape: [2, 1], data: Float32Array.of(Math.PI, -0) },
    };
    const bytes = encodeSafetensors(tensors, { note: 'hello' });
    const view = Buffer.from(bytes);
    const headerLength = Number(view.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(view.subarray(8, 8 + headerLength).toString('utf8'));
    expect(header).toEqual({
      __metadata__: { note: 'hello' },
      b: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      a: { dtype: 'F32', shape: [2, 1], data_offsets: [12, 20] },
    });
    expect(view.readFloatLE(8 + headerLength + 12)).toBeCloseTo(Math.PI, 6);
    expect(bytes.length).toBe(8 + headerLength + 20);
    const back = decodeSafetensors(bytes, 'x');
    expect(back.metadata).toEqual({ note: 'hello' });
    expect(back.tensors.b?.data).toEqual(tensors.b.data);
    expect(back.tensors.a?.shape).toEqual([2, 1]);
  });

  it('refuses other dtypes, truncated data, and offsets that leave gaps', () => {
    const f16 = handMade(
      { w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } },
      new Uint8Array(4),
    );
    expect(() => decodeSafetensors(f16, 'f16.safetensors')).toThrow(
      /f16\.safetensors: tensor w has dtype F16; Nascent model files hold F32/,
    );
    const short = handMade(
      { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } },
      new Uint8Array(8),
    );
    expect(() => decodeSafetensors(short, 's')).toThrow(
      /truncated: tensor w ends at byte 16.*only 8 bytes/,
    );
    const gap = handMade(
      { w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      new Uint8Array(8),
    );
    expect(() => decodeSafetensors(gap, 'g')).toThrow(/gap of 4 bytes before tensor w/);
    const shape = handMade(
      { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
      new Uint8Array(8),
    );
    expect(() => decodeSafetensors(shape, 'h')).toThrow(/shape \[3\] needs 12 bytes/);
  });
});

describe('model file', () => {
  let example: TrainedExample;
  const path = join(dir, 'relu.safetensors');
  beforeAll(async () => {
    example = await trainedExample(relu, 4);
    writeModelFile(path, {
      network: example.network,
      genome: GENOME,
      space: 'genome',
      dataset: 'fashion-mnist',
      classes: ['a', 'b', 'c', 'd'],
      normalisation: trainingNormalisation('fashion-mnist', true),
      protocol: 'standard',
      testAccuracy: 0.8125,
      createdAt: '2025-01-02T03:04:05.000Z',
    });
  });

  it('holds the weights and the metadata, and reads back exactly', () => {
    const model = readModelFile(path);
    expect(model.architecture).toEqual(relu);
    expect(model).toMatchObject({
      genome: GENOME,
      space: 'genome',
      dataset: 'fashion-mnist',
      classes: ['a', 'b', 'c', 'd'],
      normalisation: { divideBy: 255, mean: [0.286], std: [0.353] },
      protocol: 'standard',
      testAccuracy: 0.8125,
      createdAt: '2025-01-02T03:04:05.000Z',
    });
    const weights = example.network.getWeights();
    expect(Object.keys(model.weights).sort()).toEqual(Object.keys(weights).sort());
    for (const [name, tensor] of Object.entries(weights)) {
      expect(model.weights[name]?.data).toEqual(tensor.data);
    }
    // any safetensors reader sees the metadata as plain strings
    const raw = decodeSafetensors(readFileSync(path), path);
    expect(raw.metadata.format).toBe(MODEL_FORMAT);
    expect(JSON.parse(raw.metadata.architecture ?? '')).toEqual(relu);
  });

  it('loads a network that predicts exactly as the trained one', async () => {
    const network = loadNetwork(path);
    const data = TensorData.fromImages(syntheticImages(4, { size: 12, seed: 11 }));
    const { logits } = await network.predict(data, { threads: 1 });
    data.release();
    expect(logits).toEqual(example.logits);
  });

  it('refuses files that are not model files, naming the file and the problem', () => {
    const text = join(dir, 'notes.safetensors');
    writeFileSync(text, 'these are not weights at all, just some text');
    expect(() => readModelFile(text)).toThrow(ModelFileError);
    expect(() => readModelFile(text)).toThrow(/notes\.safetensors.*not a safetensors file/);

    const bytes = readFileSync(path);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    expect(() => readModelFile(cut)).toThrow(/cut\.safetensors: truncated: tensor .* ends at byte/);

    const foreign = join(dir, 'foreign.safetensors');
    writeFileSync(foreign, encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }));
    expect(() => readModelFile(foreign)).toThrow(
      /foreign\.safetensors is a safetensors file but not a Nascent model: its metadata has no format/,
    );

    expect(() => readModelFile(join(dir, 'missing.safetensors'))).toThrow(
      /cannot read model file .*missing\.safetensors/,
    );
  });

  it('refuses weights that do not fit the architecture, and bad metadata', () => {
    const model = readModelFile(path);
    const metadata = {
      format: MODEL_FORMAT,
      architecture: JSON.stringify(relu),
    };
    const wrongShape = join(dir, 'shape.safetensors');
    const weights = {
      ...model.weights,
      'conv1.weight': { shape: [6, 1, 3, 3], data: new Float32Array(54) },
    };
    writeFileSync(wrongShape, encodeSafetensors(weights, metadata));
    expect(() => readModelFile(wrongShape)).toThrow(
      /shape\.safetensors: the weights do not fit the architecture: tensor conv1\.weight has shape \[6, 1, 3, 3\], the architecture needs \[6, 1, 2, 2\]/,
    );
    const extra = join(dir, 'extra.safetensors');
    writeFileSync(
      extra,
      encodeSafetensors(
        { ...model.weights, 'ghost.weight': { shape: [1], data: Float32Array.of(0) } },
        metadata,
      ),
    );
    expect(() => readModelFile(extra)).toThrow(/ghost\.weight belongs to no layer/);
    const badNormalisation = join(dir, 'norm.safetensors');
    writeFileSync(
      badNormalisation,
      encodeSafetensors(model.weights, {
        ...metadata,
        normalisation: '{"divideBy":255,"mean":[0.5]}',
      }),
    );
    expect(() => readModelFile(badNormalisation)).toThrow(
      /metadata normalisation: give both mean and std/,
    );
    const badClasses = join(dir, 'classes.safetensors');
    writeFileSync(
      badClasses,
      encodeSafetensors(model.weights, { ...metadata, classes: '["a","b"]' }),
    );
    expect(() => readModelFile(badClasses)).toThrow(
      /metadata classes: 2 class names for a network with 4 outputs/,
    );
    expect(() =>
      writeModelFile(join(dir, 'w.safetensors'), {
        weights: model.weights,
        architecture: EXPORT_ARCHITECTURES.activations as Architecture,
      }),
    ).toThrow(/the weights do not fit the architecture/);
  });
});
