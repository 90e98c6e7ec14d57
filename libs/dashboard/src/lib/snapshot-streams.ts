// The server-sent event streams of api/events: each viewer gets the whole
// snapshot when it connects and again on every update. Updates are pushed at
// most once per pushIntervalMsMin, the latest one winning (a burst of
// heartbeats in the monitor sends one snapshot, not hundreds), serialised
// once for all viewers. Every resource has a bound: viewers (clientsMax),
// bytes queued for one viewer (bufferedBytesMax: a viewer that cannot keep up
// is dropped, and its EventSource reconnects to a fresh snapshot).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@bulwark/logging';
import type { DashboardSnapshot, DashboardSource } from './dashboard-snapshot';

export interface SnapshotStreamLimits {
  /** Open streams at most; one more is answered 503. */
  clientsMax: number;
  /** The shortest time between two pushes of an update. */
  pushIntervalMsMin: number;
  /** A comment line this often keeps proxies and NATs from closing an idle stream. */
  heartbeatIntervalMs: number;
  /** Bytes queued for one viewer at most before it is dropped as too slow. */
  bufferedBytesMax: number;
}

export const defaultSnapshotStreamLimits: SnapshotStreamLimits = {
  clientsMax: 64,
  pushIntervalMsMin: 500,
  heartbeatIntervalMs: 15_000,
  bufferedBytesMax: 4 * 1024 * 1024,
};

/** How long a browser waits before reconnecting a dropped stream. */
const reconnectDelayMs = 2_000;

function snapshotEvent(snapshot: DashboardSnapshot): string {
  // JSON.stringify escapes line breaks, so the snapshot is one data line.
  return `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

export class SnapshotStreams {
  private readonly clients = new Set<ServerResponse>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private pending: DashboardSnapshot | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private lastPushMs = -Infinity;
  private closed = false;

  constructor(
    private readonly source: DashboardSource,
    private readonly limits: SnapshotStreamLimits,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = source.subscribe((snapshot) => this.update(snapshot));
    this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), limits.heartbeatIntervalMs);
  }

  get openStreams(): number {
    return this.clients.size;
  }

  /** Starts a stream on res; false (nothing written) when the bound is reached or the server is closing. */
  open(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): boolean {
    if (this.closed || this.clients.size >= this.limits.clientsMax) return false;
    const first = snapshotEvent(this.source.snapshot());
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // Tells nginx-like proxies to pass events on at once instead of buffering them.
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${reconnectDelayMs}\n\n${first}`);
    this.clients.add(res);
    res.once('close', () => this.clients.delete(res));
    this.logger.debug({ viewer: req.socket.remoteAddress, streams: this.clients.size }, 'dashboard stream opened');
    return true;
  }

  /** Ends every stream and resolves once each has closed; no stream opens after. */
  close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.heartbeat);
    clearTimeout(this.pushTimer);
    // The set holds open streams only: each leaves it on its 'close'.
    const closing = [...this.clients].map((res) => new Promise((resolve) => res.once('close', resolve)));
    for (const res of this.clients) {
      // A viewer behind on reading would hold the close up until its queue
      // drained, which may be never: it is cut off instead of ended.
      if (res.writableLength > 0) res.destroy();
      else res.end();
    }
    return Promise.all(closing).then(() => undefined);
  }

  private update(snapshot: DashboardSnapshot): void {
    this.pending = snapshot;
    if (this.pushTimer || this.closed) return;
    const waitMs = this.lastPushMs + this.limits.pushIntervalMsMin - performance.now();
    if (waitMs <= 0) {
      this.pushPending();
      return;
    }
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.pushPending();
    }, waitMs);
  }

  private pushPending(): void {
    const snapshot = this.pending;
    this.pending = undefined;
    if (!snapshot || this.clients.size === 0) return;
    this.lastPushMs = performance.now();
    this.broadcast(snapshotEvent(snapshot));
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.limits.bufferedBytesMax) {
        this.logger.warn(
          { viewer: res.req.socket.remoteAddress, queuedBytes: res.writableLength },
          'dashboard viewer too slow: stream dropped',
        );
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }
}
