/**
 * The report's charts, drawn with ECharts and rendered on the server to SVG strings (no
 * browser, no canvas): the Pareto front across generations, fitness per generation, the lineage
 * of the best candidates, proxy scores against accuracy, and training curves.
 */
import type { EChartsOption } from 'echarts';
import { GraphChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent } from 'echarts/components';
import { init, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { formatPercent } from '../util/format.js';
import type { EvaluatedCandidate, ReportData } from './data.js';
import { spearman } from '../util/stats.js';

use([
  GraphChart,
  LineChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  TitleComponent,
  SVGRenderer,
]);

export interface ChartSize {
  readonly width: number;
  readonly height: number;
}

/** Renders one ECharts option to a standalone SVG document. */
export function renderChart(option: EChartsOption, size: ChartSize): string {
  const chart = init(null, null, { renderer: 'svg', ssr: true, ...size });
  try {
    chart.setOption({ animation: false, backgroundColor: '#ffffff', ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const TITLE_STYLE = { fontSize: 14, fontWeight: 'bold' } as const;
const FRONT_COLOUR = '#dc2626';

/** Viridis, sampled: early generations dark purple, late ones yellow. */
const VIRIDIS = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725',
];

function hexToRgb(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** The colour of the `index`-th of `count` generations. */
export function generationColour(index: number, count: number): string {
  const t = count <= 1 ? 0 : index / (count - 1);
  const position = t * (VIRIDIS.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, VIRIDIS.length - 1);
  const [r1, g1, b1] = hexToRgb(VIRIDIS[low] as string);
  const [r2, g2, b2] = hexToRgb(VIRIDIS[high] as string);
  const f = position - low;
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * f);
  return `rgb(${mix(r1, r2)},${mix(g1, g2)},${mix(b1, b2)})`;
}

function finiteMetric(item: EvaluatedCandidate, metric: string): number | undefined {
  const value = item.metrics[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** [params, accuracy, short id] of the candidates that have both. */
function accuracyParamsPoints(items: readonly EvaluatedCandidate[]): [number, number, string][] {
  return items.flatMap((item) => {
    const params = finiteMetric(item, 'params') ?? item.candidate.params ?? undefined;
    const accuracy = finiteMetric(item, 'accuracy');
    return params !== undefined && params > 0 && accuracy !== undefined
      ? [[params, accuracy, item.shortId] as [number, number, string]]
      : [];
  });
}

/** Validation accuracy against parameters (log scale), a colour per generation, the front on top. */
export function paretoChart(data: ReportData): EChartsOption {
  const generations = data.generations.map((g) => g.generation);
  const series: NonNullable<EChartsOption['series']> = generations.map((generation, index) => ({
    type: 'scatter',
    name: `gen ${generation}`,
    symbolSize: 8,
    itemStyle: { color: generationColour(index, generations.length), opacity: 0.85 },
    data: accuracyParamsPoints(
      data.evaluated.filter((e) => e.status === 'ok' && e.candidate.generation === generation),
    ),
  }));
  const killed = accuracyParamsPoints(data.evaluated.filter((e) => e.status === 'killed'));
  if (killed.length > 0) {
    series.push({
      type: 'scatter',
      name: 'killed (partial training)',
      symbol: 'emptyCircle',
      symbolSize: 8,
      itemStyle: { color: '#9ca3af' },
      data: killed,
    });
  }
  const front = accuracyParamsPoints(data.front).sort((a, b) => a[0] - b[0]);
  series.push({
    type: 'line',
    name: 'final Pareto front',
    step: 'end',
    symbol: 'diamond',
    symbolSize: 13,
    z: 10,
    lineStyle: { color: FRONT_COLOUR, width: 2 },
    itemStyle: { color: FRONT_COLOUR },
    label: { show: front.length <= 12, position: 'top', formatter: '{@[2]}', fontSize: 10 },
    data: front,
  });
  return {
    title: {
      text: 'Validation accuracy vs parameters, all generations',
      subtext: `front: ${data.frontObjectives.map((o) => `${o.direction} ${o.metric}`).join(', ')}`,
      textStyle: TITLE_STYLE,
    },
    legend: { type: 'scroll', bottom: 0 },
    grid: { left: 70, right: 30, top: 70, bottom: 70 },
    xAxis: { type: 'log', name: 'parameters', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'value', name: 'validation accuracy', scale: true },
    series,
  };
}

/** Best, median and best-so-far of the first objective's metric per generation. */
export function fitnessChart(data: ReportData): EChartsOption {
  const rows = data.generations;
  const metric = data.fitnessMetric.metric;
  const line = (name: string, values: (number | undefined)[], colour: string, dashed = false) => ({
    type: 'line' as const,
    name,
    symbolSize: 7,
    connectNulls: true,
    lineStyle: { color: colour, width: 2, type: dashed ? ('dashed' as const) : ('solid' as const) },
    itemStyle: { color: colour },
    data: values.map((value) => value ?? null),
  });
  return {
    title: {
      text: `${metric} per generation (${data.fitnessMetric.direction})`,
      subtext: 'best by the run ranking, median of the ok candidates',
      textStyle: TITLE_STYLE,
    },
    legend: { bottom: 0 },
    grid: { left: 70, right: 30, top: 70, bottom: 75 },
    xAxis: {
      type: 'category',
      name: 'generation',
      nameLocation: 'middle',
      nameGap: 26,
      data: rows.map((r) => String(r.generation)),
    },
    yAxis: { type: 'value', name: metric, scale: true },
    series: [
      line(
        'best',
        rows.map((r) => r.best),
        '#2563eb',
      ),
      line(
        'median',
        rows.map((r) => r.median),
        '#f59e0b',
      ),
      line(
        'best so far',
        rows.map((r) => r.bestSoFar),
        '#16a34a',
        true,
      ),
    ],
  };
}

export interface LineageNode {
  readonly id: string;
  readonly label: string;
  readonly generation: number;
  readonly top: boolean;
  readonly status: EvaluatedCandidate['status'] | 'pending';
  readonly x: number;
  readonly y: number;
}

export interface Lineage {
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly { readonly source: string; readonly target: string }[];
  /**
   * Ancestors left out to keep the drawing readable (those met when the limit was reached; their
   * own ancestors are not counted).
   */
  readonly omitted: number;
  readonly rows: number;
}

const LINEAGE_ROW = 90;
const LINEAGE_NODE_LIMIT = 120;

/**
 * The best `top` candidates and their ancestors (through every parent), nearest ancestors
 * first up to a limit, laid out with one row per generation, oldest on top.
 */
export function lineage(data: ReportData, top: number): Lineage {
  const byId = new Map(data.evaluated.map((e) => [e.candidate.id, e]));
  const pendingById = new Map(data.pending.map((c) => [c.id, c]));
  const roots = data.ranked.slice(0, top);
  const topIds = new Set(roots.map((r) => r.candidate.id));
  const included = new Set<string>();
  const queue = roots.map((r) => r.candidate.id);
  const omitted = new Set<string>();
  while (queue.length > 0) {
    const id = queue.shift() as string;
    if (included.has(id)) continue;
    if (included.size >= LINEAGE_NODE_LIMIT) {
      omitted.add(id);
      continue;
    }
    included.add(id);
    const parents = byId.get(id)?.candidate.parents ?? pendingById.get(id)?.parents ?? [];
    for (const parent of parents) {
      if (!included.has(parent) && (byId.has(parent) || pendingById.has(parent)))
        queue.push(parent);
    }
  }
  // Only ids found in one of the two maps were queued, so every one has its candidate.
  const info = [...included].flatMap((id) => {
    const item = byId.get(id);
    const candidate = item?.candidate ?? pendingById.get(id);
    return candidate ? [{ id, item, candidate }] : [];
  });
  const generations = [...new Set(info.map((n) => n.candidate.generation))].sort((a, b) => a - b);
  const edges = info.flatMap(({ id, candidate }) =>
    candidate.parents
      .filter((parent) => included.has(parent))
      .map((parent) => ({ source: parent, target: id })),
  );
  const xOf = new Map<string, number>();
  const nodes: LineageNode[] = [];
  generations.forEach((generation, row) => {
    const members = info
      .filter((n) => n.candidate.generation === generation)
      .map((n) => {
        const xs = n.candidate.parents.flatMap((p) => (xOf.has(p) ? [xOf.get(p) as number] : []));
        return {
          ...n,
          key: xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : n.candidate.seq,
        };
      })
      .sort((a, b) => a.key - b.key || a.candidate.seq - b.candidate.seq);
    members.forEach((n, k) => {
      const x = (k + 1) / (members.length + 1);
      xOf.set(n.id, x);
      const shortId = n.item?.shortId ?? n.id;
      const accuracy = n.item ? formatPercent(finiteMetric(n.item, 'accuracy')) : 'pending';
      nodes.push({
        id: n.id,
        label: `${shortId}\n${accuracy}\n${n.candidate.operator}`,
        generation,
        top: topIds.has(n.id),
        status: n.item?.status ?? 'pending',
        x,
        y: row,
      });
    });
  });
  return { nodes, edges, omitted: omitted.size, rows: generations.length };
}

/** The chart's height for a lineage of `rows` generations. */
export function lineageHeight(rows: number): number {
  return Math.max(260, rows * LINEAGE_ROW + 90);
}

/** The lineage as an ECharts graph: best candidates in red, ancestors in blue. */
export function lineageChart(graph: Lineage, top: number, width: number): EChartsOption {
  const labelled = graph.nodes.length <= 60;
  const colour = (node: LineageNode): string =>
    node.top ? FRONT_COLOUR : node.status === 'ok' ? '#2563eb' : '#9ca3af';
  return {
    title: {
      text: `Lineage of the best ${top} candidates`,
      subtext: `${graph.nodes.length} candidates, one row per generation (oldest on top)${graph.omitted > 0 ? `; ${graph.omitted} older ancestors left out` : ''}`,
      textStyle: TITLE_STYLE,
    },
    series: [
      {
        type: 'graph',
        layout: 'none',
        left: 50,
        right: 50,
        top: 80,
        bottom: 40,
        symbolSize: 14,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 7,
        lineStyle: { color: '#6b7280', width: 1.2, opacity: 0.8 },
        label: { show: labelled, position: 'right', fontSize: 10, lineHeight: 12 },
        data: graph.nodes.map((node) => ({
          id: node.id,
          name: node.id,
          x: node.x * width,
          y: node.y * LINEAGE_ROW,
          itemStyle: { color: colour(node) },
          // A function, not a template string: ids and operators are shown as they are.
          label: { formatter: () => node.label, show: labelled || node.top },
        })),
        edges: graph.edges.map((edge) => ({ source: edge.source, target: edge.target })),
      },
    ],
  };
}

/** [proxy, accuracy, short id] of the `ok` candidates that recorded both. */
export function proxyPoints(data: ReportData, metric: string): [number, number, string][] {
  return data.evaluated.flatMap((item) => {
    if (item.status !== 'ok') return [];
    const proxy = finiteMetric(item, metric);
    const accuracy = finiteMetric(item, 'accuracy');
    return proxy !== undefined && accuracy !== undefined
      ? [[proxy, accuracy, item.shortId] as [number, number, string]]
      : [];
  });
}

/** Spearman's rho of a proxy against validation accuracy, undefined when it cannot be computed. */
export function proxyCorrelation(points: readonly [number, number, string][]): number | undefined {
  return spearman(
    points.map((p) => p[0]),
    points.map((p) => p[1]),
  );
}

/** One proxy score against validation accuracy, Spearman's rho in the title. */
export function proxyChart(
  metric: string,
  points: readonly [number, number, string][],
): EChartsOption {
  const rho = proxyCorrelation(points);
  return {
    title: {
      text: `${metric} vs validation accuracy`,
      subtext: `Spearman ρ = ${rho === undefined ? 'n/a' : rho.toFixed(3)} (n = ${points.length})`,
      textStyle: TITLE_STYLE,
    },
    grid: { left: 60, right: 25, top: 70, bottom: 50 },
    xAxis: { type: 'value', name: metric, nameLocation: 'middle', nameGap: 28, scale: true },
    yAxis: { type: 'value', name: 'validation accuracy', scale: true },
    series: [
      {
        type: 'scatter',
        symbolSize: 8,
        itemStyle: { color: '#2563eb' },
        data: points.map((p) => [...p]),
      },
    ],
  };
}

/** Train and validation loss (left axis) and accuracy (right axis) per epoch. */
export function curvesChart(item: EvaluatedCandidate): EChartsOption {
  const epochs = item.epochs;
  const line = (
    name: string,
    pick: (point: (typeof epochs)[number]) => number | undefined,
    colour: string,
    axis: 0 | 1,
    dashed: boolean,
  ) => ({
    type: 'line' as const,
    name,
    yAxisIndex: axis,
    symbolSize: 5,
    lineStyle: { color: colour, width: 2, type: dashed ? ('dashed' as const) : ('solid' as const) },
    itemStyle: { color: colour },
    data: epochs.flatMap((point) => {
      const value = pick(point);
      return value === undefined ? [] : [[point.epoch, value]];
    }),
  });
  const series = [
    line('train loss', (p) => p.trainLoss, '#f59e0b', 0, true),
    line('val loss', (p) => p.valLoss, '#dc2626', 0, true),
    line('train acc', (p) => p.trainAccuracy, '#16a34a', 1, false),
    line('val acc', (p) => p.valAccuracy, '#2563eb', 1, false),
  ].filter((s) => s.data.length > 0);
  return {
    title: {
      text: `Training of ${item.shortId}`,
      subtext: `${item.status}, ${epochs.length} epoch${epochs.length === 1 ? '' : 's'}`,
      textStyle: TITLE_STYLE,
    },
    legend: { bottom: 0 },
    grid: { left: 55, right: 55, top: 70, bottom: 75 },
    xAxis: {
      type: 'value',
      name: 'epoch',
      nameLocation: 'middle',
      nameGap: 24,
      minInterval: 1,
      min: 'dataMin',
      max: 'dataMax',
    },
    yAxis: [
      { type: 'value', name: 'loss', scale: true },
      { type: 'value', name: 'accuracy', min: 0, max: 1 },
    ],
    series,
  };
}
