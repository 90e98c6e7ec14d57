// Reads a server-sent event stream (the dashboard's api/events) over plain
// node:http, so a test sees each frame as the server wrote it: events,
// comments (heartbeats) and the retry field.
import { get, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { DashboardSnapshot } from '../lib/dashboard-snapshot';

/** One block of the stream, up to a blank line; only the fields it had are set. */
export interface ServerSentFrame {
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

function parseFrame(block: string): ServerSentFrame {
  const frame: ServerSentFrame = {};
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === '') frame.comment = value;
    else if (field === 'event' || field === 'data' || field === 'retry') frame[field] = value;
  }
  return frame;
}

export class EventStreamReader {
  private readonly frames: ServerSentFrame[] = [];
  private readonly waiters: Array<() => void> = [];
  private buffered = '';
  private endedWith: Error | undefined;
  /** Resolves when the server ends the stream or the connection closes. */
  readonly ended: Promise<void>;

  private constructor(private readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.buffered += chunk;
      let end: number;
      while ((end = this.buffered.indexOf('\n\n')) !== -1) {
        this.frames.push(parseFrame(this.buffered.slice(0, end)));
        this.buffered = this.buffered.slice(end + 2);
      }
      this.wake();
    });
    this.ended = new Promise((resolve) =>
      response.once('close', () => {
        this.endedWith = new Error('event stream ended');
        this.wake();
        resolve();
      }),
    );
    // A connection the server drops surfaces as an 'aborted' error; the end is what matters.
    response.once('error', () => undefined);
  }

  /** Connects to url; resolves with the reader once the response headers arrived, whatever the status. */
  static open(url: string): Promise<EventStreamReader> {
    return new Promise((resolve, reject) => {
      // A connection of its own (no keep-alive agent), closed when the stream ends.
      get(url, { agent: false, headers: { Accept: 'text/event-stream' } }, (response) =>
        resolve(new EventStreamReader(response)),
      ).once('error', reject);
    });
  }

  get status(): number | undefined {
    return this.response.statusCode;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  /** The next frame that matches, skipping those before it; rejects if the stream ends first. */
  async next(matches: (frame: ServerSentFrame) => boolean = () => true): Promise<ServerSentFrame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame) {
        if (matches(frame)) return frame;
        continue;
      }
      if (this.endedWith) throw this.endedWith;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The data of the next `snapshot` event, parsed. */
  async nextSnapshot(): Promise<DashboardSnapshot> {
    const frame = await this.next((candidate) => candidate.event === 'snapshot');
    return JSON.parse(frame.data ?? '') as DashboardSnapshot;
  }

  /** Stops reading without closing: the server's queue for this viewer grows (and its end goes unseen). */
  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.response.destroy();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
