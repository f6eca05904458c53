import { describe, expect, it } from 'vitest';
import { conv } from '../helpers.js';
import {
  type Architecture,
  ArchitectureError,
  type IrNode,
  analyzeArchitecture,
  blockOutputs,
  parseArchitecture,
} from '../../src/space/ir.js';

function arch(nodes: IrNode[], input = { channels: 3, height: 8, width: 8 }): Architecture {
  return {
    format: 'nascent-ir/1',
    input,
    nodes: [{ id: 'x', op: 'input', inputs: [] }, ...nodes],
    output: nodes.at(-1)?.id ?? 'x',
  };
}
describe('IR shape inference and counts', () => {
  it('counts a residual block with batch norm, pooling, concat and dense exactly', () => {
    const a = arch([
      conv('c1', 'x', 4, 3),
      { id: 'bn', op: 'batchnorm', inputs: ['c1'] },
      { id: 'r', op: 'activation', inputs: ['bn'], fn: 'relu' },
      conv('c2', 'r', 4, 3, { bias: false }),
      { id: 'sum', op: 'add', inputs: ['c2', 'r'] },
      { id: 'cat', op: 'concat', inputs: ['sum', 'c1'] },
      { id: 'mp', op: 'maxpool2d', inputs: ['cat'], kernel: 2, stride: 2, padding: 'valid' },
      conv('dw', 'mp', 8, 3, { groups: 8, padding: 1 }),
      { id: 'ap', op: 'avgpool2d', inputs: ['dw'], kernel: 3, stride: 1, padding: 'same' },
      { id: 'fl', op: 'flatten', inputs: ['ap'] },
      { id: 'do', op: 'dropout', inputs: ['fl'], rate: 0.5 },
      { id: 'fc', op: 'dense', inputs: ['do'], units: 5, bias: true },
    ]);
    const s = analyzeArchitecture(a);
    const byId = Object.fromEntries(s.layers.map((l) => [l.id, l]));
    expect(byId.c1?.params).toBe(3 * 9 * 4 + 4);
    expect(byId.bn?.params).toBe(8);
    expect(byId.c2?.params).toBe(4 * 9 * 4);
    expect(byId.cat?.outputShape).toEqual({ kind: 'map', channels: 8, height: 8, width: 8 });
    expect(byId.mp?.outputShape).toEqual({ kind: 'map', channels: 8, height: 4, width: 4 });
    expect(byId.dw?.params).toBe(1 * 9 * 8 + 8);
    expect(byId.fl?.outputShape).toEqual({ kind: 'flat', features: 128 });
    expect(byId.fc?.params).toBe(128 * 5 + 5);
    expect(s.params).toBe(112 + 8 + 144 + 80 + 645);
    // FLOPs: 2 per multiply-add, +1 per output for a bias
    expect(byId.c1?.flops).toBe(2 * 27 * 4 * 64 + 4 * 64);
    expect(byId.c2?.flops).toBe(2 * 36 * 4 * 64);
    expect(byId.fc?.flops).toBe(2 * 128 * 5 + 5);
    expect(byId.sum?.flops).toBe(256);
    expect(s.macs).toBe(27 * 256 + 36 * 256 + 9 * 8 * 16 + 128 * 5);
  });

  it('applies the valid, numeric and strided-same padding rules', () => {
    const s = analyzeArchitecture(
      arch(
        [
          conv('a', 'x', 2, 3, { padding: 'valid' }),
          conv('b', 'a', 2, 3, { stride: 2, padding: 'same' }),
          conv('c', 'b', 2, 2, { dilation: 2, padding: 'valid' }),
          { id: 'g', op: 'global_avg_pool', inputs: ['c'] },
        ],
        { channels: 1, height: 11, width: 11 },
      ),
    );
    const out = s.layers.map((l) =>
      l.outputShape.kind === 'map' ? l.outputShape.height : l.outputShape.features,
    );
    expect(out).toEqual([11, 9, 5, 3, 2]);
  });

  it.each([
    [[conv('a', 'nope', 2, 3)], /node a .*input "nope" is not defined/],
    [[conv('a', 'x', 2, 9, { padding: 'valid' })], /node a .*kernel 9 does not fit its 8x8 input/],
    [
      [{ id: 'd', op: 'dense', inputs: ['x'], units: 3, bias: true }],
      /node d .*needs a flat vector, got a 3x8x8 feature map/,
    ],
    [[conv('a', 'x', 2, 3), conv('a', 'x', 2, 3)], /node a .*duplicate node id/],
    [
      [conv('a', 'x', 2, 3), conv('b', 'x', 4, 3), { id: 's', op: 'add', inputs: ['a', 'b'] }],
      /node s .*inputs differ in shape: 2x8x8 vs 4x8x8/,
    ],
    [[conv('a', 'x', 4, 3, { groups: 2 })], /groups 2 must divide input channels 3/],
    [
      [{ id: 'p', op: 'maxpool2d', inputs: ['x'], kernel: 2, stride: 1, padding: 'same' }],
      /odd kernel/,
    ],
    [[conv('a', 'x', 2, 3)], /must be a flat vector of class scores/],
  ] as [IrNode[], RegExp][])('rejects a broken graph: %#', (nodes, message) => {
    expect(() => analyzeArchitecture(arch(nodes))).toThrow(ArchitectureError);
    expect(() => analyzeArchitecture(arch(nodes))).toThrow(message);
  });

  it('validates untrusted JSON with messages naming the field', () => {
    const good = arch([{ id: 'g', op: 'global_avg_pool', inputs: ['x'] }]);
    expect(parseArchitecture(JSON.parse(JSON.stringify(good)))).toEqual(good);
    const bad = JSON.parse(JSON.stringify(good));
    bad.nodes[1].op = 'conv3d';
    expect(() => parseArchitecture(bad)).toThrow(/nodes\.1\.op/);
    expect(() => parseArchitecture({ ...good, format: 'other' })).toThrow(/format/);
    const badId = JSON.parse(JSON.stringify(good));
    badId.nodes[1].id = '1bad';
    expect(() => parseArchitecture(badId)).toThrow(/node ids start with a letter/);
  });

  it('finds the blocks of an undeclared network where every path narrows to one map, and checks declared ones', () => {
    const residual = arch([
      conv('c1', 'x', 4, 3),
      { id: 'bn', op: 'batchnorm', inputs: ['c1'] },
      { id: 'r', op: 'activation', inputs: ['bn'], fn: 'relu' },
      conv('c2', 'r', 4, 3),
      { id: 'sum', op: 'add', inputs: ['c2', 'r'] },
      { id: 'mp', op: 'maxpool2d', inputs: ['sum'], kernel: 2, stride: 2, padding: 'valid' },
      { id: 'flat', op: 'flatten', inputs: ['mp'] },
      { id: 'fc', op: 'dense', inputs: ['flat'], units: 3, bias: true },
    ]);
    // c2 is bypassed by the skip; flat vectors end no block.
    expect(blockOutputs(residual)).toEqual(['c1', 'bn', 'r', 'sum', 'mp']);
    expect(blockOutputs({ ...residual, blocks: ['r', 'r', 'mp'] })).toEqual(['r', 'r', 'mp']);
    expect(() => analyzeArchitecture({ ...residual, blocks: ['r', 'nowhere'] })).toThrow(
      /blocks\[1\]: "nowhere" is not a node/,
    );
    expect(() => analyzeArchitecture({ ...residual, blocks: ['flat'] })).toThrow(
      /blocks\[0\]: "flat" is a flat vector/,
    );
    expect(() => analyzeArchitecture({ ...residual, blocks: ['sum', 'r'] })).toThrow(
      /list blocks in network order/,
    );
  });
});
