/**
 * Curves with standard-error bands as SVG (ECharts' server-side renderer, no browser), and a small
 * self-contained HTML page that shows them: the report format of the benchmarks.
 */
import * as echarts from 'echarts';

/** One curve: y = mean against x, with an optional band of mean +/- se. */
export interface CurveSeries {
  readonly name: string;
  readonly x: readonly number[];
  readonly mean: readonly number[];
  readonly se?: readonly number[];
}

export interface LineChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly CurveSeries[];
  /** A dashed horizontal line, e.g. the optimum. */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Multiplies every y value (e.g. 100 for accuracies shown in percent). */
  readonly yScale?: number;
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-safe palette (Okabe-Ito), one colour per series in order. */
const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
];

function colour(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

/** The chart as an SVG document (a string starting with `<svg`). */
export function lineChartSvg(spec: LineChartSpec): string {
  const scale = spec.yScale ?? 1;
  const width = spec.width ?? 760;
  const height = spec.height ?? 440;
  const series: Record<string, unknown>[] = [];
  spec.series.forEach((curve, index) => {
    const color = colour(index);
    const points = (values: readonly number[]) =>
      curve.x.map((x, i) => [x, (values[i] as number) * scale]);
    const se = curve.se;
    if (se !== undefined && se.every(Number.isFinite)) {
      // The band: an invisible lower edge, and the band's height stacked on it with an area.
      const stack = `band-${index}`;
      series.push({
        type: 'line',
        name: `${curve.name} (band base)`,
        data: points(curve.mean.map((m, i) => m - (se[i] as number))),
        stack,
        symbol: 'none',
        lineStyle: { opacity: 0 },
        silent: true,
      });
      series.push({
        type: 'line',
        name: `${curve.name} (band)`,
        data: curve.x.map((x, i) => [x, 2 * (se[i] as number) * scale]),
        stack,
        symbol: 'none',
        lineStyle: { opacity: 0 },
        areaStyle: { color, opacity: 0.18 },
        silent: true,
      });
    }
    series.push({
      type: 'line',
      name: curve.name,
      data: points(curve.mean),
      symbol: 'none',
      lineStyle: { color, width: 2 },
      itemStyle: { color },
      ...(index === 0 && spec.reference
        ? {
            markLine: {
              silent: true,
              symbol: 'none',
              lineStyle: { color: '#555555', type: 'dashed' },
              label: { formatter: spec.reference.label, position: 'insideEndTop' },
              data: [{ yAxis: spec.reference.value * scale }],
            },
          }
        : {}),
    });
  });
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      title: { text: spec.title, left: 'center', textStyle: { fontSize: 15 } },
      legend: { bottom: 0, data: spec.series.map((curve) => curve.name) },
      grid: { left: 70, right: 30, top: 50, bottom: 75 },
      xAxis: {
        type: 'value',
        name: spec.xLabel,
        nameLocation: 'middle',
        nameGap: 28,
        min: 'dataMin',
        max: 'dataMax',
      },
      yAxis: {
        type: 'value',
        name: spec.yLabel,
        nameLocation: 'middle',
        nameGap: 50,
        scale: true,
      },
      series,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

export interface ReportSection {
  readonly heading: string;
  /** Plain-text paragraphs (escaped). */
  readonly paragraphs?: readonly string[];
  /** A table: header row, then rows (escaped). */
  readonly table?: { readonly header: readonly string[]; readonly rows: readonly string[][] };
  /** SVG documents, embedded as they are. */
  readonly figures?: readonly string[];
}

/** A self-contained HTML page (no scripts, no external files) of headed sections. */
export function reportPage(title: string, sections: readonly ReportSection[]): string {
  const body = sections
    .map((section) => {
      const parts = [`<h2>${escapeHtml(section.heading)}</h2>`];
      for (const paragraph of section.paragraphs ?? [])
        parts.push(`<p>${escapeHtml(paragraph)}</p>`);
      if (section.table) {
        const head = section.table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
        const rows = section.table.rows
          .map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
          .join('\n');
        parts.push(`<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`);
      }
      for (const figure of section.figures ?? []) parts.push(`<figure>${figure}</figure>`);
      return `<section>\n${parts.join('\n')}\n</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 820px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
