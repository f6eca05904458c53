import { describe, expect, it } from 'vitest';
import { markdownTable, replaceSection } from '../../bench/common/markdown.js';
import { median, rangesOverlap, summarize } from '../../bench/common/stats.js';

const markers = { start: '<!-- x:start -->', end: '<!-- x:end -->' };

describe('replaceSection', () => {
  it('appends the section when the markers are missing', () => {
    expect(replaceSection('# Title\n', markers, 'body')).toBe(
      '# Title\n\n<!-- x:start -->\nbody\n<!-- x:end -->\n',
    );
    expect(replaceSection('', markers, 'body')).toBe('<!-- x:start -->\nbody\n<!-- x:end -->\n');
  });

  it('replaces only the text between the markers', () => {
    const text = 'before\n<!-- x:start -->\nold\n<!-- x:end -->\nafter\n';
    expect(replaceSection(text, markers, 'new\n')).toBe(
      'before\n<!-- x:start -->\nnew\n<!-- x:end -->\nafter\n',
    );
  });

  it('refuses a start marker without an end marker', () => {
    expect(() => replaceSection('<!-- x:start -->\nold\n', markers, 'new')).toThrow(/without/);
  });
});

describe('stats', () => {
  it('computes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('summarizes and compares ranges', () => {
    const a = summarize([1, 5, 3]);
    expect(a).toMatchObject({ median: 3, min: 1, max: 5 });
    expect(rangesOverlap(a, summarize([5, 9]))).toBe(true);
    expect(rangesOverlap(a, summarize([6, 9]))).toBe(false);
  });
});

describe('markdownTable', () => {
  it('aligns and escapes', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x|y']], ['left', 'right'])).toBe(
      '| a | b |\n| --- | ---: |\n| 1 | x\\|y |',
    );
  });
});
