import { describe, expect, it } from 'vitest';
import { architectureSvg } from '../../src/report/architecture-diagram.js';
import { averageRanks, median, spearman } from '../../src/util/stats.js';
import { ArchitectureError, IR_FORMAT, type Architecture } from '../../src/space/ir.js';
import { conv } from '../helpers.js';
import { residualArchitecture } from './synthetic-run.js';

function inception(): Architecture {
  return {
    format: IR_FORMAT,
    input: { channels: 3, height: 32, width: 32 },
    nodes: [
      { id: 'input', op: 'input', inputs: [] },
      conv('stem', 'input', 16, 3, { label: 'stem <3x3> & "more"' }),
      conv('b1', 'stem', 8, 1),
      conv('b2', 'stem', 8, 3),
      { id: 'b2r', op: 'activation', inputs: ['b2'], fn: 'relu' },
      conv('b3', 'b2r', 8, 5),
      { id: 'cat', op: 'concat', inputs: ['b1', 'b3', 'stem'] },
      { id: 'pool', op: 'maxpool2d', inputs: ['cat'], kernel: 2, stride: 2, padding: 'valid' },
      { id: 'gap', op: 'global_avg_pool', inputs: ['pool'] },
      { id: 'head', op: 'dense', inputs: ['gap'], units: 10, bias: true },
    ],
    output: 'head',
  };
}

/** Edges drawn: a path per input of every node; skips (over 1+ layers) are dashed. */
function edges(svg: string): { straight: number; skips: number; arrows: number } {
  return {
    straight: (svg.match(/<path d="M[^"]*C[^"]*" fill="none" stroke="#4b5563"/g) ?? []).length,
    skips: (svg.match(/stroke-dasharray/g) ?? []).length,
    arrows: (svg.match(/<polygon /g) ?? []).length,
  };
}

describe('architectureSvg', () => {
  it('draws a box per node with its op and output shape, and an arrow per input', () => {
    const svg = architectureSvg(residualArchitecture(8));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect((svg.match(/<g class="arch-node"/g) ?? []).length).toBe(8);
    expect(svg).toContain('conv2d · 8x28x28 · 80 params'); // 1*9*8 + 8
    expect(svg).toContain('conv2d · 8x28x28 · 584 params'); // 8*9*8 + 8
    expect(svg).toContain('add · 8x28x28');
    expect(svg).toContain('global_avg_pool · 8');
    expect(svg).toContain('dense · 10 · 90 params'); // 8*10 + 10
    // 8 nodes, 8 inputs in all; the stem -> add skip jumps three layers
    expect(edges(svg)).toEqual({ straight: 7, skips: 1, arrows: 8 });
  });

  it('puts branches side by side and routes every skip outside the boxes', () => {
    const arch = inception();
    const svg = architectureSvg(arch);
    // b1 and b2 share the layer under the stem
    const y = (id: string): number =>
      Number(
        new RegExp(`data-node="${id}"><title>[^<]*</title><rect x="[^"]+" y="([^"]+)"`).exec(
          svg,
        )?.[1],
      );
    expect(y('b1')).toBe(y('b2'));
    expect(y('b1')).toBeGreaterThan(y('stem'));
    expect(y('cat')).toBeGreaterThan(y('b3'));
    // b1 -> cat and stem -> cat skip layers; every input has its arrow
    const inputs = arch.nodes.reduce((n, node) => n + node.inputs.length, 0);
    expect(edges(svg)).toEqual({ straight: inputs - 2, skips: 2, arrows: inputs });
    // every skip runs only at heights between layers: never through a box's rows
    const boxes = [
      ...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="(\d+)" height="(\d+)"/g),
    ].map((m) => ({
      top: Number(m[2]),
      bottom: Number(m[2]) + Number(m[4]),
    }));
    const levels = [...svg.matchAll(/d="(M[^"]*V[^"]*)" fill="none" stroke="#7c3aed"/g)].flatMap(
      (m) => [...(m[1] as string).matchAll(/V([\d.]+) H/g)].map((v) => Number(v[1])),
    );
    expect(levels).toHaveLength(4); // two skips, each crossing two gaps
    for (const level of levels) {
      expect(boxes.some((b) => level > b.top && level < b.bottom)).toBe(false);
    }
  });

  it('escapes labels', () => {
    const svg = architectureSvg(inception());
    expect(svg).toContain('stem &lt;3x3&gt; &amp; &quot;more&quot;');
    expect(svg).not.toContain('<3x3>');
  });

  it('refuses an architecture whose shapes do not check, naming the node', () => {
    const arch = residualArchitecture(8);
    const broken = {
      ...arch,
      nodes: arch.nodes.map((n) => (n.id === 'b' ? conv('b', 'a_act', 4, 3) : n)),
    };
    expect(() => architectureSvg(broken)).toThrow(ArchitectureError);
    expect(() => architectureSvg(broken)).toThrow(/node sum/);
  });
});

describe('report statistics', () => {
  it('median of odd and even counts, none for no values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it('average ranks share ties', () => {
    expect(averageRanks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it("Spearman's rho: monotone is +-1, ties follow the textbook formula, constants have none", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 35, 100])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // no ties: 1 - 6 sum d^2 / (n (n^2 - 1)), d = rank differences [0, -1, 1, 0, 0]
    expect(spearman([1, 2, 3, 4, 5], [1, 3, 2, 4, 5])).toBeCloseTo(1 - (6 * 2) / (5 * 24), 12);
    // ties: ranks x [1, 2.5, 2.5, 4], y [1, 3, 2, 4]; Pearson of those by hand = 4.5 / sqrt(4.5 * 5)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeUndefined();
    expect(spearman([1, 2], [2, 1])).toBeUndefined();
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow(/paired/);
  });
});
