/**
 * A run's overview: Pareto front, fitness per generation, evaluations over time, killed and failed
 * candidates by reason, and the candidates table; all kept current by the live feed.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type {
  CandidatePage,
  CandidateRow,
  CandidateSortKey,
  CandidateStatus,
  RunOverview,
  RunSummary,
  SizeMetric,
} from '../../../src/dashboard/api-types.js';
import { type CandidateFilter, api } from '../api.js';
import { Chart, type ChartOption } from '../chart.js';
import { formatCount, formatDuration, formatMetric, formatPercent, formatTime } from '../format.js';
import { useLive, useThrottle } from '../live.js';
import { Problem, Section, StatusBadge, href, markReady } from '../util.js';
import { RunControls } from './runs.js';

const PAGE_SIZE = 50;
const DEFAULT_FILTER: CandidateFilter = { offset: 0, limit: PAGE_SIZE, sort: 'seq', dir: 'desc' };
/** Viridis, from the first generations (dark) to the last (yellow). */
const GENERATION_COLORS = [
  '#440154',
  '#46327e',
  '#365c8d',
  '#277f8e',
  '#1fa187',
  '#4ac16d',
  '#a0da39',
  '#fde725',
];
const CHARTS = 3;
/** Above this many points the cloud is drawn in ECharts' large mode. */
const LARGE_CLOUD = 500;

function isDefaultView(filter: CandidateFilter): boolean {
  return (
    filter.offset === 0 &&
    filter.sort === 'seq' &&
    filter.dir === 'desc' &&
    filter.status === undefined &&
    filter.generation === undefined
  );
}

/** The page with the live rows applied: updated in place, new ones on top of the default view. */
function mergeRows(
  page: CandidatePage,
  rows: readonly CandidateRow[],
  filter: CandidateFilter,
): CandidatePage {
  const changed = new Map(rows.map((row) => [row.id, row]));
  const shown = page.rows.map((row) => changed.get(row.id) ?? row);
  if (!isDefaultView(filter)) return { ...page, rows: shown };
  const present = new Set(shown.map((row) => row.id));
  const added = rows.filter((row) => !present.has(row.id)).sort((a, b) => b.seq - a.seq);
  return {
    ...page,
    total: page.total + added.length,
    rows: [...added, ...shown].slice(0, filter.limit),
  };
}

export function RunPage({ runId }: { runId: string }) {
  const [x, setX] = useState<SizeMetric>('params');
  const [overview, setOverview] = useState<RunOverview | undefined>();
  const [summary, setSummary] = useState<RunSummary | undefined>();
  const [filter, setFilter] = useState<CandidateFilter>(DEFAULT_FILTER);
  const [page, setPage] = useState<CandidatePage | undefined>();
  const [error, setError] = useState<string | undefined>();
  const rendered = useRef(new Set<string>());
  const filterRef = useRef(filter);
  filterRef.current = filter;

  const loadOverview = (): void => {
    api.overview(runId, x).then(
      (result) => {
        setOverview(result);
        setSummary(result.run);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  };
  const loadPage = (): void => {
    const asked = filterRef.current;
    api.candidates(runId, asked).then(
      (result) => {
        if (filterRef.current === asked) setPage(result);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  };
  const reload = useThrottle(() => {
    loadOverview();
    loadPage();
  }, 1500);
  useEffect(loadOverview, [runId, x]);
  useEffect(loadPage, [runId, filter]);

  // Ready once the three charts have drawn and the table has rows (in either order).
  const pageShown = useRef(false);
  const readyIfDrawn = (): void => {
    if (pageShown.current && rendered.current.size >= CHARTS) markReady('overview');
  };
  const chartDrawn = (name: string) => (): void => {
    rendered.current.add(name);
    readyIfDrawn();
  };
  useEffect(() => {
    pageShown.current = page !== undefined;
    readyIfDrawn();
  }, [page]);

  useLive((message) => {
    if (message.type === 'reconnected' || message.delta.truncated) return reload();
    const id = summary?.id;
    // A run not (yet) in the store: look again whenever a run changes, so that a page opened
    // before its search starts fills in when it does.
    if (id === undefined) return message.delta.runs.length > 0 ? reload() : undefined;
    const run = message.delta.runs.find((r) => r.id === id);
    const rows = message.delta.candidates.filter((c) => c.runId === id);
    if (run === undefined && rows.length === 0) return;
    if (run !== undefined) setSummary(run);
    if (rows.length > 0)
      setPage((current) => current && mergeRows(current, rows, filterRef.current));
    reload();
  });

  if (error !== undefined && overview === undefined) {
    return (
      <>
        <Problem error={error} />
        <p class="muted">This page fills in when the run appears in the store.</p>
      </>
    );
  }
  if (overview === undefined || summary === undefined) return <p class="loading">Loading run…</p>;
  return (
    <>
      <RunHeader run={summary} onChanged={reload} />
      {error !== undefined && <Problem error={error} />}
      <div class="grid">
        <ParetoPanel overview={overview} x={x} onX={setX} onRendered={chartDrawn('pareto')} />
        <GenerationsPanel overview={overview} onRendered={chartDrawn('generations')} />
        <TimelinePanel overview={overview} onRendered={chartDrawn('timeline')} />
        <ProblemsPanel
          overview={overview}
          onShow={(status) => setFilter({ ...DEFAULT_FILTER, status })}
        />
      </div>
      <CandidatesPanel page={page} filter={filter} onFilter={setFilter} />
    </>
  );
}

function RunHeader({ run, onChanged }: { run: RunSummary; onChanged: () => void }) {
  return (
    <div class="page-title">
      <div>
        <h1>
          {run.name ?? run.id} <StatusBadge status={run.status} />
        </h1>
        <div class="muted">
          {run.id} · {run.strategy} over {run.space} on {run.dataset} · started{' '}
          {formatTime(run.createdAt)}
        </div>
        {run.error !== null && <Problem error={run.error} />}
      </div>
      <dl class="facts" data-testid="run-facts">
        {run.objectives.map((objective) => (
          <div key={objective.metric}>
            <dt>
              best {objective.metric} ({objective.direction === 'maximize' ? 'max' : 'min'})
            </dt>
            <dd>{formatMetric(objective.metric, run.best[objective.metric])}</dd>
          </div>
        ))}
        <div>
          <dt>evaluated</dt>
          <dd data-testid="evaluated-count">
            {run.evaluated} / {run.candidates}
          </dd>
        </div>
        <div>
          <dt>ok / killed / failed</dt>
          <dd>
            {run.ok} / {run.killed} / {run.failed}
          </dd>
        </div>
        <div>
          <dt>generations</dt>
          <dd>{run.generations}</dd>
        </div>
        <div>
          <dt>elapsed</dt>
          <dd>{formatDuration(run.elapsedSeconds)}</dd>
        </div>
        <div>
          <dt />
          <dd>
            <RunControls run={run} onChanged={onChanged} />
          </dd>
        </div>
      </dl>
    </div>
  );
}

function openCandidate(data: unknown): void {
  const id = Array.isArray(data) ? data[4] : undefined;
  if (typeof id === 'string') location.hash = href('candidates', id);
}

function ParetoPanel({
  overview,
  x,
  onX,
  onRendered,
}: {
  overview: RunOverview;
  x: SizeMetric;
  onX: (x: SizeMetric) => void;
  onRendered: () => void;
}) {
  const { pareto } = overview;
  const option = useMemo((): ChartOption => {
    const xName = x === 'params' ? 'parameters' : 'FLOPs';
    // Colour by generation: one scatter series per band of generations, so that no per-point
    // visual mapping is needed and 20,000 points still draw in one batch per band.
    const maxGeneration = Math.max(0, ...pareto.cloud.generation, ...pareto.front.generation);
    const width = Math.max(1, Math.ceil((maxGeneration + 1) / GENERATION_COLORS.length));
    const bands = Math.ceil((maxGeneration + 1) / width);
    const banded: unknown[][][] = Array.from({ length: bands }, () => []);
    const cloud = pareto.cloud;
    cloud.x.forEach((value, i) => {
      const generation = cloud.generation[i] as number;
      banded[Math.floor(generation / width)]?.push([
        value,
        cloud.y[i],
        cloud.count[i],
        generation,
        cloud.id[i],
      ]);
    });
    const bandName = (band: number): string => {
      const first = band * width;
      const last = Math.min(maxGeneration, first + width - 1);
      return first === last ? `gen ${first}` : `gen ${first}–${last}`;
    };
    const front = pareto.front;
    return {
      animation: false,
      grid: { left: 64, right: 24, top: 48, bottom: 48, outerBoundsMode: 'none' },
      legend: { top: 0, type: 'scroll' },
      tooltip: {
        trigger: 'item',
        formatter: (item: { data: [number, number, number, number, string] }) => {
          const [size, value, count, generation, id] = item.data;
          const many = count > 1 ? ` (best of ${count} here)` : '';
          return `${id}${many}<br>${xName} ${formatCount(size)}<br>${pareto.y.metric} ${formatMetric(pareto.y.metric, value)}<br>generation ${generation}`;
        },
      },
      xAxis: { type: 'log', name: xName, nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: pareto.y.metric, scale: true },
      series: [
        ...banded.map((data, band) => ({
          name: bandName(band),
          type: 'scatter',
          data,
          color:
            GENERATION_COLORS[
              Math.round((band * (GENERATION_COLORS.length - 1)) / Math.max(1, bands - 1))
            ],
          symbolSize: 5,
          // Many points draw as one path per band (hover still finds each point).
          large: cloud.x.length > LARGE_CLOUD,
          largeThreshold: 1,
          itemStyle: { opacity: 0.75 },
        })),
        {
          name: 'Pareto front',
          type: 'line',
          step: pareto.y.direction === 'maximize' ? 'end' : 'start',
          data: front.x.map((value, i) => [value, front.y[i], 1, front.generation[i], front.id[i]]),
          symbolSize: 7,
          color: '#d62728',
          lineStyle: { width: 2 },
          z: 3,
        },
      ],
    };
  }, [pareto, x]);
  return (
    <Section
      title="Pareto front"
      aside={
        <span class="controls">
          <span class="muted small">
            {pareto.total} ok candidates{pareto.binned ? ', binned' : ''} · x:
          </span>
          <select
            value={x}
            onChange={(e) => onX((e.target as HTMLSelectElement).value as SizeMetric)}
            aria-label="size axis"
          >
            <option value="params">parameters</option>
            <option value="flops">FLOPs</option>
          </select>
        </span>
      }
    >
      <Chart
        option={option}
        onRendered={onRendered}
        onItemClick={openCandidate}
        testId="pareto-chart"
      />
    </Section>
  );
}

function GenerationsPanel({
  overview,
  onRendered,
}: {
  overview: RunOverview;
  onRendered: () => void;
}) {
  const { generations, fitness } = overview;
  const option = useMemo(
    (): ChartOption => ({
      animation: false,
      grid: { left: 64, right: 24, top: 28, bottom: 48, outerBoundsMode: 'none' },
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis',
        valueFormatter: (value: number) => formatMetric(fitness.metric, value),
      },
      xAxis: {
        type: 'category',
        name: 'generation',
        nameLocation: 'middle',
        nameGap: 28,
        data: generations.map((g) => String(g.generation)),
      },
      yAxis: { type: 'value', name: fitness.metric, scale: true },
      series: [
        { name: 'best', type: 'line', data: generations.map((g) => g.best), color: '#d62728' },
        { name: 'median', type: 'line', data: generations.map((g) => g.median), color: '#1f77b4' },
      ],
    }),
    [generations, fitness],
  );
  return (
    <Section title={`${fitness.metric} per generation`}>
      <Chart option={option} onRendered={onRendered} testId="generations-chart" />
    </Section>
  );
}

function TimelinePanel({
  overview,
  onRendered,
}: {
  overview: RunOverview;
  onRendered: () => void;
}) {
  const { timeline } = overview;
  const option = useMemo((): ChartOption => {
    const line = (name: string, key: 'ok' | 'killed' | 'failed', color: string) => ({
      name,
      type: 'line',
      showSymbol: timeline.length < 30,
      color,
      data: timeline.map((p) => [p.t, p[key]]),
    });
    return {
      animation: false,
      grid: { left: 64, right: 24, top: 28, bottom: 48, outerBoundsMode: 'none' },
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time', name: 'time', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: 'evaluations' },
      series: [
        line('ok', 'ok', '#2ca02c'),
        line('killed', 'killed', '#ff7f0e'),
        line('failed', 'failed', '#d62728'),
      ],
    };
  }, [timeline]);
  return (
    <Section title="Evaluations over time">
      <Chart option={option} onRendered={onRendered} testId="timeline-chart" />
    </Section>
  );
}

function ProblemsPanel({
  overview,
  onShow,
}: {
  overview: RunOverview;
  onShow: (status: CandidateStatus) => void;
}) {
  const { problems, run } = overview;
  return (
    <Section title={`Killed (${run.killed}) and failed (${run.failed})`}>
      {problems.length === 0 ? (
        <p class="muted">No candidate was killed or failed.</p>
      ) : (
        <table class="data" data-testid="problems-table">
          <thead>
            <tr>
              <th>status</th>
              <th class="num">count</th>
              <th>reason</th>
            </tr>
          </thead>
          <tbody>
            {problems.map((group) => (
              <tr key={`${group.status}${group.reason}`}>
                <td>
                  <button type="button" class="link" onClick={() => onShow(group.status)}>
                    <StatusBadge status={group.status} />
                  </button>
                </td>
                <td class="num">{group.count}</td>
                <td>
                  <div title={group.reason}>{group.example}</div>
                  <div class="small">
                    {group.candidates.map((id) => (
                      <a key={id} href={href('candidates', id)} class="chip">
                        {id.replace(/^.*-c/, 'c')}
                      </a>
                    ))}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

const COLUMNS: readonly { key: CandidateSortKey | undefined; label: string; num?: boolean }[] = [
  { key: 'seq', label: 'candidate' },
  { key: 'generation', label: 'gen', num: true },
  { key: 'status', label: 'status' },
  { key: 'accuracy', label: 'val accuracy', num: true },
  { key: 'params', label: 'params', num: true },
  { key: 'flops', label: 'FLOPs', num: true },
  { key: 'trainSeconds', label: 'train time', num: true },
  { key: undefined, label: 'genome' },
];

function CandidatesPanel({
  page,
  filter,
  onFilter,
}: {
  page: CandidatePage | undefined;
  filter: CandidateFilter;
  onFilter: (filter: CandidateFilter) => void;
}) {
  const sortBy = (key: CandidateSortKey): void =>
    onFilter({
      ...filter,
      offset: 0,
      sort: key,
      dir: filter.sort === key && filter.dir === 'desc' ? 'asc' : 'desc',
    });
  const pages = page === undefined ? 1 : Math.max(1, Math.ceil(page.total / filter.limit));
  const current = Math.floor(filter.offset / filter.limit) + 1;
  const go = (n: number): void =>
    onFilter({ ...filter, offset: (Math.min(Math.max(1, n), pages) - 1) * filter.limit });
  return (
    <Section
      title={`Candidates${page === undefined ? '' : ` (${page.total})`}`}
      aside={
        <span class="controls">
          <select
            aria-label="status filter"
            value={filter.status ?? ''}
            onChange={(e) => {
              const value = (e.target as HTMLSelectElement).value;
              onFilter({
                ...filter,
                offset: 0,
                status: value === '' ? undefined : (value as CandidateStatus),
              });
            }}
          >
            <option value="">any status</option>
            <option value="ok">ok</option>
            <option value="killed">killed</option>
            <option value="failed">failed</option>
            <option value="pending">pending</option>
          </select>
          <input
            type="number"
            min={0}
            placeholder="generation"
            aria-label="generation filter"
            value={filter.generation ?? ''}
            onChange={(e) => {
              const text = (e.target as HTMLInputElement).value;
              onFilter({
                ...filter,
                offset: 0,
                generation: text === '' ? undefined : Math.max(0, Math.floor(Number(text))),
              });
            }}
          />
        </span>
      }
    >
      <table class="data candidates" data-testid="candidates-table">
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column.label} class={column.num ? 'num' : undefined}>
                {column.key === undefined ? (
                  column.label
                ) : (
                  <button
                    type="button"
                    class="link"
                    onClick={() => sortBy(column.key as CandidateSortKey)}
                  >
                    {column.label}
                    {filter.sort === column.key ? (filter.dir === 'desc' ? ' ▼' : ' ▲') : ''}
                  </button>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {page?.rows.map((row) => (
            <tr key={row.id} data-candidate={row.id} data-status={row.status}>
              <td>
                <a href={href('candidates', row.id)} title={row.id}>
                  c{row.seq}
                </a>
              </td>
              <td class="num">{row.generation}</td>
              <td>
                <StatusBadge status={row.status} />
                {row.reused && <span class="muted small"> reused</span>}
              </td>
              <td class="num">{formatPercent(row.accuracy)}</td>
              <td class="num">{formatCount(row.params)}</td>
              <td class="num">{formatCount(row.flops)}</td>
              <td class="num">{formatDuration(row.trainSeconds)}</td>
              <td class="genome" title={row.error ?? undefined}>
                {row.genome}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page !== undefined && page.rows.length === 0 && <p class="muted">No candidates here.</p>}
      <div class="pager">
        <button type="button" onClick={() => go(current - 1)} disabled={current <= 1}>
          ← previous
        </button>
        <span>
          page {current} of {pages}
        </span>
        <button type="button" onClick={() => go(current + 1)} disabled={current >= pages}>
          next →
        </button>
      </div>
    </Section>
  );
}
