/**
 * Redis connections of the queue: checking that a server answers (with an error a user can act on
 * when it does not), connection options for BullMQ, and the heartbeat keys of the workers.
 */
import { Redis } from 'ioredis';

/** Redis does not answer: the message says where, why, and what to do. */
export class QueueUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUnavailableError';
  }
}

/** How long a connection attempt may take before Redis counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** `redis://host:port` (or `rediss://`), checked; credentials are kept out of messages. */
export function parseRedisUrl(url: string): { url: string; display: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueUnavailableError(`invalid queue URL "${url}": write redis://host:port`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new QueueUnavailableError(`invalid queue URL "${url}": write redis://host:port`);
  const display = `${parsed.protocol}//${parsed.host || 'localhost'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  return { url, display };
}

/** Why a connection failed, in words. */
export function describeConnectionError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ETIMEDOUT':
      return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  if (/NOAUTH|WRONGPASS|invalid password/i.test(message))
    return `authentication failed (${message}); put the password in the URL: redis://:password@host:port`;
  if (/connect ETIMEDOUT|timed? ?out/i.test(message))
    return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  return message;
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Whether an error says that the connection to Redis is down (rather than a command failing). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /Connection is closed|Stream isn't writeable|max retries per request/i.test(message);
}

/**
 * Opens a connection and checks that Redis answers, or throws a {@link QueueUnavailableError}
 * saying where, why and `advice`. Once connected, the client reconnects in the background when
 * the connection drops, but its commands fail at once while it is down (no offline queue), so a
 * `ping()` tells whether Redis answers now. The caller closes the client.
 */
export async function connectChecked(url: string, advice: string): Promise<Redis> {
  const { display } = parseRedisUrl(url);
  let established = false;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (times) => (established ? Math.min(times * 250, 2_000) : null),
  });
  // connect() rejects with a bare "Connection is closed": the cause comes as an 'error' event
  // (without a listener, that event would end the process).
  let cause: unknown;
  client.on('error', (error) => {
    cause ??= error;
    lastErrors.set(client, error);
  });
  client.on('ready', () => lastErrors.delete(client));
  try {
    await client.connect();
    await client.ping();
    established = true;
    return client;
  } catch (error) {
    client.disconnect();
    throw new QueueUnavailableError(
      `cannot reach Redis at ${display}: ${describeConnectionError(cause ?? error)}; ${advice}`,
    );
  }
}

const lastErrors = new WeakMap<Redis, unknown>();

/**
 * Why a client from {@link connectChecked} is disconnected (e.g. ECONNREFUSED while it tries to
 * reconnect), or undefined while it is connected.
 */
export function lastConnectionError(client: Redis): unknown {
  return lastErrors.get(client);
}

/** Whether Redis answers a PING on `client` now. */
export async function answers(client: Redis): Promise<boolean> {
  try {
    await client.ping();
    return true;
  } catch {
    return false;
  }
}

/** Prefix of the heartbeat keys of the workers of `queueName`. */
export function heartbeatPrefix(queueName: string): string {
  return `nascent:workers:${queueName}:`;
}
