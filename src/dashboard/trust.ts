/**
 * Which requests the dashboard answers.
 *
 * - **Host.** A request must name the dashboard's own address in its `Host` header. A web page
 *   that points a name of its own at this machine (DNS rebinding) sends that name, so it can
 *   neither read the store nor stop a run. Bound to loopback, `localhost`, `127.0.0.1` and
 *   `[::1]` (at the same port) are the dashboard's names too; bound to every interface, each
 *   interface's address and the machine's host name are.
 * - **Origin.** A request that changes something (any method but GET, HEAD and OPTIONS) that
 *   carries an `Origin` must come from the dashboard's own origin.
 * - **Token.** Bound beyond loopback, anyone on the network reaches the dashboard, so a change
 *   needs the token made at start (printed with the URL, sent as `Authorization: Bearer TOKEN`
 *   or `X-Nascent-Token: TOKEN`; the front end sends the one in its page's `?token=`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv6 } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { DashboardRequestError } from './queries.js';

/** What the dashboard accepts, fixed once it listens. */
export interface RequestTrust {
  /** `Host` values accepted (lower case, `name:port`). */
  readonly hosts: ReadonlySet<string>;
  /** The address shown in messages, `name:port`. */
  readonly shownHost: string;
  /** The token a change needs, or null (bound to loopback). */
  readonly token: string | null;
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`. */
export function isLoopback(address: string): boolean {
  const plain = address.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    plain === 'localhost' ||
    plain === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(plain) ||
    /^::ffff:127\.\d+\.\d+\.\d+$/.test(plain)
  );
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** An address as it appears in a `Host` header: IPv6 in brackets, lower case. */
function hostName(address: string): string {
  const plain = address.toLowerCase().replace(/^\[|\]$/g, '');
  return isIPv6(plain) ? `[${plain}]` : plain;
}

/** A new token for a dashboard bound beyond loopback. */
export function newDashboardToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * What a dashboard listening on `address`:`port` (as the server reports it; `requestedHost` as
 * the user gave it) accepts. `extraHosts` are further names it is reached by (a DNS name).
 */
export function requestTrust(options: {
  readonly address: string;
  readonly port: number;
  readonly requestedHost: string;
  readonly extraHosts?: readonly string[];
  readonly token: string | null;
}): RequestTrust {
  const { address, port } = options;
  const names = new Set<string>([hostName(address), hostName(options.requestedHost)]);
  for (const extra of options.extraHosts ?? []) names.add(hostName(extra));
  const loopback = isLoopback(address);
  if (loopback || isWildcard(address)) {
    for (const name of ['localhost', '127.0.0.1', '[::1]']) names.add(name);
  }
  if (!loopback) names.add(hostName(hostname()));
  if (isWildcard(address)) {
    for (const entries of Object.values(networkInterfaces())) {
      for (const entry of entries ?? []) names.add(hostName(entry.address));
    }
  }
  names.delete(hostName('0.0.0.0'));
  names.delete(hostName('::'));
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${port}`);
    if (port === 80) hosts.add(name);
  }
  const shown = isWildcard(address) ? 'localhost' : hostName(address);
  return { hosts, shownHost: `${shown}:${port}`, token: options.token };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries, from `Authorization: Bearer` or `X-Nascent-Token`. */
function requestToken(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(headers, 'authorization') ?? '');
  return bearer?.[1] ?? header(headers, 'x-nascent-token')?.trim();
}

/** Throws DashboardRequestError (421 or 403) for a request the dashboard must not answer. */
export function checkRequest(
  trust: RequestTrust,
  method: string,
  headers: IncomingHttpHeaders,
): void {
  const host = header(headers, 'host')?.trim().toLowerCase();
  if (host === undefined || host === '') {
    throw new DashboardRequestError(
      `refused: the request names no Host; this dashboard answers at http://${trust.shownHost}/`,
      421,
    );
  }
  if (!trust.hosts.has(host)) {
    throw new DashboardRequestError(
      `refused: Host "${host}" is not this dashboard's address; open http://${trust.shownHost}/ (a page that reaches the dashboard under another name may be a DNS-rebinding attack; serve --allow-host NAME accepts a name of this machine)`,
      421,
    );
  }
  if (SAFE_METHODS.has(method.toUpperCase())) return;
  const origin = header(headers, 'origin');
  if (origin !== undefined) {
    const from = origin.trim().toLowerCase();
    if (!from.startsWith('http://') || !trust.hosts.has(from.slice('http://'.length))) {
      throw new DashboardRequestError(
        `refused: a change requested from another origin (${origin}); only pages of http://${trust.shownHost} may make one`,
        403,
      );
    }
  }
  if (trust.token !== null) {
    const given = requestToken(headers);
    if (given === undefined || !sameToken(given, trust.token)) {
      throw new DashboardRequestError(
        `refused: this dashboard listens beyond this machine, so a change needs the token printed when it started (open the printed URL with ?token=..., or send Authorization: Bearer TOKEN)`,
        403,
      );
    }
  }
}
