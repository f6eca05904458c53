/**
 * The dashboard's HTTP server (node:http): the bundled front end as static files, a JSON API over
 * the run store, the live feed, and the one write it makes: a request that a run stop. Which
 * requests it answers (its own Host, its own Origin for a change, a token for a change when bound
 * beyond loopback) is decided in trust.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { RunStore } from '../store/index.js';
import { type ApiError, CANDIDATE_SORT_KEYS, type DashboardInfo } from './api-types.js';
import { CANDIDATE_EXPORTS } from './exports.js';
import { LiveFeed } from './live.js';
import { STOP_REQUESTED_EVENT } from '../store/index.js';
import { DashboardData, DashboardRequestError } from './queries.js';
import {
  type RequestTrust,
  checkRequest,
  isLoopback,
  newDashboardToken,
  requestTrust,
} from './trust.js';

export const DEFAULT_DASHBOARD_PORT = 8321;

export interface DashboardOptions {
  /** The run store (SQLite file). */
  readonly storePath: string;
  /** 0 picks a free port (default DEFAULT_DASHBOARD_PORT). */
  readonly port?: number;
  /** Default 127.0.0.1 (this machine only). Beyond loopback, a change needs the token. */
  readonly host?: string;
  /** Further names the dashboard is reached by (a DNS name of this machine), accepted as Host. */
  readonly allowedHosts?: readonly string[];
  /**
   * Open the store for writing once first: create it when missing, bring its schema up to date
   * (for a search about to write it). Otherwise a missing store is an error.
   */
  readonly createStore?: boolean;
  /** The built front end (default: dist/web in the package). */
  readonly webRoot?: string;
  /** How often the live feed looks for changes, in ms (default 500). */
  readonly pollIntervalMs?: number;
  /** Where server errors are reported (default: stderr). */
  readonly log?: (message: string) => void;
}

export interface Dashboard {
  /** Where the dashboard answers, e.g. http://127.0.0.1:8321/ */
  readonly url: string;
  /**
   * The token a change (stopping a run) needs, sent as `Authorization: Bearer TOKEN` or
   * `X-Nascent-Token: TOKEN`: made at start when bound beyond loopback, else null.
   */
  readonly token: string | null;
  /** The page to open: `url`, with `?token=...` when there is a token. */
  readonly pageUrl: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The package's own folder: the nearest one above this file holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Nascent package folder');
    dir = parent;
  }
  return dir;
}

/** Where `npm run build:web` puts the front end. */
export function defaultWebRoot(): string {
  return join(packageRoot(), 'dist', 'web');
}

const sizeMetric = z.enum(['params', 'flops']).default('params');
const wholeNumber = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

const candidateQuerySchema = z.object({
  offset: wholeNumber('offset', 0, Number.MAX_SAFE_INTEGER).default(0),
  limit: wholeNumber('limit', 1, 500).default(50),
  sort: z
    .enum(CANDIDATE_SORT_KEYS, { error: `sort must be one of ${CANDIDATE_SORT_KEYS.join(', ')}` })
    .default('seq'),
  dir: z.enum(['asc', 'desc'], { error: 'dir must be asc or desc' }).default('desc'),
  status: z
    .enum(['ok', 'killed', 'failed', 'pending'], {
      error: 'status must be ok, killed, failed or pending',
    })
    .optional(),
  generation: wholeNumber('generation', 0, Number.MAX_SAFE_INTEGER).optional(),
});

const compareQuerySchema = z.object({
  runs: z
    .string({ error: 'runs is required: run ids or names separated by commas' })
    .transform((text) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .refine((runs) => runs.length >= 1 && runs.length <= 12, 'runs must name 1 to 12 runs'),
  x: sizeMetric,
});

/** Validates query parameters; a bad one is a 400 that names the parameter and the rule. */
function parseQuery<T extends z.ZodType>(schema: T, url: URL): z.infer<T> {
  const result = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!result.success) {
    const detail = result.error.issues
      .map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`)
      .join('; ');
    throw new DashboardRequestError(`bad query: ${detail}`, 400);
  }
  return result.data;
}

/** Starts the dashboard over a run store; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const log = options.log ?? ((message: string) => void process.stderr.write(`${message}\n`));
  const webRoot = resolve(options.webRoot ?? defaultWebRoot());
  if (!existsSync(join(webRoot, 'index.html'))) {
    throw new Error(
      `the dashboard's front end is not built (no ${join(webRoot, 'index.html')}): run npm run build:web`,
    );
  }
  if (options.createStore === true) RunStore.open(options.storePath).close();
  // Read-only: a missing store is an error naming its path; nothing is created.
  const data = DashboardData.open(options.storePath);
  try {
    data.warm();
  } catch (error) {
    data.close();
    throw error;
  }
  const live = new LiveFeed(data, options.pollIntervalMs ?? 500, (error) =>
    log(`dashboard: live feed: ${error instanceof Error ? error.message : String(error)}`),
  );
  const info: DashboardInfo = { store: options.storePath };

  const api = async (
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ): Promise<void> => {
    const parts = url.pathname
      .split('/')
      .slice(2)
      .map((part) => decodeURIComponent(part));
    const method = request.method ?? 'GET';
    const route = `${method} ${parts.map((part, i) => (i % 2 === 1 ? ':' : part)).join('/')}`;
    const [, first = '', , third = ''] = parts;
    switch (route) {
      case 'GET info':
        return sendJson(request, response, info);
      case 'GET events':
        return live.attach(response);
      case 'GET runs':
        return sendJson(request, response, data.listRuns());
      case 'GET runs/:':
        return sendJson(request, response, data.runSummary(first));
      case 'GET runs/:/overview':
        return sendJson(
          request,
          response,
          data.overview(first, parseQuery(z.object({ x: sizeMetric }), url).x),
        );
      case 'GET runs/:/candidates': {
        const query = parseQuery(candidateQuerySchema, url);
        return sendJson(
          request,
          response,
          data.candidatePage(first, {
            offset: query.offset,
            limit: query.limit,
            sort: query.sort,
            descending: query.dir === 'desc',
            ...(query.status !== undefined ? { status: query.status } : {}),
            ...(query.generation !== undefined ? { generation: query.generation } : {}),
          }),
        );
      }
      case 'POST runs/:/stop':
        requireJsonBody(request);
        return sendJson(request, response, requestStop(data, first), 202);
      case 'GET candidates/:':
        return sendJson(
          request,
          response,
          data.candidate(first, (candidate, format) => exportHref(candidate.id, format.format)),
        );
      case 'GET candidates/:/export/:': {
        const candidate = data.candidateRecord(first);
        const format = CANDIDATE_EXPORTS.find((f) => f.format === third);
        if (format === undefined || !format.available(candidate)) {
          throw new DashboardRequestError(
            `no export "${third}" for ${candidate.id}; there are: ${CANDIDATE_EXPORTS.filter((f) =>
              f.available(candidate),
            )
              .map((f) => f.format)
              .join(', ')}`,
            404,
          );
        }
        const body = await format.render(candidate);
        response.writeHead(200, {
          'Content-Type': format.contentType,
          'Content-Disposition': `attachment; filename="${format.filename(candidate)}"`,
          'Cache-Control': 'no-store',
        });
        response.end(body);
        return;
      }
      case 'GET compare': {
        const query = parseQuery(compareQuerySchema, url);
        return sendJson(request, response, data.compare(query.runs, query.x));
      }
      default:
        throw new DashboardRequestError(`no API route ${method} ${url.pathname}`, 404);
    }
  };

  const requestedHost = options.host ?? '127.0.0.1';
  const token = isLoopback(requestedHost) ? null : newDashboardToken();
  // Set once the server listens (its port is known then).
  const listening: { trust?: RequestTrust } = {};
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    const handle = (async () => {
      const { trust } = listening;
      if (trust === undefined) throw new DashboardRequestError('the dashboard is starting', 503);
      checkRequest(trust, request.method ?? 'GET', request.headers);
      if (url.pathname.startsWith('/api/')) return api(request, response, url);
      return serveStatic(webRoot, url.pathname, request, response);
    })();
    handle.catch((error: unknown) => {
      const status =
        error instanceof DashboardRequestError
          ? error.status
          : error instanceof URIError
            ? 400
            : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) log(`dashboard: ${request.method} ${url.pathname}: ${message}`);
      if (response.headersSent) {
        response.end();
        return;
      }
      sendJson(request, response, { error: message } satisfies ApiError, status);
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, requestedHost, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  }).catch((error: unknown) => {
    data.close();
    throw error;
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const shown = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : host;
  // Bound to a name that resolved to loopback (localhost): still no token.
  const boundToken = isLoopback(address.address) ? null : token;
  listening.trust = requestTrust({
    address: address.address,
    port: address.port,
    requestedHost,
    ...(options.allowedHosts !== undefined ? { extraHosts: options.allowedHosts } : {}),
    token: boundToken,
  });
  const url = `http://${shown}:${address.port}/`;
  return {
    url,
    token: boundToken,
    pageUrl: boundToken === null ? url : `${url}?token=${boundToken}`,
    close: async () => {
      live.close();
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      data.close();
    },
  };
}

function exportHref(candidateId: string, format: string): string {
  return `/api/candidates/${encodeURIComponent(candidateId)}/export/${encodeURIComponent(format)}`;
}

/**
 * Cross-site forms cannot send JSON without the browser asking first (and this server never
 * says yes), so requiring it keeps other web pages from stopping runs.
 */
function requireJsonBody(request: IncomingMessage): void {
  const type = request.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new DashboardRequestError('send this request with Content-Type: application/json', 415);
  }
}

/** Records that a run should stop; the search sees it between evaluations. */
function requestStop(data: DashboardData, idOrName: string): { requested: true; run: string } {
  const run = data.run(idOrName);
  if (run.status !== 'running') {
    throw new DashboardRequestError(`run ${run.name ?? run.id} is ${run.status}, not running`, 409);
  }
  const store = RunStore.open(data.storePath);
  try {
    store.logEvent(run.id, STOP_REQUESTED_EVENT, 'stop requested from the dashboard');
  } finally {
    store.close();
  }
  return { requested: true, run: run.id };
}

function sendJson(
  request: IncomingMessage,
  response: ServerResponse,
  value: unknown,
  status = 200,
): void {
  const body = Buffer.from(JSON.stringify(value));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  };
  const gzip = body.length > 8192 && /\bgzip\b/.test(String(request.headers['accept-encoding']));
  if (gzip) headers['Content-Encoding'] = 'gzip';
  response.writeHead(status, headers);
  response.end(gzip ? gzipSync(body, { level: 1 }) : body);
}

/** Files of the built front end; `/` is index.html; nothing outside the folder is served. */
function serveStatic(
  webRoot: string,
  pathname: string,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    throw new DashboardRequestError(`${request.method} is not allowed here`, 405);
  }
  const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).slice(1);
  const file = resolve(webRoot, relative);
  const type = CONTENT_TYPES[extname(file)];
  if (
    !file.startsWith(webRoot + sep) ||
    type === undefined ||
    !existsSync(file) ||
    !statSync(file).isFile()
  ) {
    throw new DashboardRequestError(`no file ${pathname}`, 404);
  }
  response.writeHead(200, {
    'Content-Type': type,
    'Cache-Control': relative === 'index.html' ? 'no-cache' : 'max-age=60',
  });
  response.end(request.method === 'HEAD' ? undefined : readFileSync(file));
}
