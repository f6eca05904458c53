import { describe, expect, it } from 'vitest';
import {
  type Point,
  binPoints,
  candidatePage,
  paretoFront2d,
  reasonPattern,
} from '../../src/dashboard/aggregate.js';
import { layoutArchitecture } from '../../src/dashboard/layout.js';
import type { IndexedCandidate } from '../../src/dashboard/run-index.js';
import { type Architecture, analyzeArchitecture } from '../../src/space/ir.js';
import { Random } from '../../src/util/random.js';
import { conv } from '../helpers.js';

function randomPoints(count: number, seed: number): Point[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: `p${i}`,
    // coarse values, so that ties in x and in y occur
    x: 10 ** random.int(2, 7) * random.int(1, 9),
    y: random.int(0, 200) / 200,
    generation: random.int(0, 9),
    count: 1,
  }));
}

describe('Pareto front of two objectives', () => {
  for (const direction of ['maximize', 'minimize'] as const) {
    it(`matches a brute-force dominance check (${direction} y)`, () => {
      const points = randomPoints(800, direction === 'maximize' ? 1 : 2);
      const better = (a: number, b: number) => (direction === 'maximize' ? a > b : a < b);
      const dominated = (a: Point) =>
        points.some((b) => b.x <= a.x && !better(a.y, b.y) && (b.x < a.x || better(b.y, a.y)));
      const expected = new Set(points.filter((p) => !dominated(p)).map((p) => `${p.x}/${p.y}`));
      const front = paretoFront2d(points, direction);
      expect(new Set(front.map((p) => `${p.x}/${p.y}`))).toEqual(expected);
      expect(front).toHaveLength(expected.size);
      expect(front.map((p) => p.x)).toEqual([...front.map((p) => p.x)].sort((a, b) => a - b));
    });
  }
});

describe('binned cloud', () => {
  it('keeps every point counted in at most 4,000 cells, and the best point', () => {
    const points = randomPoints(20_000, 3);
    const cloud = binPoints(points, 'maximize');
    expect(cloud.length).toBeLessThanOrEqual(4000);
    expect(cloud.reduce((sum, p) => sum + p.count, 0)).toBe(points.length);
    const best = Math.max(...points.map((p) => p.y));
    expect(Math.max(...cloud.map((p) => p.y))).toBe(best);
  });
});

describe('problem reasons', () => {
  it('groups messages that differ only in their numbers', () => {
    expect(reasonPattern('validation accuracy 0.1234 after epoch 1 is below 0.5')).toBe(
      'validation accuracy # after epoch # is below #',
    );
    expect(reasonPattern('loss -1.5e+30 at step 12')).toBe('loss # at step #');
  });
});

describe('candidate pages', () => {
  const entry = (seq: number, accuracy: number | undefined): IndexedCandidate => ({
    id: `c${seq}`,
    runId: 'r',
    seq,
    generation: 0,
    genome: '',
    operator: 'sample',
    params: seq * 10,
    flops: null,
    status: accuracy === undefined ? 'pending' : 'ok',
    error: null,
    reused: false,
    metrics: accuracy === undefined ? {} : { accuracy },
    evaluationId: accuracy === undefined ? 0 : seq,
  });
  const entries = [entry(1, 0.5), entry(2, undefined), entry(3, 0.9), entry(4, 0.5), entry(5, 0.7)];

  it('sorts with missing values last in either direction, ties by seq', () => {
    const ids = (descending: boolean) =>
      candidatePage(entries, { offset: 0, limit: 10, sort: 'accuracy', descending }).rows.map(
        (r) => r.id,
      );
    expect(ids(true)).toEqual(['c3', 'c5', 'c4', 'c1', 'c2']);
    expect(ids(false)).toEqual(['c1', 'c4', 'c5', 'c3', 'c2']);
  });

  it('pages in seq order in either direction', () => {
    const ids = (offset: number, descending: boolean) =>
      candidatePage(entries, { offset, limit: 2, sort: 'seq', descending }).rows.map((r) => r.id);
    expect(ids(0, true)).toEqual(['c5', 'c4']);
    expect(ids(4, true)).toEqual(['c1']);
    expect(ids(5, true)).toEqual([]);
    expect(ids(1, false)).toEqual(['c2', 'c3']);
    expect(ids(4, false)).toEqual(['c5']);
  });

  it('filters before paging and reports the filtered total', () => {
    const page = candidatePage(entries, {
      offset: 1,
      limit: 2,
      sort: 'seq',
      descending: false,
      status: 'ok',
    });
    expect(page.total).toBe(4);
    expect(page.rows.map((r) => r.id)).toEqual(['c3', 'c4']);
  });
});

describe('architecture diagram', () => {
  const arch: Architecture = {
    format: 'nascent-ir/1',
    input: { channels: 1, height: 8, width: 8 },
    nodes: [
      { id: 'input', op: 'input', inputs: [] },
      conv('a', 'input', 4, 3),
      conv('b', 'a', 4, 3),
      conv('c', 'b', 4, 3),
      conv('side', 'a', 4, 1),
      { id: 'sum', op: 'add', inputs: ['c', 'a'] },
      { id: 'gap', op: 'global_avg_pool', inputs: ['sum'] },
    ],
    output: 'gap',
  } as Architecture;

  it('puts each node below its inputs, without overlaps, and routes skips round the side', () => {
    const diagram = layoutArchitecture(arch, analyzeArchitecture(arch));
    const node = new Map(diagram.nodes.map((n) => [n.id, n]));
    for (const ir of arch.nodes) {
      for (const input of ir.inputs) {
        expect((node.get(ir.id)?.y ?? 0) > (node.get(input)?.y ?? 0), `${input} -> ${ir.id}`).toBe(
          true,
        );
      }
    }
    for (const a of diagram.nodes) {
      for (const b of diagram.nodes) {
        if (a === b) continue;
        const apart =
          a.x + a.width <= b.x ||
          b.x + b.width <= a.x ||
          a.y + a.height <= b.y ||
          b.y + b.height <= a.y;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
    expect(diagram.edges).toHaveLength(7);
    // a -> sum skips two layers: its path leaves the boxes' column on the right
    const skip = diagram.edges.find((e) => e.from === 'a' && e.to === 'sum');
    const xs = (skip?.path.match(/-?\d+(\.\d+)?/g) ?? []).map(Number).filter((_, i) => i % 2 === 0);
    const right = Math.max(...diagram.nodes.map((n) => n.x + n.width));
    expect(Math.max(...xs)).toBeGreaterThan(right);
    expect(diagram.width).toBeGreaterThan(Math.max(...xs));
    expect(node.get('side')?.title).toBe('conv 4 k1 s1 same');
    expect(node.get('gap')?.detail).toBe('4');
  });
});
