/** The runs list: status, strategy, space, best objectives, counts, elapsed time; stop or resume. */
import { useEffect, useState } from 'preact/hooks';
import type { RunSummary } from '../../../src/dashboard/api-types.js';
import { api } from '../api.js';
import { formatAge, formatDuration, formatMetric } from '../format.js';
import { useLive, useThrottle } from '../live.js';
import { Problem, StatusBadge, href, markReady } from '../util.js';

export function RunsPage() {
  const [runs, setRuns] = useState<RunSummary[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const load = (): void => {
    api.runs().then(
      (list) => {
        setRuns(list);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  };
  const reload = useThrottle(load, 1000);
  useEffect(load, []);
  useEffect(() => {
    if (runs !== undefined) markReady('runs');
  }, [runs]);
  useLive((message) => {
    if (message.type === 'reconnected' || message.delta.truncated) return reload();
    const changed = new Map(message.delta.runs.map((run) => [run.id, run]));
    if (changed.size === 0) return;
    setRuns((current) => {
      if (current === undefined) return current;
      const known = new Set(current.map((run) => run.id));
      if ([...changed.keys()].some((id) => !known.has(id))) reload();
      return current.map((run) => changed.get(run.id) ?? run);
    });
  });

  const toggle = (id: string): void =>
    setSelected((current) => {
      const next = new Set(current);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  if (error !== undefined) return <Problem error={error} />;
  if (runs === undefined) return <p class="loading">Loading runs…</p>;
  if (runs.length === 0) return <p>This store has no runs yet.</p>;
  const compareHref = `#/compare?runs=${[...selected].map(encodeURIComponent).join(',')}`;
  return (
    <>
      <div class="page-title">
        <h1>Runs</h1>
        <a
          class={`button${selected.size < 2 ? ' disabled' : ''}`}
          href={selected.size < 2 ? undefined : compareHref}
          aria-disabled={selected.size < 2}
        >
          Compare selected ({selected.size})
        </a>
      </div>
      <table class="data runs" data-testid="runs-table">
        <thead>
          <tr>
            <th />
            <th>run</th>
            <th>status</th>
            <th>strategy</th>
            <th>space</th>
            <th>dataset</th>
            <th>best</th>
            <th class="num">evaluated</th>
            <th class="num">ok / killed / failed</th>
            <th class="num">generations</th>
            <th class="num">elapsed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <RunRow
              key={run.id}
              run={run}
              selected={selected.has(run.id)}
              onToggle={() => toggle(run.id)}
              onChanged={load}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

function RunRow({
  run,
  selected,
  onToggle,
  onChanged,
}: {
  run: RunSummary;
  selected: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  return (
    <tr data-run={run.id}>
      <td>
        <input
          type="checkbox"
          checked={selected}
          onChange={onToggle}
          aria-label={`select ${run.name ?? run.id}`}
        />
      </td>
      <td>
        <a href={href('runs', run.id)}>{run.name ?? run.id}</a>
        {run.name !== null && <div class="muted small">{run.id}</div>}
      </td>
      <td>
        <StatusBadge status={run.status} />
        {run.status === 'running' && (
          <div class="muted small">active {formatAge(run.lastActivityAt)}</div>
        )}
      </td>
      <td>{run.strategy}</td>
      <td>{run.space}</td>
      <td>{run.dataset}</td>
      <td>
        {run.objectives.map((objective) => (
          <div key={objective.metric}>
            {objective.metric} {formatMetric(objective.metric, run.best[objective.metric])}
          </div>
        ))}
      </td>
      <td class="num">
        {run.evaluated} / {run.candidates}
      </td>
      <td class="num">
        {run.ok} / {run.killed} / {run.failed}
      </td>
      <td class="num">{run.generations}</td>
      <td class="num">{formatDuration(run.elapsedSeconds)}</td>
      <td>
        <RunControls run={run} onChanged={onChanged} />
      </td>
    </tr>
  );
}

/** Stop for a running run (the search stops after its current evaluations), resume otherwise. */
export function RunControls({ run, onChanged }: { run: RunSummary; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  if (run.status === 'running') {
    if (run.stopRequested) return <span class="muted">stop requested</span>;
    const stop = (): void => {
      if (!confirm(`Stop run ${run.name ?? run.id} after its current evaluations?`)) return;
      setBusy(true);
      api.stop(run.id).then(
        () => {
          setBusy(false);
          onChanged();
        },
        (e: Error) => {
          setBusy(false);
          setError(e.message);
        },
      );
    };
    return (
      <>
        <button type="button" onClick={stop} disabled={busy}>
          Stop
        </button>
        {error !== undefined && <div class="problem small">{error}</div>}
      </>
    );
  }
  return (
    <details class="resume">
      <summary>Resume</summary>
      <p class="small">Run this to continue (add budget flags to extend it):</p>
      <code class="command">{run.resumeCommand}</code>
      <button type="button" onClick={() => void navigator.clipboard?.writeText(run.resumeCommand)}>
        Copy
      </button>
    </details>
  );
}
