import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { architectureToOnnx } from '../../src/export/onnx.js';
import type { Architecture } from '../../src/space/ir.js';
import { EXPORT_ARCHITECTURES, maxAbsDifference, trainedExample } from './fixtures.js';

async function runOnnx(
  model: Uint8Array,
  architecture: Architecture,
  inputs: Float32Array,
  count: number,
): Promise<Tensor> {
  const session = await InferenceSession.create(model, { intraOpNumThreads: 1 });
  const { channels, height, width } = architecture.input;
  expect(session.inputNames).toEqual(['input']);
  expect(session.outputNames).toEqual(['logits']);
  const result = await session.run({
    input: new Tensor('float32', inputs, [count, channels, height, width]),
  });
  await session.release();
  return result.logits as Tensor;
}

describe('ONNX export', () => {
  it.each(Object.keys(EXPORT_ARCHITECTURES))(
    '%s: onnxruntime gives the engine logits within 1e-4',
    async (name) => {
      const architecture = EXPORT_ARCHITECTURES[name] as Architecture;
      const example = await trainedExample(architecture);
      const model = architectureToOnnx(architecture, example.network.getWeights());
      const logits = await runOnnx(model, architecture, example.inputs, example.count);
      expect(logits.dims).toEqual([example.count, example.classes]);
      const difference = maxAbsDifference(logits.data as Float32Array, example.logits);
      expect(difference).toBeLessThanOrEqual(1e-4);
      // the logits differ between images: a constant output would hide a broken graph
      expect(
        maxAbsDifference(
          example.logits.slice(0, example.classes),
          example.logits.slice(example.classes, 2 * example.classes),
        ),
      ).toBeGreaterThan(1e-3);
    },
  );

  it('uses the Gelu operator from opset 20 with the same result', async () => {
    const architecture = EXPORT_ARCHITECTURES.activations as Architecture;
    const example = await trainedExample(architecture, 3);
    const weights = example.network.getWeights();
    const opset13 = architectureToOnnx(architecture, weights, { opset: 13 });
    const opset20 = architectureToOnnx(architecture, weights, { opset: 20 });
    expect(Buffer.from(opset20).includes('Gelu')).toBe(true);
    expect(Buffer.from(opset13).includes('Gelu')).toBe(false);
    const logits = await runOnnx(opset20, architecture, example.inputs, example.count);
    expect(maxAbsDifference(logits.data as Float32Array, example.logits)).toBeLessThanOrEqual(1e-4);
  });

  it('refuses weights that do not fit the architecture, and unknown opsets', async () => {
    const architecture = EXPORT_ARCHITECTURES.relu as Architecture;
    const example = await trainedExample(architecture, 2);
    const weights = { ...example.network.getWeights() };
    expect(() => architectureToOnnx(architecture, weights, { opset: 12 })).toThrow(/opset 12/);
    delete weights['conv2.bias'];
    expect(() => architectureToOnnx(architecture, weights)).toThrow(/conv2\.bias \[8\] is missing/);
  });
});
