/**
 * One candidate: architecture diagram and layer table, training curves, parents and children,
 * metrics and proxy scores, its evaluations, and downloads.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type {
  CandidateDetail,
  CandidateLink,
  Diagram,
  EpochPoint,
} from '../../../src/dashboard/api-types.js';
import { api } from '../api.js';
import { Chart, type ChartOption } from '../chart.js';
import { formatCount, formatMetric, formatPercent, formatTime } from '../format.js';
import { useLive, useThrottle } from '../live.js';
import { Problem, Section, StatusBadge, href, markReady } from '../util.js';

const OP_COLORS: Readonly<Record<string, string>> = {
  input: '#e8e8e8',
  conv2d: '#cfe3f7',
  dense: '#f7dccf',
  maxpool2d: '#dcefd2',
  avgpool2d: '#dcefd2',
  global_avg_pool: '#dcefd2',
  activation: '#f4f0c8',
  batchnorm: '#e6d8f0',
  dropout: '#eeeeee',
  flatten: '#eeeeee',
  add: '#f7cfe3',
  concat: '#f7cfe3',
};

export function CandidatePage({ candidateId }: { candidateId: string }) {
  const [detail, setDetail] = useState<CandidateDetail | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = (): void => {
    api.candidate(candidateId).then(
      (result) => {
        setDetail(result);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  };
  const reload = useThrottle(load, 1500);
  useEffect(load, [candidateId]);
  useEffect(() => {
    if (detail !== undefined && detail.curves.length === 0) markReady('candidate');
  }, [detail]);
  useLive((message) => {
    if (detail === undefined) return;
    if (message.type === 'reconnected') return reload();
    const touched = message.delta.candidates.some(
      (row) => row.id === detail.id || row.runId === detail.runId,
    );
    if (touched || message.delta.truncated) reload();
  });

  if (error !== undefined && detail === undefined) return <Problem error={error} />;
  if (detail === undefined) return <p class="loading">Loading candidate…</p>;
  const latest = detail.evaluations.at(-1);
  return (
    <>
      <div class="page-title">
        <div>
          <h1>
            {detail.id} <StatusBadge status={detail.status} />
          </h1>
          <div class="muted">
            run <a href={href('runs', detail.runId)}>{detail.runName ?? detail.runId}</a> ·
            generation {detail.generation} · made by {detail.operator} · created{' '}
            {formatTime(detail.createdAt)}
          </div>
          <code class="genome-text" data-testid="genome">
            {detail.genome}
          </code>
        </div>
        <div class="exports" data-testid="exports">
          {detail.exports.map((link) => (
            <a key={link.format} class="button" href={link.href} download>
              {link.label}
            </a>
          ))}
        </div>
      </div>
      <dl class="facts">
        <div>
          <dt>val accuracy</dt>
          <dd>{formatPercent(latest?.metrics.accuracy)}</dd>
        </div>
        <div>
          <dt>test accuracy</dt>
          <dd>{formatPercent(latest?.metrics.test_accuracy)}</dd>
        </div>
        <div>
          <dt>parameters</dt>
          <dd>{formatCount(detail.params)}</dd>
        </div>
        <div>
          <dt>FLOPs</dt>
          <dd>{formatCount(detail.flops)}</dd>
        </div>
        <div>
          <dt>epochs trained</dt>
          <dd>{latest === undefined ? '–' : latest.fidelity}</dd>
        </div>
      </dl>
      {latest?.error != null && <Problem error={`${latest.status}: ${latest.error}`} />}
      <div class="grid">
        <Section title="Architecture">
          {detail.diagram === null ? (
            <Problem error={detail.architectureError ?? 'no architecture'} />
          ) : (
            <ArchitectureDiagram diagram={detail.diagram} />
          )}
        </Section>
        <Section title="Training curves">
          {detail.curves.length === 0 ? (
            <p class="muted">No per-epoch records (not trained yet, or nothing recorded).</p>
          ) : (
            <TrainingCurves epochs={detail.curves} onRendered={() => markReady('candidate')} />
          )}
        </Section>
      </div>
      <Section title="Layers">
        <LayerTable detail={detail} />
      </Section>
      <div class="grid">
        <Section title={`Parents (${detail.parents.length})`}>
          <Links links={detail.parents} empty="none: sampled at random" />
        </Section>
        <Section title={`Children (${detail.childrenTotal})`}>
          <Links links={detail.children} empty="none yet" />
          {detail.childrenTotal > detail.children.length && (
            <p class="muted small">showing the first {detail.children.length}</p>
          )}
        </Section>
      </div>
      <div class="grid">
        <Section title="Metrics">
          <MetricTable metrics={latest?.metrics ?? {}} />
        </Section>
        <Section title="Proxy scores">
          {Object.keys(detail.proxies).length === 0 ? (
            <p class="muted">No training-free proxy scores were recorded for this candidate.</p>
          ) : (
            <MetricTable metrics={detail.proxies} />
          )}
        </Section>
      </div>
      <Section title={`Evaluations (${detail.evaluations.length})`}>
        <table class="data">
          <thead>
            <tr>
              <th>#</th>
              <th>status</th>
              <th class="num">epochs</th>
              <th class="num">val accuracy</th>
              <th>finished</th>
              <th>note</th>
            </tr>
          </thead>
          <tbody>
            {detail.evaluations.map((evaluation) => (
              <tr key={evaluation.id}>
                <td>{evaluation.id}</td>
                <td>
                  <StatusBadge status={evaluation.status} />
                </td>
                <td class="num">{evaluation.fidelity}</td>
                <td class="num">{formatPercent(evaluation.metrics.accuracy)}</td>
                <td>{formatTime(evaluation.finishedAt)}</td>
                <td>
                  {evaluation.reusedFrom !== null &&
                    `result of evaluation ${evaluation.reusedFrom} reused `}
                  {evaluation.error}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}

function ArchitectureDiagram({ diagram }: { diagram: Diagram }) {
  const byId = new Map(diagram.nodes.map((node) => [node.id, node]));
  return (
    <div class="diagram">
      <svg
        data-testid="architecture-diagram"
        width={diagram.width}
        height={diagram.height}
        viewBox={`0 0 ${diagram.width} ${diagram.height}`}
        role="img"
        aria-label="architecture diagram"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#666" />
          </marker>
        </defs>
        {diagram.edges.map((edge) => (
          <path
            key={`${edge.from}>${edge.to}`}
            d={edge.path}
            class="edge"
            marker-end="url(#arrow)"
          />
        ))}
        {diagram.nodes.map((node) => (
          <g key={node.id} transform={`translate(${node.x},${node.y})`} data-node={node.id}>
            <title>{`${node.id}: ${node.title} → ${node.detail}`}</title>
            <rect
              width={node.width}
              height={node.height}
              rx={6}
              fill={OP_COLORS[node.op] ?? '#eee'}
              class="node"
            />
            <text x={10} y={17} class="node-title">
              {node.title}
            </text>
            <text x={10} y={33} class="node-detail">
              {node.id} · {node.detail}
            </text>
          </g>
        ))}
      </svg>
      {byId.size === 0 && <p class="muted">empty graph</p>}
    </div>
  );
}

function LayerTable({ detail }: { detail: CandidateDetail }) {
  if (detail.layers.length === 0) {
    return <Problem error={detail.architectureError ?? 'no layers'} />;
  }
  const total = detail.layers.reduce(
    (sum, layer) => ({ params: sum.params + layer.params, flops: sum.flops + layer.flops }),
    { params: 0, flops: 0 },
  );
  return (
    <table class="data" data-testid="layer-table">
      <thead>
        <tr>
          <th>node</th>
          <th>layer</th>
          <th>inputs</th>
          <th>output</th>
          <th class="num">params</th>
          <th class="num">FLOPs</th>
        </tr>
      </thead>
      <tbody>
        {detail.layers.map((layer) => (
          <tr key={layer.id}>
            <td>{layer.id}</td>
            <td>{layer.label}</td>
            <td class="muted">{layer.inputs.join(', ')}</td>
            <td>{layer.output}</td>
            <td class="num">{layer.params.toLocaleString('en')}</td>
            <td class="num">{layer.flops.toLocaleString('en')}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <td colSpan={4}>total</td>
          <td class="num">{total.params.toLocaleString('en')}</td>
          <td class="num">{total.flops.toLocaleString('en')}</td>
        </tr>
      </tfoot>
    </table>
  );
}

function TrainingCurves({
  epochs,
  onRendered,
}: {
  epochs: readonly EpochPoint[];
  onRendered: () => void;
}) {
  const option = useMemo((): ChartOption => {
    const series = (
      name: string,
      key: keyof EpochPoint,
      axis: number,
      color: string,
      dashed = false,
    ) => ({
      name,
      type: 'line',
      yAxisIndex: axis,
      color,
      lineStyle: dashed ? { type: 'dashed' } : {},
      data: epochs.map((e) => [e.epoch, e[key]]),
    });
    return {
      animation: false,
      grid: { left: 56, right: 56, top: 36, bottom: 44, outerBoundsMode: 'none' },
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: {
        type: 'value',
        name: 'epoch',
        nameLocation: 'middle',
        nameGap: 26,
        minInterval: 1,
        min: 'dataMin',
        max: 'dataMax',
      },
      yAxis: [
        { type: 'value', name: 'accuracy', min: 0, max: 1 },
        { type: 'value', name: 'loss', splitLine: { show: false } },
      ],
      series: [
        series('val accuracy', 'valAccuracy', 0, '#d62728'),
        series('train accuracy', 'trainAccuracy', 0, '#1f77b4'),
        series('val loss', 'valLoss', 1, '#d62728', true),
        series('train loss', 'trainLoss', 1, '#1f77b4', true),
      ],
    };
  }, [epochs]);
  return <Chart option={option} height={300} onRendered={onRendered} testId="training-curves" />;
}

function Links({ links, empty }: { links: readonly CandidateLink[]; empty: string }) {
  if (links.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="data">
      <tbody>
        {links.map((link) => (
          <tr key={link.id}>
            <td>
              <a href={href('candidates', link.id)}>{link.id}</a>
            </td>
            <td>gen {link.generation}</td>
            <td>
              <StatusBadge status={link.status} />
            </td>
            <td class="num">{formatPercent(link.accuracy)}</td>
            <td class="genome">{link.genome}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricTable({ metrics }: { metrics: Readonly<Record<string, number>> }) {
  const names = Object.keys(metrics).sort();
  if (names.length === 0) return <p class="muted">none</p>;
  return (
    <table class="data">
      <tbody>
        {names.map((name) => (
          <tr key={name}>
            <td>{name}</td>
            <td class="num">{formatMetric(name, metrics[name])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
