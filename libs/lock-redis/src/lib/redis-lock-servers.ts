// The Redis servers behind one lock-service instance, kept so that only
// servers holding every fence a majority relied on count: a server that
// lost its mark (server-marks.ts says why and when) is restored from a
// majority of marked servers and marked again, and the servers of a new
// cluster are marked. Restores are idempotent (counters only rise, a holder
// is only replaced by a higher token), so instances may run them at once.
import { UnavailableError } from '@bulwark/errors';
import { planMarks, type MarkPlan, type ServerMarkView } from './server-marks';
import { RedisLockServer, type RedisLockServerOptions, type ServerMark } from './redis-lock-server';

/** After a plan that waits or a restore that failed, the next try while a server still lacks its mark: doubling from the least to the most. */
const retryMsMin = 500;
const retryMsMax = 5_000;

export type ServerMarkReport =
  | { readonly kind: 'new-cluster'; readonly servers: readonly string[] }
  | { readonly kind: 'restoring'; readonly server: string; readonly sources: readonly string[] }
  | { readonly kind: 'restored'; readonly server: string; readonly keys: number; readonly sources: readonly string[] }
  | { readonly kind: 'restore-failed'; readonly server: string; readonly problem: string }
  /** lost: a majority lost its data (an operator must act); otherwise too few servers answer yet. */
  | { readonly kind: 'waiting'; readonly servers: readonly string[]; readonly reason: string; readonly lost: boolean };

export interface RedisLockServersOptions {
  readonly servers: ReadonlyArray<Omit<RedisLockServerOptions, 'connectTimeoutMs' | 'reconnectDelayMsMax'>>;
  readonly connectTimeoutMs?: number;
  readonly reconnectDelayMsMax?: number;
  /** How long one call of a restore to one server may take. */
  readonly callTimeoutMs?: number;
  /** Told of new clusters, restores and servers left out; a 'waiting' report only when its reason changes. */
  readonly onReport?: (report: ServerMarkReport) => void;
}

const defaultCallTimeoutMs = 2_000;

export class RedisLockServers {
  readonly servers: readonly RedisLockServer[];
  private readonly callTimeoutMs: number;
  private readonly onReport: (report: ServerMarkReport) => void;
  private readonly everMarked = new Set<string>();
  private readonly stopListening: Array<() => void> = [];
  private settling: Promise<void> | undefined;
  private settleAgain = false;
  private retry: NodeJS.Timeout | undefined;
  private lastWaitReason: string | undefined;
  private retryMs = retryMsMin;
  private closed = false;

  constructor(options: RedisLockServersOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? defaultCallTimeoutMs;
    this.onReport = options.onReport ?? (() => undefined);
    this.servers = options.servers.map(
      (server) =>
        new RedisLockServer({
          ...server,
          connectTimeoutMs: options.connectTimeoutMs,
          reconnectDelayMsMax: options.reconnectDelayMsMax,
        }),
    );
    for (const server of this.servers) {
      this.stopListening.push(
        server.onMarkChange((mark) => {
          if (mark?.marked) this.everMarked.add(server.id);
          this.settle();
        }),
      );
    }
  }

  /** How many servers a grant needs. */
  get majority(): number {
    return Math.floor(this.servers.length / 2) + 1;
  }

  /** Resolves true once a majority of servers is connected with its mark, false at the timeout. */
  waitUntilCounted(timeoutMs: number): Promise<boolean> {
    const counted = () => this.servers.filter((server) => server.checkedMark?.marked).length >= this.majority;
    if (counted()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const stops = this.servers.map((server) =>
        server.onMarkChange(() => {
          if (counted()) finish(true);
        }),
      );
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (result: boolean) => {
        clearTimeout(timer);
        for (const stop of stops) stop();
        resolve(result);
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    for (const stop of this.stopListening) stop();
    await Promise.all(this.servers.map((server) => server.close()));
    await this.settling;
  }

  /** Runs the plan for the servers as checked now; one run at a time, and once more if anything changed during it. */
  private settle(): void {
    if (this.closed) return;
    if (this.settling) {
      this.settleAgain = true;
      return;
    }
    clearTimeout(this.retry);
    this.settling = (async () => {
      do {
        this.settleAgain = false;
        const views = this.servers.map((server) => this.viewOf(server));
        const done = await this.carryOut(planMarks(views));
        // Back off while a server stays without its mark: a restore that keeps failing rescans its sources.
        this.retryMs = done ? retryMsMin : Math.min(this.retryMs * 2, retryMsMax);
        if (!done && !this.settleAgain && !this.closed) this.retry = setTimeout(() => this.retrySettle(), this.retryMs);
      } while (this.settleAgain && !this.closed);
    })().finally(() => {
      this.settling = undefined;
    });
  }

  /** Checks the servers without a mark again (another instance may have marked them), then settles. */
  private retrySettle(): void {
    for (const server of this.servers) {
      if (server.checkedMark?.marked === false) server.recheckMark();
    }
    this.settle();
  }

  private viewOf(server: RedisLockServer): ServerMarkView {
    const mark: ServerMark | undefined = server.checkedMark;
    return {
      id: server.id,
      checked: mark !== undefined,
      marked: mark?.marked ?? false,
      suspect: mark?.suspect ?? false,
      everMarked: this.everMarked.has(server.id),
    };
  }

  /** Carries out plan; false when a server is still left without its mark. */
  private async carryOut(plan: MarkPlan): Promise<boolean> {
    if (plan.kind !== 'wait') this.lastWaitReason = undefined;
    switch (plan.kind) {
      case 'none':
        return true;
      case 'wait':
        if (plan.reason !== this.lastWaitReason) {
          this.lastWaitReason = plan.reason;
          this.onReport({ kind: 'waiting', servers: plan.targets, reason: plan.reason, lost: plan.lost });
        }
        return false;
      case 'new-cluster': {
        const marked = await Promise.all(
          plan.servers.map((id) => {
            const server = this.serverOf(id);
            return server.markNew(server.connectionNumber, this.callTimeoutMs).catch(() => false);
          }),
        );
        this.onReport({ kind: 'new-cluster', servers: plan.servers.filter((_, index) => marked[index]) });
        // Not marked now: marked meanwhile by another instance (the next check says so), or it failed (retried).
        return marked.every(Boolean);
      }
      case 'restore': {
        let done = true;
        for (const target of plan.targets) {
          if (this.closed) return false;
          try {
            // Not done while another instance restores it: its mark is checked again at the retry.
            if (!(await this.restore(this.serverOf(target), plan.sources))) done = false;
          } catch (error) {
            done = false;
            this.onReport({
              kind: 'restore-failed',
              server: target,
              problem: error instanceof Error ? error.message : String(error),
            });
          }
        }
        return done;
      }
    }
  }

  /**
   * Copies every counter and holder from a majority of marked sources to
   * target, then marks target. Every read of a source is on the connection
   * its mark was checked on, and its mark must read the same once all is
   * read (a source that restarted or lost its mark meanwhile may have given
   * less than it held); every write to target is on its checked connection
   * and under the restore's nonce, which an emptied target no longer has.
   */
  private async restore(target: RedisLockServer, sourceIds: readonly string[]): Promise<boolean> {
    const connection = target.connectionNumber;
    const sources = sourceIds.slice(0, this.majority).map((id) => {
      const source = this.serverOf(id);
      return { source, connection: source.connectionNumber, mark: source.checkedMark?.value };
    });
    const ids = sources.map(({ source }) => source.id);
    const begun = await target.beginRestore(connection, this.callTimeoutMs);
    if (begun === 'marked') return true;
    if (begun === 'busy') return false;
    this.onReport({ kind: 'restoring', server: target.id, sources: ids });
    let keys = 0;
    for (const { source, connection: sourceConnection } of sources) {
      let cursor = '0';
      do {
        const step = await source.scanLockKeys(cursor, sourceConnection, this.callTimeoutMs);
        cursor = step.cursor;
        const restorable = await source.readRestorable(step.keys, sourceConnection, this.callTimeoutMs);
        if ((await target.restore(restorable, begun.nonce, connection, this.callTimeoutMs)) === 'marked') return true;
        keys += restorable.length;
      } while (cursor !== '0');
    }
    for (const { source, connection: sourceConnection, mark } of sources) {
      if (mark === undefined || (await source.markValue(sourceConnection, this.callTimeoutMs)) !== mark) {
        source.recheckMark();
        throw new UnavailableError(`source ${source.id} lost or changed its mark while read; restoring again`);
      }
    }
    await target.markRestored(begun.nonce, connection, this.callTimeoutMs);
    this.onReport({ kind: 'restored', server: target.id, keys, sources: ids });
    return true;
  }

  private serverOf(id: string): RedisLockServer {
    const server = this.servers.find((candidate) => candidate.id === id);
    if (server === undefined) throw new Error(`no lock server ${id}`);
    return server;
  }
}
