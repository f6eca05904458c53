/**
 * The report page: one HTML file with its style inline and every figure inlined as SVG, so it
 * opens anywhere without fetching anything. Every text taken from the store is escaped.
 */
import { formatCount, formatPercent, formatSeconds } from '../util/format.js';
import type { EvaluatedCandidate, ReportData } from './data.js';
import { escapeHtml } from './escape.js';

/** A rendered figure: written to `figures/<file>` and inlined in the page. */
export interface Figure {
  /** File name under `figures/`, e.g. `pareto.svg`. */
  readonly file: string;
  /** What kind of figure it is (`pareto`, `fitness`, `lineage`, `proxy`, `architecture`, `curves`). */
  readonly kind: string;
  readonly svg: string;
  readonly caption: string;
}

/** The figures of each section, and what a section says when it has none. */
export interface ReportFigures {
  readonly pareto: Figure;
  readonly fitness: Figure;
  readonly lineage: Figure | undefined;
  readonly proxies: readonly Figure[];
  readonly architectures: readonly Figure[];
  readonly curves: readonly Figure[];
  /** Why some of the best candidates have no diagram (no architecture stored, ...). */
  readonly architectureNotes: readonly string[];
  /** Why some of the best candidates have no training curves (no epoch records, ...). */
  readonly curveNotes: readonly string[];
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #111827; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #d1d5db; padding-bottom: .2rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #d1d5db; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.genome { font-family: ui-monospace, monospace; font-size: .82rem; word-break: break-all; }
figure { display: inline-table; margin: .5rem; vertical-align: top; border: 1px solid #e5e7eb; padding: .4rem; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { display: table-caption; caption-side: bottom; font-size: .82rem; color: #4b5563; padding: .3rem .4rem; }
.note { color: #4b5563; font-style: italic; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: bold; }
`;

function metricText(item: EvaluatedCandidate, metric: string): number | undefined {
  const value = item.metrics[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function cell(text: string, className?: string): string {
  return `<td${className ? ` class="${className}"` : ''}>${escapeHtml(text)}</td>`;
}

function candidateTable(items: readonly EvaluatedCandidate[], id: string): string {
  const head = [
    '#',
    'candidate',
    'gen',
    'status',
    'operator',
    'val acc',
    'test acc',
    'params',
    'FLOPs',
    'train time',
    'genome',
  ];
  const rows = items.map((item, index) => {
    const params = metricText(item, 'params') ?? item.candidate.params ?? undefined;
    const flops = metricText(item, 'flops') ?? item.candidate.flops ?? undefined;
    const seconds = metricText(item, 'train_seconds');
    return [
      '<tr>',
      cell(String(index + 1), 'num'),
      cell(item.shortId),
      cell(String(item.candidate.generation), 'num'),
      cell(item.evaluation.reusedFrom === null ? item.status : `${item.status} (reused)`),
      cell(item.candidate.operator),
      cell(formatPercent(metricText(item, 'accuracy')), 'num'),
      cell(formatPercent(metricText(item, 'test_accuracy')), 'num'),
      cell(params === undefined ? '-' : formatCount(params), 'num'),
      cell(flops === undefined ? '-' : formatCount(flops), 'num'),
      cell(seconds === undefined ? '-' : formatSeconds(seconds), 'num'),
      cell(item.candidate.genome, 'genome'),
      '</tr>',
    ].join('');
  });
  return [
    `<table id="${id}"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

function figureHtml(figure: Figure): string {
  const name = figure.file.replace(/\.svg$/, '');
  return [
    `<figure class="chart" data-figure="${escapeHtml(figure.kind)}" id="fig-${escapeHtml(name)}">`,
    figure.svg,
    `<figcaption>${escapeHtml(figure.caption)} (also <code>figures/${escapeHtml(figure.file)}</code>)</figcaption>`,
    '</figure>',
  ].join('\n');
}

function note(text: string): string {
  return `<p class="note">${escapeHtml(text)}</p>`;
}

function summary(data: ReportData): string {
  const { run } = data;
  const count = (status: string): number =>
    data.evaluated.filter((e) => e.status === status).length;
  const objectives = data.objectives.map((o) => `${o.direction} ${o.metric}`).join(', ');
  const constraints = data.constraints.map((c) => `${c.metric} ${c.op} ${c.value}`).join(', ');
  const entries: [string, string][] = [
    ['run', `${run.id}${run.name ? ` (${run.name})` : ''}`],
    ['status', run.error ? `${run.status}: ${run.error}` : run.status],
    ['search', `${run.strategy} over the ${run.space} space on ${run.dataset}, seed ${run.seed}`],
    ['objectives', objectives],
    ['constraints', constraints || 'none'],
    [
      'candidates',
      `${data.evaluated.length + data.pending.length} in ${data.generations.length} generations: ${count('ok')} ok, ${count('killed')} killed, ${count('failed')} failed, ${data.pending.length} not evaluated`,
    ],
    ['created', run.createdAt],
    ['updated', run.updatedAt],
    ['code version', run.codeVersion],
  ];
  return `<dl>${entries.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

function fitnessTable(data: ReportData): string {
  const value = (v: number | undefined): string =>
    v === undefined
      ? '-'
      : data.fitnessMetric.metric.includes('accuracy')
        ? formatPercent(v)
        : formatCount(Number(v.toPrecision(6)));
  const rows = data.generations.map(
    (g) =>
      `<tr>${cell(String(g.generation), 'num')}${cell(String(g.evaluated), 'num')}${cell(String(g.ok), 'num')}${cell(value(g.best), 'num')}${cell(value(g.median), 'num')}${cell(value(g.bestSoFar), 'num')}</tr>`,
  );
  const head = ['generation', 'evaluated', 'ok', 'best', 'median', 'best so far'];
  return `<table id="fitness-table"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function problemsTable(data: ReportData): string {
  const problems = data.evaluated.filter((e) => e.status !== 'ok');
  if (problems.length === 0) return note('Every evaluated candidate finished its training.');
  const rows = problems.map(
    (e) =>
      `<tr>${cell(e.shortId)}${cell(String(e.candidate.generation), 'num')}${cell(e.status)}${cell(e.evaluation.error ?? '')}${cell(e.candidate.genome, 'genome')}</tr>`,
  );
  return `<table id="problems-table"><thead><tr><th>candidate</th><th>gen</th><th>status</th><th>why</th><th>genome</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/** The whole page. */
export function reportHtml(data: ReportData, figures: ReportFigures, top: number): string {
  const title = `Nascent report: run ${data.run.name ?? data.run.id}`;
  const frontNames = data.frontObjectives.map((o) => o.metric).join(' vs ');
  const sections = [
    `<section id="summary"><h1>${escapeHtml(title)}</h1>${summary(data)}</section>`,
    `<section id="best"><h2>Best candidates</h2><p>The best ${Math.min(top, data.ranked.length)} by the run's objectives and constraints (the ranking of <code>nascent show</code>).</p>${candidateTable(data.ranked.slice(0, top), 'best-table')}</section>`,
    `<section id="pareto"><h2>Pareto front</h2>${figureHtml(figures.pareto)}<p>The final front (${escapeHtml(frontNames)}), ${data.front.length} candidate${data.front.length === 1 ? '' : 's'}:</p>${candidateTable(data.front, 'front-table')}</section>`,
    `<section id="fitness"><h2>Fitness per generation</h2>${figureHtml(figures.fitness)}${fitnessTable(data)}</section>`,
    `<section id="lineage"><h2>Lineage of the best candidates</h2>${figures.lineage ? figureHtml(figures.lineage) : note('No candidate has a result yet.')}</section>`,
    `<section id="proxies"><h2>Proxy scores against accuracy</h2>${figures.proxies.length > 0 ? figures.proxies.map(figureHtml).join('\n') : note('This run recorded no proxy scores.')}</section>`,
    `<section id="architectures"><h2>Architectures of the best candidates</h2>${figures.architectures.map(figureHtml).join('\n')}${figures.architectureNotes.map(note).join('')}</section>`,
    `<section id="training"><h2>Training curves of the best candidates</h2>${figures.curves.map(figureHtml).join('\n')}${figures.curveNotes.map(note).join('')}</section>`,
    `<section id="problems"><h2>Killed and failed candidates</h2>${problemsTable(data)}</section>`,
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...sections,
    `<footer class="note">Generated by nascent report on ${escapeHtml(new Date().toISOString())}.</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
