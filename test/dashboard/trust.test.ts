import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, STOP_REQUESTED_EVENT, startDashboard } from '../../src/dashboard/index.js';
import { isLoopback, requestTrust } from '../../src/dashboard/trust.js';
import { RunStore } from '../../src/store/index.js';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A request as curl sends it: to 127.0.0.1 at the dashboard's port, with any headers at all. */
function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { Host: `127.0.0.1:${port}`, ...options.headers },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

function createRunningRun(store: string, name: string): string {
  const writer = RunStore.open(store);
  try {
    return writer.createRun({
      name,
      space: 'genome',
      strategy: 'ga',
      dataset: 'fashion-mnist',
      seed: 0,
      config: {},
      codeVersion: 'test',
    }).id;
  } finally {
    writer.close();
  }
}

function stopEvents(store: string, runId: string): string[] {
  const reader = RunStore.open(store, { readonly: true });
  try {
    return reader
      .events(runId)
      .map((event) => event.kind)
      .filter((kind) => kind === STOP_REQUESTED_EVENT);
  } finally {
    reader.close();
  }
}

const JSON_BODY = { 'Content-Type': 'application/json' };

describe('dashboard trust', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nascent-dashboard-trust-'));
  const store = join(dir, 'runs.db');
  const webRoot = join(dir, 'web');
  let local: Dashboard;
  let port = 0;

  beforeAll(async () => {
    mkdirSync(webRoot);
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>stub</title>');
    RunStore.open(store).close();
    local = await startDashboard({ storePath: store, port: 0, webRoot });
    port = Number(new URL(local.url).port);
  });

  afterAll(async () => {
    await local?.close();
  });

  it('answers its own address and refuses another Host (DNS rebinding)', async () => {
    expect((await send(port, '/api/runs')).status).toBe(200);
    for (const host of [`localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await send(port, '/api/runs', { headers: { Host: host } })).status, host).toBe(200);
    }
    const evil = await send(port, '/api/runs', { headers: { Host: 'evil.example' } });
    expect(evil.status).toBe(421);
    expect((JSON.parse(evil.body) as { error: string }).error).toMatch(
      new RegExp(`Host "evil\\.example" is not this dashboard's address.*127\\.0\\.0\\.1:${port}`),
    );
    // the same name at the right port, another port, and the front end's files too
    expect(
      (await send(port, '/api/runs', { headers: { Host: `evil.example:${port}` } })).status,
    ).toBe(421);
    expect(
      (await send(port, '/api/runs', { headers: { Host: `127.0.0.1:${port + 1}` } })).status,
    ).toBe(421);
    expect((await send(port, '/', { headers: { Host: 'evil.example' } })).status).toBe(421);
    expect((await send(port, '/')).body).toContain('<title>stub</title>');
  });

  it('refuses a stop from another origin, and the run goes on', async () => {
    const runId = createRunningRun(store, 'origin-check');
    const path = '/api/runs/origin-check/stop';
    for (const headers of [
      { Origin: 'http://evil.example' },
      { Origin: 'http://evil.example', Host: 'evil.example' },
      { Origin: 'null' },
      { Origin: `https://127.0.0.1:${port}` },
    ]) {
      const refused = await send(port, path, {
        method: 'POST',
        headers: { ...JSON_BODY, ...headers },
        body: '{}',
      });
      expect([403, 421], JSON.stringify(headers)).toContain(refused.status);
    }
    const fromEvil = await send(port, path, {
      method: 'POST',
      headers: { ...JSON_BODY, Origin: 'http://evil.example' },
      body: '{}',
    });
    expect(fromEvil.status).toBe(403);
    expect((JSON.parse(fromEvil.body) as { error: string }).error).toContain('another origin');
    expect(stopEvents(store, runId)).toEqual([]);
    const summary = JSON.parse((await send(port, '/api/runs/origin-check')).body) as {
      stopRequested: boolean;
      status: string;
    };
    expect(summary).toMatchObject({ status: 'running', stopRequested: false });
    // its own origin (a page of the dashboard), and no Origin at all (curl): accepted
    const own = await send(port, path, {
      method: 'POST',
      headers: { ...JSON_BODY, Origin: `http://127.0.0.1:${port}` },
      body: '{}',
    });
    expect(own.status).toBe(202);
    expect(stopEvents(store, runId)).toEqual([STOP_REQUESTED_EVENT]);
    expect(local.token).toBeNull();
    expect(local.pageUrl).toBe(local.url);
  });

  it('bound beyond loopback, a change needs the token printed at start', async () => {
    const wide = await startDashboard({ storePath: store, port: 0, host: '0.0.0.0', webRoot });
    try {
      const widePort = Number(new URL(wide.url).port);
      const token = wide.token;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(wide.pageUrl).toBe(`${wide.url}?token=${token}`);
      const runId = createRunningRun(store, 'token-check');
      const path = '/api/runs/token-check/stop';
      // reading needs no token
      expect((await send(widePort, '/api/runs')).status).toBe(200);
      expect(
        (await send(widePort, '/api/runs', { headers: { Host: 'evil.example' } })).status,
      ).toBe(421);
      for (const headers of [
        {},
        { 'X-Nascent-Token': 'wrong' },
        { Authorization: 'Bearer wrong' },
        { Authorization: `Basic ${token}` },
      ]) {
        const refused = await send(widePort, path, {
          method: 'POST',
          headers: { ...JSON_BODY, ...headers },
          body: '{}',
        });
        expect(refused.status, JSON.stringify(headers)).toBe(403);
        expect((JSON.parse(refused.body) as { error: string }).error).toContain('token');
      }
      expect(stopEvents(store, runId)).toEqual([]);
      const accepted = await send(widePort, path, {
        method: 'POST',
        headers: { ...JSON_BODY, Authorization: `Bearer ${token}` },
        body: '{}',
      });
      expect(accepted.status).toBe(202);
      expect(stopEvents(store, runId)).toEqual([STOP_REQUESTED_EVENT]);
      // the other header works too (a second request is recorded as a second event)
      const again = await send(widePort, path, {
        method: 'POST',
        headers: { ...JSON_BODY, 'X-Nascent-Token': token ?? '' },
        body: '{}',
      });
      expect(again.status).toBe(202);
    } finally {
      await wide.close();
    }
  });
});

describe('request trust', () => {
  it('knows loopback addresses', () => {
    for (const address of [
      '127.0.0.1',
      '127.3.4.5',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopback(address), address).toBe(true);
    }
    for (const address of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'example.com']) {
      expect(isLoopback(address), address).toBe(false);
    }
  });

  it('accepts the bound address and the names given, at the bound port only', () => {
    const trust = requestTrust({
      address: '192.168.1.5',
      port: 9000,
      requestedHost: '192.168.1.5',
      extraHosts: ['Lab.Example'],
      token: 'secret',
    });
    expect(trust.hosts.has('192.168.1.5:9000')).toBe(true);
    expect(trust.hosts.has('lab.example:9000')).toBe(true);
    expect(trust.hosts.has('localhost:9000')).toBe(false);
    expect(trust.hosts.has('192.168.1.5:9001')).toBe(false);
    expect(trust.shownHost).toBe('192.168.1.5:9000');
  });
});
