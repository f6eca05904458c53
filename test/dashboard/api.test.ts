import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CandidateDetail,
  CandidatePage,
  CompareResult,
  LiveDelta,
  RunOverview,
  RunSummary,
} from '../../src/dashboard/api-types.js';
import { type Dashboard, STOP_REQUESTED_EVENT, startDashboard } from '../../src/dashboard/index.js';
import { RunStore } from '../../src/store/index.js';
import { type SyntheticRun, writeSyntheticRun } from './fixtures.js';

/** Every evaluated candidate of a run, read through the store's own API. */
function storedResults(path: string, runId: string) {
  const store = RunStore.open(path, { readonly: true });
  try {
    const candidates = new Map(store.candidates(runId).map((c) => [c.id, c]));
    return store.evaluations(runId).map((e) => ({
      id: e.candidateId,
      status: e.status,
      generation: e.generation,
      accuracy: e.metrics.accuracy,
      params: candidates.get(e.candidateId)?.params ?? 0,
    }));
  } finally {
    store.close();
  }
}

describe('dashboard API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-dashboard-api-'));
  const store = join(dir, 'runs.db');
  const webRoot = join(dir, 'web');
  let main: SyntheticRun;
  let other: SyntheticRun;
  let dashboard: Dashboard;
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(new URL(path, dashboard.url));
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    mkdirSync(webRoot);
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>stub</title>');
    writeFileSync(join(dir, 'secret.html'), 'outside the front end');
    main = writeSyntheticRun(store, { count: 600, generations: 6, name: 'main', seed: 1 });
    other = writeSyntheticRun(store, { count: 300, generations: 3, name: 'other', seed: 2 });
    dashboard = await startDashboard({ storePath: store, port: 0, webRoot, pollIntervalMs: 100 });
  }, 60_000);

  afterAll(async () => {
    await dashboard?.close();
  });

  it('lists runs, newest first, with counts and best values that match the store', async () => {
    const runs = await get<RunSummary[]>('/api/runs');
    expect(runs.map((r) => r.name)).toEqual(['other', 'main']);
    const summary = runs[1] as RunSummary;
    expect(summary).toMatchObject({
      status: 'finished',
      candidates: 600,
      evaluated: 600,
      ok: main.ok,
      killed: main.killed,
      failed: main.failed,
      generations: 6,
      stopRequested: false,
      resumeCommand: `nascent search --resume main --store ${store}`,
    });
    const results = storedResults(store, main.runId).filter((r) => r.status === 'ok');
    expect(summary.best.accuracy).toBe(Math.max(...results.map((r) => r.accuracy ?? 0)));
    expect(summary.best.params).toBe(Math.min(...results.map((r) => r.params)));
  });

  it('computes the Pareto front, generations and problems of a run', async () => {
    const overview = await get<RunOverview>('/api/runs/main/overview?x=params');
    const ok = storedResults(store, main.runId).filter((r) => r.status === 'ok');
    expect(overview.pareto.total).toBe(ok.length);
    expect(overview.pareto.binned).toBe(false);
    expect([...overview.pareto.cloud.id].sort()).toEqual(ok.map((r) => r.id).sort());
    // the front, by brute force: the ok candidates no other one dominates (distinct values)
    const dominated = (a: (typeof ok)[number]) =>
      ok.some(
        (b) =>
          b.params <= a.params &&
          (b.accuracy ?? 0) >= (a.accuracy ?? 0) &&
          (b.params < a.params || (b.accuracy ?? 0) > (a.accuracy ?? 0)),
      );
    const front = ok.filter((r) => !dominated(r));
    const distinct = new Map(front.map((r) => [`${r.params}/${r.accuracy}`, r]));
    expect(overview.pareto.front.x).toEqual(
      [...distinct.values()].sort((a, b) => a.params - b.params).map((r) => r.params),
    );
    expect(overview.generations.map((g) => g.candidates)).toEqual([100, 100, 100, 100, 100, 100]);
    for (const stats of overview.generations) {
      const values = ok
        .filter((r) => r.generation === stats.generation)
        .map((r) => r.accuracy ?? 0)
        .sort((a, b) => a - b);
      expect(stats.best).toBe(values.at(-1));
      const mid = values.length / 2;
      const median =
        values.length % 2 === 1
          ? values[Math.floor(mid)]
          : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
      expect(stats.median).toBeCloseTo(median as number, 12);
      expect(stats.ok + stats.killed + stats.failed + stats.pending).toBe(stats.candidates);
    }
    expect(overview.timeline.at(-1)).toMatchObject({
      ok: main.ok,
      killed: main.killed,
      failed: main.failed,
    });
    const problems = new Map(overview.problems.map((p) => [p.status, p]));
    expect(problems.get('killed')).toMatchObject({
      count: main.killed,
      reason: 'validation accuracy # after epoch # is below #',
    });
    expect(problems.get('failed')).toMatchObject({
      count: main.failed,
      reason: 'loss became NaN in epoch #',
    });
  });

  it('pages, sorts and filters candidates, and explains bad parameters', async () => {
    const best = await get<CandidatePage>(
      '/api/runs/main/candidates?sort=accuracy&dir=desc&limit=20&status=ok',
    );
    expect(best.total).toBe(main.ok);
    const accuracies = best.rows.map((r) => r.accuracy ?? 0);
    expect(accuracies).toEqual([...accuracies].sort((a, b) => b - a));
    expect(accuracies[0]).toBe(main.bestAccuracy);
    const last = await get<CandidatePage>(
      '/api/runs/main/candidates?offset=590&limit=50&sort=seq&dir=asc',
    );
    expect(last.rows.map((r) => r.seq)).toEqual([591, 592, 593, 594, 595, 596, 597, 598, 599, 600]);
    const killed = await get<CandidatePage>('/api/runs/main/candidates?status=killed&limit=500');
    expect(killed.total).toBe(main.killed);
    expect(killed.rows.every((r) => r.status === 'killed' && r.error !== null)).toBe(true);
    const generation = await get<CandidatePage>('/api/runs/main/candidates?generation=2&limit=500');
    expect(generation.rows.every((r) => r.generation === 2)).toBe(true);
    expect(generation.total).toBe(100);

    const bad = await fetch(new URL('/api/runs/main/candidates?limit=0&sort=size', dashboard.url));
    expect(bad.status).toBe(400);
    const message = ((await bad.json()) as { error: string }).error;
    expect(message).toMatch(/limit: limit must be at least 1/);
    expect(message).toMatch(/sort: sort must be one of seq, generation, accuracy/);
    const missing = await fetch(new URL('/api/runs/nope/overview', dashboard.url));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no run "nope" in the store' });
    const garbled = await fetch(new URL('/api/runs/%E0%A4%A/overview', dashboard.url));
    expect(garbled.status).toBe(400);
  });

  it('describes a candidate: layers, diagram, curves, lineage and downloads', async () => {
    const reader = RunStore.open(store, { readonly: true });
    const child = reader.candidates(main.runId, { generation: 1, limit: 1 })[0];
    const parentId = child?.parents[0] as string;
    const parent = reader.getCandidate(parentId);
    const children = reader.children(parentId);
    reader.close();
    const detail = await get<CandidateDetail>(`/api/candidates/${parentId}`);
    expect(detail.layers.reduce((sum, layer) => sum + layer.params, 0)).toBe(parent.params);
    expect(detail.layers.reduce((sum, layer) => sum + layer.flops, 0)).toBe(parent.flops);
    expect(detail.diagram?.nodes.map((n) => n.id)).toEqual(detail.layers.map((l) => l.id));
    expect(detail.children.map((c) => c.id)).toEqual(children);
    expect(detail.childrenTotal).toBe(children.length);
    if (detail.status === 'ok') expect(detail.curves.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(detail.exports.map((e) => e.format)).toEqual(['genome', 'ir']);

    const genome = await fetch(new URL(detail.exports[0]?.href as string, dashboard.url));
    expect(await genome.text()).toBe(`${parent.genome}\n`);
    expect(genome.headers.get('content-disposition')).toBe(
      `attachment; filename="${parentId}.genome.txt"`,
    );
    const ir = await fetch(new URL(detail.exports[1]?.href as string, dashboard.url));
    expect(await ir.json()).toEqual(parent.architecture);
    const onnx = await fetch(new URL(`/api/candidates/${parentId}/export/onnx`, dashboard.url));
    expect(onnx.status).toBe(404);
  });

  it('compares runs on one chart', async () => {
    const result = await get<CompareResult>('/api/compare?runs=main,other&x=flops');
    expect(result.runs.map((r) => r.run.name)).toEqual(['main', 'other']);
    const [first, second] = result.runs;
    expect(first?.progress.at(-1)).toEqual({ evaluations: 600, best: main.bestAccuracy });
    expect(second?.progress.at(-1)).toEqual({ evaluations: 300, best: other.bestAccuracy });
    const bests = first?.progress.map((p) => p.best) ?? [];
    expect(bests).toEqual([...bests].sort((a, b) => a - b));
    expect(second?.generations).toHaveLength(3);
  });

  it('records a stop request for a running run only', async () => {
    const refused = await fetch(new URL('/api/runs/main/stop', dashboard.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(409);
    const writer = RunStore.open(store);
    const running = writer.createRun({
      name: 'busy',
      space: 'genome',
      strategy: 'ga',
      dataset: 'fashion-mnist',
      seed: 0,
      config: {},
      codeVersion: 'test',
    });
    writer.close();
    const form = await fetch(new URL('/api/runs/busy/stop', dashboard.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'x=1',
    });
    expect(form.status).toBe(415);
    const accepted = await fetch(new URL('/api/runs/busy/stop', dashboard.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(accepted.status).toBe(202);
    const reader = RunStore.open(store, { readonly: true });
    expect(reader.events(running.id).map((e) => e.kind)).toEqual([STOP_REQUESTED_EVENT]);
    reader.close();
    expect((await get<RunSummary>('/api/runs/busy')).stopRequested).toBe(true);
    // a later session (resumed) is not bound by an earlier request
    const again = RunStore.open(store);
    again.logEvent(running.id, 'resumed', 'resumed');
    again.close();
    expect((await get<RunSummary>('/api/runs/busy')).stopRequested).toBe(false);
  });

  it('pushes new and newly evaluated candidates on the live feed', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/api/events', dashboard.url), {
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const nextEvent = async (name: string): Promise<string> => {
      for (;;) {
        const match = new RegExp(`event: ${name}\\ndata: (.*)\\n\\n`).exec(buffer);
        if (match) {
          buffer = buffer.slice((match.index ?? 0) + match[0].length);
          return match[1] as string;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before a ${name} event`);
        buffer += decoder.decode(value, { stream: true });
      }
    };
    await nextEvent('hello');
    const writer = RunStore.open(store);
    const source = writer.getCandidate(`${main.runId}-c1`);
    const [added] = writer.addCandidates(main.runId, [
      {
        generation: 6,
        genome: source.genome,
        genomeJson: source.genomeJson,
        architecture: source.architecture,
        hash: source.hash,
        operator: 'mutate',
        params: source.params,
        flops: source.flops,
        parents: [source.id],
      },
    ]);
    const first = JSON.parse(await nextEvent('delta')) as LiveDelta;
    expect(first.candidates.map((c) => [c.id, c.status])).toEqual([[added?.id, 'pending']]);
    expect(first.runs.find((r) => r.id === main.runId)?.candidates).toBe(601);
    writer.addEvaluation({
      candidateId: added?.id as string,
      status: 'ok',
      fidelity: 1,
      metrics: { accuracy: 0.5 },
      evaluationKey: 'synthetic',
      startedAt: new Date(),
      finishedAt: new Date(),
    });
    writer.close();
    const second = JSON.parse(await nextEvent('delta')) as LiveDelta;
    expect(second.candidates.map((c) => [c.id, c.status, c.accuracy])).toEqual([
      [added?.id, 'ok', 0.5],
    ]);
    controller.abort();
  });

  it('refuses to start without a built front end or an existing store', async () => {
    await expect(
      startDashboard({ storePath: store, port: 0, webRoot: join(dir, 'nothing') }),
    ).rejects.toThrow(/front end is not built .*run npm run build:web/);
    await expect(
      startDashboard({ storePath: join(dir, 'missing.db'), port: 0, webRoot }),
    ).rejects.toThrow(`no run store at ${join(dir, 'missing.db')}`);
  });

  it('serves the front end and nothing outside it', async () => {
    const index = await fetch(dashboard.url);
    expect(await index.text()).toContain('<title>stub</title>');
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(dashboard.url);
      httpRequest(
        { host: url.hostname, port: url.port, path: '/%2e%2e/secret.html' },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(status).toBe(404);
  });
});
