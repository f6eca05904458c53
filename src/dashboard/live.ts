/**
 * The live feed: server-sent events that push what changed in the store. While anyone listens,
 * the server polls SQLite's `data_version` (which moves when another connection commits) every
 * `intervalMs`, and on a change sends one `delta` event with the runs and candidates that moved.
 */
import type { ServerResponse } from 'node:http';
import type { LiveDelta } from './api-types.js';
import type { DashboardData, LiveCursor } from './queries.js';

const HEARTBEAT_MS = 15_000;

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private cursor: LiveCursor | undefined;
  private version = -1;

  constructor(
    private readonly data: DashboardData,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Turns the response into an event stream; the first event, `hello`, says it is connected. */
  attach(response: ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.write('retry: 2000\n\nevent: hello\ndata: {}\n\n');
    if (this.clients.size === 0) this.start();
    this.clients.add(response);
    response.on('close', () => {
      this.clients.delete(response);
      if (this.clients.size === 0) this.stop();
    });
  }

  /** Ends every stream and stops polling. */
  close(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.stop();
  }

  private start(): void {
    this.cursor = this.data.liveCursor();
    this.version = this.data.dataVersion();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.heartbeat = setInterval(() => this.send(': ping\n\n'), HEARTBEAT_MS);
  }

  private stop(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    this.cursor = undefined;
  }

  private poll(): void {
    if (this.cursor === undefined) return;
    try {
      const version = this.data.dataVersion();
      if (version === this.version) return;
      this.version = version;
      const { delta, cursor } = this.data.changesSince(this.cursor);
      this.cursor = cursor;
      if (delta.runs.length > 0 || delta.candidates.length > 0 || delta.truncated) {
        this.send(`event: delta\ndata: ${JSON.stringify(delta satisfies LiveDelta)}\n\n`);
      }
    } catch (error) {
      this.onError(error);
    }
  }

  private send(text: string): void {
    for (const client of this.clients) client.write(text);
  }
}
