import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import { CellSpace, analyzeCell } from '../../src/space/cells/index.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { syntheticImages } from '../helpers.js';

interface ReferenceResult {
  params: number;
  live_params: number;
  logits?: number[][];
  unmatched?: string[];
  live_not_loaded?: string[];
}

/** Runs python/nb201_reference.py (NAS-Bench-201's TinyNetwork in PyTorch) on a list of jobs. */
function reference(jobs: object[]): ReferenceResult[] {
  const python = spawnSync('/usr/bin/python3', ['python/nb201_reference.py'], {
    input: JSON.stringify({ jobs }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(python.status, python.stderr).toBe(0);
  return (JSON.parse(python.stdout) as { results: ReferenceResult[] }).results;
}

const ALL_CONV3 =
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const SKIP_ONLY = '|none~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|';
const EXAMPLE = '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|';
const MIXED =
  '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|';
/** Node 1 is always zero: its two convs are dead in Nascent, but NAS-Bench-201 builds them. */
const ZERO_NODE =
  '|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|';
/** Node 2's conv reaches node 3 only through none. */
const DEAD_END = '|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|';
const WITH_DEAD_EDGES = [ZERO_NODE, DEAD_END];

describe('cell space against a PyTorch NAS-Bench-201 reference', () => {
  it('counts the parameters of NAS-Bench-201 networks (C=16, N=5, 32x32x3, 10 classes)', () => {
    const space = new CellSpace();
    const target = { input: { channels: 3, height: 32, width: 32 }, classes: 10 };
    const cells = [ALL_CONV3, SKIP_ONLY, EXAMPLE, MIXED, ...WITH_DEAD_EDGES];
    const results = reference(
      cells.map((arch) => ({ arch, C: 16, N: 5, classes: 10, input_shape: [3, 32, 32] })),
    );
    cells.forEach((arch, i) => {
      const result = results[i] as ReferenceResult;
      const params = analyzeArchitecture(space.compile(space.parse(arch), target)).params;
      // Live parameters: NAS-Bench-201's minus the edges back-propagation finds dead.
      expect(params, arch).toBe(result.live_params);
      if (WITH_DEAD_EDGES.includes(arch)) expect(result.params, arch).toBeGreaterThan(params);
      else expect(result.params, arch).toBe(params);
    });
    // Cells whose edges are all live cover NAS-Bench-201's published sizes (about 1.53 M and 0.07 M).
    for (const arch of [ALL_CONV3, SKIP_ONLY, EXAMPLE, MIXED])
      expect(analyzeCell(space.parse(arch).ops).liveEdges.length).toBe(
        space.parse(arch).ops.filter((op) => op !== 'none').length,
      );
  });

  it('computes the same logits as NAS-Bench-201 modules given the same weights', async () => {
    const space = new CellSpace({ channels: 4, cellsPerStage: 2 });
    const target = { input: { channels: 3, height: 16, width: 16 }, classes: 5 };
    const images = syntheticImages(3, { channels: 3, size: 16, classes: 4, seed: 4 });
    const data = TensorData.fromImages(images);
    const pixels = Array.from(images.images, (v) => v / 255);
    const cells = [ALL_CONV3, EXAMPLE, MIXED, ...WITH_DEAD_EDGES];
    const jobs = [];
    const outputs: Float32Array[] = [];
    for (const arch of cells) {
      const net = Network.build(space.compile(space.parse(arch), target), {
        init: 'kaiming',
        seed: 7,
      });
      outputs.push((await net.predict(data, { threads: 1 })).logits);
      const weights: Record<string, { shape: readonly number[]; data: number[] }> = {};
      for (const [name, tensor] of Object.entries(net.getWeights()))
        weights[name] = { shape: tensor.shape, data: Array.from(tensor.data) };
      jobs.push({
        arch,
        C: 4,
        N: 2,
        classes: 5,
        input_shape: [3, 16, 16],
        weights,
        inputs: pixels,
        count: 3,
      });
    }
    data.release();
    const results = reference(jobs);
    cells.forEach((arch, i) => {
      const result = results[i] as ReferenceResult;
      expect(result.unmatched, arch).toEqual([]);
      expect(result.live_not_loaded, arch).toEqual([]);
      const expected = (result.logits ?? []).flat();
      const logits = outputs[i] as Float32Array;
      expect(expected.length).toBe(logits.length);
      expected.forEach((value, k) => expect(logits[k], arch).toBeCloseTo(value, 4));
    });
  });
});
