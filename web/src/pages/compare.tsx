/** Several runs on one chart: best so far against evaluations, fitness per generation, or fronts. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CompareResult, RunSummary, SizeMetric } from '../../../src/dashboard/api-types.js';
import { api } from '../api.js';
import { Chart, type ChartOption } from '../chart.js';
import { formatCount, formatMetric } from '../format.js';
import { useLive, useThrottle } from '../live.js';
import { Problem, Section, markReady } from '../util.js';

type View = 'progress' | 'generations' | 'pareto';
const VIEWS: Readonly<Record<View, string>> = {
  progress: 'best so far vs evaluations',
  generations: 'best per generation',
  pareto: 'Pareto fronts',
};

function compareHash(runs: readonly string[], view: View, x: SizeMetric): string {
  return `#/compare?runs=${runs.map(encodeURIComponent).join(',')}&view=${view}&x=${x}`;
}

export function ComparePage({ query }: { query: URLSearchParams }) {
  const chosen = (query.get('runs') ?? '').split(',').filter((id) => id.length > 0);
  const view: View =
    (Object.keys(VIEWS) as View[]).find((v) => v === query.get('view')) ?? 'progress';
  const x: SizeMetric = query.get('x') === 'flops' ? 'flops' : 'params';
  const [runs, setRuns] = useState<RunSummary[] | undefined>();
  const [result, setResult] = useState<CompareResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  const key = chosen.join(',');
  const load = (): void => {
    api.runs().then(setRuns, (e: Error) => setError(e.message));
    if (chosen.length === 0) return setResult(undefined);
    api.compare(chosen, x).then(
      (r) => {
        setResult(r);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  };
  const reload = useThrottle(load, 2000);
  useEffect(load, [key, x]);
  useLive((message) => {
    if (message.type === 'reconnected' || message.delta.truncated) return reload();
    const ids = new Set(result?.runs.map((series) => series.run.id));
    if (message.delta.runs.some((run) => ids.has(run.id))) reload();
  });

  const isChosen = (run: RunSummary): boolean =>
    chosen.includes(run.id) || (run.name !== null && chosen.includes(run.name));
  const toggle = (run: RunSummary): void => {
    const next = isChosen(run)
      ? chosen.filter((c) => c !== run.id && c !== run.name)
      : [...chosen, run.name ?? run.id];
    location.hash = compareHash(next, view, x);
  };

  return (
    <>
      <div class="page-title">
        <h1>Compare runs</h1>
        <span class="controls">
          <select
            aria-label="chart"
            value={view}
            onChange={(e) =>
              (location.hash = compareHash(
                chosen,
                (e.target as HTMLSelectElement).value as View,
                x,
              ))
            }
          >
            {(Object.keys(VIEWS) as View[]).map((v) => (
              <option key={v} value={v}>
                {VIEWS[v]}
              </option>
            ))}
          </select>
          {view === 'pareto' && (
            <select
              aria-label="size axis"
              value={x}
              onChange={(e) =>
                (location.hash = compareHash(
                  chosen,
                  view,
                  (e.target as HTMLSelectElement).value as SizeMetric,
                ))
              }
            >
              <option value="params">parameters</option>
              <option value="flops">FLOPs</option>
            </select>
          )}
        </span>
      </div>
      {error !== undefined && <Problem error={error} />}
      <div class="run-picker">
        {runs?.map((run) => (
          <label key={run.id}>
            <input type="checkbox" checked={isChosen(run)} onChange={() => toggle(run)} />{' '}
            {run.name ?? run.id}
          </label>
        ))}
      </div>
      {result === undefined || result.runs.length === 0 ? (
        <p class="muted">Pick two or more runs.</p>
      ) : (
        <Section title={VIEWS[view]}>
          <CompareChart result={result} view={view} />
        </Section>
      )}
    </>
  );
}

function CompareChart({ result, view }: { result: CompareResult; view: View }) {
  const option = useMemo((): ChartOption => {
    const name = (series: CompareResult['runs'][number]) => series.run.name ?? series.run.id;
    const metric = result.runs[0]?.fitness.metric ?? 'accuracy';
    const base = {
      animation: false,
      grid: { left: 64, right: 24, top: 36, bottom: 48, outerBoundsMode: 'none' },
      legend: { top: 0, type: 'scroll' },
      tooltip: { trigger: view === 'pareto' ? 'item' : 'axis' },
    };
    if (view === 'progress') {
      return {
        ...base,
        xAxis: { type: 'value', name: 'evaluations', nameLocation: 'middle', nameGap: 28 },
        yAxis: { type: 'value', name: `best ${metric}`, scale: true },
        series: result.runs.map((series) => ({
          name: name(series),
          type: 'line',
          step: 'end',
          showSymbol: false,
          data: series.progress.map((p) => [p.evaluations, p.best]),
        })),
      };
    }
    if (view === 'generations') {
      return {
        ...base,
        xAxis: {
          type: 'value',
          name: 'generation',
          nameLocation: 'middle',
          nameGap: 28,
          minInterval: 1,
        },
        yAxis: { type: 'value', name: `best ${metric}`, scale: true },
        series: result.runs.map((series) => ({
          name: name(series),
          type: 'line',
          data: series.generations.map((g) => [g.generation, g.best]),
        })),
      };
    }
    return {
      ...base,
      tooltip: {
        trigger: 'item',
        formatter: (item: { data: [number, number, string]; seriesName: string }) =>
          `${item.seriesName}<br>${item.data[2]}<br>${result.x} ${formatCount(item.data[0])}<br>${formatMetric(metric, item.data[1])}`,
      },
      xAxis: {
        type: 'log',
        name: result.x === 'params' ? 'parameters' : 'FLOPs',
        nameLocation: 'middle',
        nameGap: 28,
      },
      yAxis: { type: 'value', name: metric, scale: true },
      series: result.runs.map((series) => ({
        name: name(series),
        type: 'line',
        step: 'end',
        data: series.front.x.map((value, i) => [value, series.front.y[i], series.front.id[i]]),
      })),
    };
  }, [result, view]);
  return (
    <Chart
      option={option}
      height={420}
      onRendered={() => markReady('compare')}
      testId="compare-chart"
    />
  );
}
