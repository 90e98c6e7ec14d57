// The chaos run's clients: each loops over a seeded mix of sync Puts (every
// value unique, so a read names the write it saw), STRONG Gets and sync
// Deletes on a small key set, through the routers with the KV client, and
// records every call in the run's history. A write's error leaves its
// outcome unknown unless the store refused it (the client's request id makes
// a retried write answer with the first outcome, so a refusal is final); a
// read's error is a failure: it changed nothing.
import { BulwarkError, FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import type { ChaosRecorder } from '@bulwark/chaos-history';
import type { KvClient, ResponseHeader } from '@bulwark/kv-client';
import { seededUniform } from '@bulwark/random';

export interface KvWorkloadOptions {
  readonly seed: number;
  readonly clients: number;
  /** Keys `chaos/0` .. `chaos/<keys - 1>`. */
  readonly keys: number;
  /** Shares of each operation; they need not add up to 1. */
  readonly mix: { readonly put: number; readonly get: number; readonly delete: number };
  /** A call's deadline, retries included. */
  readonly callTimeoutMs: number;
}

export function workloadKeys(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `chaos/${index}`);
}

function refused(error: unknown): boolean {
  return error instanceof InvalidArgumentError || error instanceof FailedPreconditionError;
}

/** Where in its group's log a write was committed, for the write-positions checker; none when not told. */
function logPositionOf(header: ResponseHeader): { epoch?: bigint; sequence?: bigint } {
  return header.epoch > 0n && header.sequence > 0n ? { epoch: header.epoch, sequence: header.sequence } : {};
}

function describe(error: unknown): string {
  return error instanceof BulwarkError ? `${error.kind}: ${error.message}` : String(error);
}

export class KvWorkload {
  private running = true;
  private readonly loops: Promise<void>[];
  completed = 0;

  constructor(
    private readonly client: KvClient,
    private readonly recorder: ChaosRecorder,
    private readonly options: KvWorkloadOptions,
  ) {
    this.loops = Array.from({ length: options.clients }, (_, index) => this.loop(index));
  }

  /** Lets every client finish the call it is in, then resolves. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(index: number): Promise<void> {
    const client = `client-${index}`;
    const random = seededUniform(this.options.seed * 1_000 + index);
    const keys = workloadKeys(this.options.keys);
    const { put, get } = this.options.mix;
    const total = put + get + this.options.mix.delete;
    for (let sequence = 0; this.running; sequence++) {
      const key = keys[Math.floor(random() * keys.length)] as string;
      const draw = random() * total;
      if (draw < put) await this.put(client, key, `${client}-${sequence}`);
      else if (draw < put + get) await this.get(client, key);
      else await this.delete(client, key);
      this.completed++;
    }
  }

  private async put(client: string, key: string, value: string): Promise<void> {
    const pending = this.recorder.invoke(client, { kind: 'put', key, value, durability: 'sync' });
    try {
      const result = await this.client.put(key, value, { durability: 'sync', timeoutMs: this.options.callTimeoutMs });
      pending.ok({
        kind: 'put',
        succeeded: result.succeeded,
        version: result.version,
        group: result.header.groupId,
        ...logPositionOf(result.header),
      });
    } catch (error) {
      if (refused(error)) pending.fail(describe(error));
      else pending.unknown(describe(error));
    }
  }

  private async get(client: string, key: string): Promise<void> {
    const pending = this.recorder.invoke(client, { kind: 'get', key, consistency: 'strong' });
    try {
      const result = await this.client.get(key, { consistency: 'strong', timeoutMs: this.options.callTimeoutMs });
      pending.ok({
        kind: 'get',
        value: result.kv ? result.kv.value.toString() : null,
        version: result.kv?.version ?? 0n,
        member: result.header.memberId,
      });
    } catch (error) {
      pending.fail(describe(error));
    }
  }

  private async delete(client: string, key: string): Promise<void> {
    const pending = this.recorder.invoke(client, { kind: 'delete', key, durability: 'sync' });
    try {
      const result = await this.client.delete(key, { durability: 'sync', timeoutMs: this.options.callTimeoutMs });
      pending.ok({
        kind: 'delete',
        succeeded: result.succeeded,
        existed: result.existed,
        group: result.header.groupId,
        ...logPositionOf(result.header),
      });
    } catch (error) {
      if (refused(error)) pending.fail(describe(error));
      else pending.unknown(describe(error));
    }
  }
}
