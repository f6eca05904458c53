import { describe, expect, it } from 'vitest';
import { Network, TensorData } from '../../src/engine/engine.js';
import {
  CELL_EDGES,
  CELL_OPS,
  CELL_SPACE_NAME,
  type CellGenome,
  type CellOp,
  CellSpace,
  allCellStrings,
  analyzeCell,
  cellAt,
  cellIndex,
  cellSpaceOptionsSchema,
  formatCell,
  parseCell,
} from '../../src/space/cells/index.js';
import { analyzeArchitecture } from '../../src/space/ir.js';
import { Random } from '../../src/util/random.js';
import { syntheticImages } from '../helpers.js';

const EXAMPLE = '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|';
/** Parameter counts do not depend on the spatial size: a small input builds faster. */
const target = { input: { channels: 3, height: 8, width: 8 }, classes: 10 };
const small = new CellSpace({ channels: 8, cellsPerStage: 1 });

/** Independent of analyzeCell: the four paths from node 0 to node 3, as edge (from, to) pairs. */
const PATHS: readonly (readonly [number, number][])[] = [
  [[0, 3]],
  [
    [0, 1],
    [1, 3],
  ],
  [
    [0, 2],
    [2, 3],
  ],
  [
    [0, 1],
    [1, 2],
    [2, 3],
  ],
];
function hasPath(opOf: (from: number, to: number) => string): boolean {
  return PATHS.some((path) => path.every(([from, to]) => opOf(from, to) !== 'none'));
}

/** Builds in libtorch (once per distinct cell) and compares with the IR's parameter count. */
const checked = new Map<string, number>();
function expectBuilds(space: CellSpace, genome: CellGenome): void {
  const text = space.format(genome);
  if (checked.has(text)) return;
  const arch = space.compile(genome, target);
  const params = analyzeArchitecture(arch).params;
  expect(Network.build(arch).parameterCount(), text).toBe(params);
  checked.set(text, params);
}

function weightIds(genome: CellGenome): Set<string> {
  return new Set(
    small
      .compile(genome, target)
      .nodes.filter((node) => node.op === 'conv2d')
      .map((node) => node.id),
  );
}

describe('NAS-Bench-201 arch strings', () => {
  it('round-trips the canonical form and refuses broken strings by column', () => {
    const ops = parseCell(EXAMPLE);
    expect(ops).toEqual([
      'nor_conv_3x3',
      'none',
      'nor_conv_1x1',
      'skip_connect',
      'none',
      'avg_pool_3x3',
    ]);
    expect(formatCell(ops)).toBe(EXAMPLE);
    expect(formatCell(parseCell(`  ${EXAMPLE}\n`))).toBe(EXAMPLE);
    const cases: [string, RegExp][] = [
      [EXAMPLE.replace('nor_conv_1x1', 'conv_1x1'), /column 26: unknown op "conv_1x1"/],
      [
        EXAMPLE.replace('nor_conv_1x1~1', 'nor_conv_1x1~2'),
        /column 39: edge 2 of node 2 must come from node 1.*got ~2/,
      ],
      [EXAMPLE.replace('|none~0|nor', '|nor'), /column 18: node 2 takes 2 edges.*got 1/],
      [
        EXAMPLE.replace('|avg_pool_3x3~2|', '|avg_pool_3x3~2|none~3|'),
        /column 42: node 3 takes 3 edges.*got 4/,
      ],
      ['|nor_conv_3x3~0|+|none~0|none~1|', /column 33: expected 3 node groups.*got 2/],
      [`${EXAMPLE}+|none~0|`, /column 80: expected 3 node groups.*got 4/],
      [EXAMPLE.replace('|+|none', '+|none'), /column 16: node 1's group must end with "\|"/],
      [EXAMPLE.replace('~1|+', '~x|+'), /column 39: node index "x" is not a number/],
      [
        EXAMPLE.replace('skip_connect~0', 'skip_connect'),
        /column 43: edge "skip_connect" must be written op~node/,
      ],
      ['', /expected 3 node groups/],
    ];
    for (const [text, message] of cases) expect(() => parseCell(text), text).toThrow(message);
  });

  it('enumerates all 5^6 cells in NAS-Bench-201 gen_all order, each parsing back to itself', () => {
    const strings = allCellStrings();
    expect(strings).toHaveLength(5 ** 6);
    expect(new Set(strings).size).toBe(strings.length);
    // The same order from nested loops: node 1's edge outermost, node 3's edge from 2 innermost.
    let position = 0;
    for (const a of CELL_OPS)
      for (const b of CELL_OPS)
        for (const c of CELL_OPS)
          for (const d of CELL_OPS)
            for (const e of CELL_OPS)
              for (const f of CELL_OPS) {
                const expected = `|${a}~0|+|${b}~0|${c}~1|+|${d}~0|${e}~1|${f}~2|`;
                if (strings[position] !== expected) expect(strings[position]).toBe(expected);
                position += 1;
              }
    strings.forEach((text, index) => {
      const ops = parseCell(text);
      if (
        formatCell(ops) !== text ||
        cellIndex(ops) !== index ||
        formatCell(cellAt(index)) !== text
      )
        expect([formatCell(ops), cellIndex(ops), formatCell(cellAt(index))]).toEqual([
          text,
          index,
          text,
        ]);
    });
  });

  it('refuses to compile exactly the cells without a path from node 0 to node 3', () => {
    // Brute force over op assignments, independent of the enumeration and of analyzeCell.
    let bruteForceDegenerate = 0;
    const degenerateByBruteForce = new Set<string>();
    const edgeIndex = (from: number, to: number): number =>
      CELL_EDGES.findIndex((edge) => edge.from === from && edge.to === to);
    for (let code = 0; code < 5 ** 6; code += 1) {
      const ops = Array.from(
        { length: 6 },
        (_, e) => CELL_OPS[Math.floor(code / 5 ** e) % 5] as CellOp,
      );
      if (!hasPath((from, to) => ops[edgeIndex(from, to)] as CellOp)) {
        bruteForceDegenerate += 1;
        degenerateByBruteForce.add(
          `|${ops[0]}~0|+|${ops[1]}~0|${ops[2]}~1|+|${ops[3]}~0|${ops[4]}~1|${ops[5]}~2|`,
        );
      }
    }
    const refused: string[] = [];
    for (const text of allCellStrings()) {
      try {
        small.compile(small.parse(text), target);
      } catch (error) {
        expect(String(error)).toMatch(/no path of non-none edges from node 0 to node 3/);
        refused.push(text);
      }
    }
    expect(refused.length).toBe(bruteForceDegenerate);
    expect(new Set(refused)).toEqual(degenerateByBruteForce);
    expect(bruteForceDegenerate).toBeGreaterThan(0);
  });

  it('compiles only the edges that reach the output from a non-zero node', () => {
    // Node 1 is zero (its only input is none): its edges are dead. Node 2 reaches node 3.
    const zeroNode =
      '|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|';
    expect(analyzeCell(parseCell(zeroNode)).liveEdges).toEqual([1, 3, 5]);
    expect([...weightIds(small.parse(zeroNode))].filter((id) => id.startsWith('s1c1'))).toEqual([
      's1c1_e02_conv3',
      's1c1_e03_conv1',
    ]);
    // Node 2 computes a conv but reaches node 3 only through none: dead end.
    const deadEnd =
      '|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|';
    expect(analyzeCell(parseCell(deadEnd)).liveEdges).toEqual([0, 3, 4]);
    const identity = small.compile(
      small.parse('|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'),
      target,
    );
    expect(identity.nodes.some((node) => node.id.startsWith('s1c1'))).toBe(false);
  });
});

describe('cell space', () => {
  it('has its name and NAS-Bench-201 defaults, and validates its options', () => {
    const space = new CellSpace();
    expect(space.name).toBe(CELL_SPACE_NAME);
    expect(space.options).toEqual({
      channels: 16,
      cellsPerStage: 5,
      ops: [...CELL_OPS],
      allowDisconnected: false,
    });
    expect(cellSpaceOptionsSchema.safeParse(space.options).success).toBe(true);
    expect(() => new CellSpace({ channels: 0 })).toThrow(/channels: /);
    expect(() => new CellSpace({ ops: ['none'] })).toThrow(/ops: ops needs at least 2 ops/);
    expect(() => new CellSpace({ ops: ['none', 'none'] })).toThrow(/must not repeat/);
    expect(() => new CellSpace({ ops: ['nor_conv_5x5' as CellOp, 'none'] })).toThrow(/ops\.0/);
    expect(() => new CellSpace({ cellPerStage: 3 } as never)).toThrow(/cellPerStage/);
  });

  it('compiles 1,000 random cells that libtorch builds with the IR parameter count', () => {
    const random = new Random(21);
    for (let i = 0; i < 1000; i += 1) {
      const genome = small.sample(random, target);
      expect(analyzeCell(genome.ops).hasOutput).toBe(true);
      expect(small.format(small.parse(small.format(genome)))).toBe(small.format(genome));
      expect(small.fromJSON(JSON.parse(JSON.stringify(small.toJSON(genome))))).toEqual(genome);
      expectBuilds(small, genome);
    }
    expect(checked.size).toBeGreaterThan(900);
  });

  it('mutates exactly one edge to another allowed op, and keeps unchanged edges layer ids', () => {
    const random = new Random(5);
    let population = Array.from({ length: 30 }, () => small.sample(random, target));
    for (let i = 0; i < 300; i += 1) {
      const parent = random.choice(population);
      const child = small.mutate(parent, random, target);
      const changed = child.ops.flatMap((op, e) => (op !== parent.ops[e] ? [e] : []));
      expect(changed).toHaveLength(1);
      expect(small.options.ops).toContain(child.ops[changed[0] as number]);
      expectBuilds(small, child);
      // A conv on an edge that kept its op, live in both cells, keeps its node id.
      const before = analyzeCell(parent.ops).liveEdges;
      const parentIds = weightIds(parent);
      for (const id of weightIds(child)) {
        const edge = /^s\dc\d_e(\d)(\d)_/.exec(id);
        if (!edge) continue;
        const index = CELL_EDGES.findIndex(
          (x) => x.from === Number(edge[1]) && x.to === Number(edge[2]),
        );
        if (index !== changed[0] && before.includes(index)) expect(parentIds).toContain(id);
      }
      population = population.map((g, k) => (k === i % population.length ? child : g));
    }
  });

  it('crosses over per edge into children that build', () => {
    const random = new Random(9);
    const a = small.parse(EXAMPLE);
    const b = small.parse(
      '|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|',
    );
    const mixes = new Set<string>();
    for (let i = 0; i < 200; i += 1) {
      const [c1, c2] = small.crossover(a, b, random, target);
      for (const child of [c1, c2]) {
        child.ops.forEach((op, e) => expect([a.ops[e], b.ops[e]]).toContain(op));
        expectBuilds(small, child);
        mixes.add(small.format(child));
      }
      // The second child takes the op the first did not (every mix has edge 0->3: no redraws).
      c1.ops.forEach((op, e) => expect(c2.ops[e]).toBe(op === a.ops[e] ? b.ops[e] : a.ops[e]));
    }
    expect(mixes.size).toBeGreaterThan(30);
    // Random parents, including ones where most mixes have no output.
    const sparse = new CellSpace({ channels: 8, cellsPerStage: 1, ops: ['none', 'nor_conv_3x3'] });
    for (let i = 0; i < 200; i += 1) {
      const [c1, c2] = sparse.crossover(
        sparse.sample(random, target),
        sparse.sample(random, target),
        random,
        target,
      );
      expect(analyzeCell(c1.ops).hasOutput && analyzeCell(c2.ops).hasOutput).toBe(true);
      expectBuilds(sparse, c1);
      expectBuilds(sparse, c2);
    }
  });

  it('samples only allowed ops, and explains what it cannot compile', () => {
    const space = new CellSpace({
      channels: 8,
      cellsPerStage: 1,
      ops: ['none', 'skip_connect', 'avg_pool_3x3'],
    });
    const random = new Random(3);
    for (let i = 0; i < 100; i += 1) {
      for (const op of space.sample(random, target).ops) expect(space.options.ops).toContain(op);
    }
    expect(() =>
      space.compile(
        space.parse('|none~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|none~2|'),
        target,
      ),
    ).toThrow(
      'cell |none~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|none~2| has no path of non-none edges from node 0 to node 3, so its output is always zero; it cannot be compiled',
    );
    const odd = { ...target, input: { channels: 3, height: 30, width: 30 } };
    expect(() => space.compile(space.parse(EXAMPLE), odd)).toThrow(
      /must be multiples of 4; got 30x30/,
    );
    expect(() => space.sample(random, odd)).toThrow(/multiples of 4/);
    expect(() => space.fromJSON({ ops: ['none'] })).toThrow(/not a cells-space genome/);
    // A parsed parent without an output still mutates into a cell with one.
    const dead = space.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
    expect(analyzeCell(space.mutate(dead, random, target).ops).hasOutput).toBe(true);
  });

  it('trains a compiled cell network for a few steps with a finite loss, and hands weights on', async () => {
    const size = { input: { channels: 3, height: 16, width: 16 }, classes: 4 };
    const space = new CellSpace({ channels: 4, cellsPerStage: 1 });
    const parent = space.parse(EXAMPLE);
    const data = TensorData.fromImages(syntheticImages(64, { channels: 3, size: 16, classes: 4 }));
    const net = Network.build(space.compile(parent, size), { seed: 1 });
    const result = await net.train(data, null, {
      epochs: 1,
      batchSize: 16,
      optimizer: 'adamw',
      lr: 0.01,
      weightDecay: 0,
      schedule: 'constant',
      threads: 1,
      seed: 1,
    });
    expect(result.steps).toBe(4);
    const loss = result.epochs[0]?.trainLoss;
    expect(Number.isFinite(loss)).toBe(true);
    // The child shares every layer except the changed edge's: those weights carry over by name.
    const child = space.mutate(parent, new Random(2), size);
    const childNet = Network.build(space.compile(child, size), { seed: 2 });
    const childNames = new Set(Object.keys(childNet.getWeights()));
    const inherited = Object.fromEntries(
      Object.entries(net.getWeights()).filter(([name]) => childNames.has(name)),
    );
    expect(Object.keys(inherited).length).toBeGreaterThan(20);
    expect(childNet.setWeights(inherited)).toBe(Object.keys(inherited).length);
    data.release();
  });
});
