// The shard.v1 operations of one member, shared by the unary handlers and
// the batched Operate stream: requests checked by @bulwark/shard-codec,
// writes through the runner (answered once applied), reads from the applied
// state when this member qualifies for the consistency asked.
import type { commonV1, shardV1 } from '@bulwark/contracts';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError, withRevision } from '@bulwark/errors';
import type { Command, KvLimits, Outcome } from '@bulwark/kv-state';
import {
  deleteCommand,
  deleteResponse,
  encodeCommand,
  getQuery,
  getResponse,
  putCommand,
  putResponse,
  scanQuery,
  scanResponse,
  txnCommand,
  txnResponse,
  type ReadConsistencyChoice,
  type WriteCommand,
} from '@bulwark/shard-codec';
import type { KvMachine } from './kv-machine';
import type { ReplicaRunner, WriteResult } from './replica-runner';

export interface ShardOperationsOptions {
  readonly memberId: string;
  readonly groupId: string;
  readonly runner: ReplicaRunner<Outcome>;
  readonly machine: KvMachine;
  readonly limits: KvLimits;
  /** The monotonic clock leases and staleness are counted on. */
  readonly clockMs: () => number;
  /** The wall clock a primary stamps entries with (stored, never decided on). */
  readonly wallClockMs: () => number;
  /** The coordinator topology revision this member acts under, stamped on answers and refusals. */
  readonly topologyRevision: () => bigint;
  /**
   * The group the ring of that topology places a key in, or undefined while
   * there is no ring: a key placed elsewhere is refused, so a router with an
   * older ring catches up and sends it to its group instead of leaving it
   * where no reader will look.
   */
  readonly ownerOf?: (key: string) => string | undefined;
}

/**
 * Every answer's header and every refusal's detail carry the topology
 * revision this member acts under, so a router whose copy is older (it sent
 * to a deposed primary, or to the wrong group) catches up before it retries.
 */
export class ShardOperations {
  constructor(private readonly options: ShardOperationsOptions) {}

  put(request: shardV1.PutRequest): Promise<shardV1.PutResponse> {
    return this.stamped(this.putOnce(request));
  }

  delete(request: shardV1.DeleteRequest): Promise<shardV1.DeleteResponse> {
    return this.stamped(this.deleteOnce(request));
  }

  txn(request: shardV1.TxnRequest): Promise<shardV1.TxnResponse> {
    return this.stamped(this.txnOnce(request));
  }

  get(request: shardV1.GetRequest): shardV1.GetResponse {
    try {
      return this.getOnce(request);
    } catch (error) {
      throw withRevision(error, this.options.topologyRevision());
    }
  }

  scan(request: shardV1.ScanRequest): shardV1.ScanResponse {
    try {
      return this.scanOnce(request);
    } catch (error) {
      throw withRevision(error, this.options.topologyRevision());
    }
  }

  private async stamped<T>(answer: Promise<T>): Promise<T> {
    try {
      return await answer;
    } catch (error) {
      throw withRevision(error, this.options.topologyRevision());
    }
  }

  private async putOnce(request: shardV1.PutRequest): Promise<shardV1.PutResponse> {
    this.checkGroup(request.groupId);
    const write = putCommand(request, this.options.limits, this.stamp());
    this.checkOwned(commandKeys(write.command));
    const result = await this.write(write);
    // The key as stored now is sent back only with a failed compare-and-set: no lookup for the rest.
    const failedCompare = result.outcome.kind === 'written' && !result.outcome.succeeded;
    const current = failedCompare ? this.options.machine.state.get(request.request?.key ?? '') : undefined;
    return putResponse(result.outcome, this.header(result.epoch, result.sequence), current);
  }

  private async deleteOnce(request: shardV1.DeleteRequest): Promise<shardV1.DeleteResponse> {
    this.checkGroup(request.groupId);
    const write = deleteCommand(request, this.options.limits, this.stamp());
    this.checkOwned(commandKeys(write.command));
    const result = await this.write(write);
    return deleteResponse(result.outcome, this.header(result.epoch, result.sequence));
  }

  private async txnOnce(request: shardV1.TxnRequest): Promise<shardV1.TxnResponse> {
    this.checkGroup(request.groupId);
    const write = txnCommand(request, this.options.limits, this.stamp());
    this.checkOwned(commandKeys(write.command));
    const result = await this.write(write);
    return txnResponse(result.outcome, this.header(result.epoch, result.sequence), write.command);
  }

  private getOnce(request: shardV1.GetRequest): shardV1.GetResponse {
    this.checkGroup(request.groupId);
    const query = getQuery(request, this.options.limits);
    this.checkOwned([query.key]);
    this.requireReadable(query);
    const { state } = this.options.machine;
    return getResponse(state.get(query.key), this.header(this.options.runner.node.epoch, state.appliedSequence));
  }

  private scanOnce(request: shardV1.ScanRequest): shardV1.ScanResponse {
    this.checkGroup(request.groupId);
    const query = scanQuery(request, this.options.limits);
    this.requireReadable(query);
    const { state } = this.options.machine;
    return scanResponse(state.scan(query.scan), this.header(this.options.runner.node.epoch, state.appliedSequence));
  }

  private write(write: WriteCommand): Promise<WriteResult<Outcome>> {
    return this.options.runner.write(encodeCommand(write.command), write.durability, write.command.fence !== undefined);
  }

  private stamp(): bigint {
    return BigInt(Math.max(0, Math.floor(this.options.wallClockMs())));
  }

  private checkGroup(groupId: string): void {
    if (groupId === '') throw new InvalidArgumentError('group_id', 'is required');
    if (groupId !== this.options.groupId) {
      throw new FailedPreconditionError(
        'group_id',
        `this member serves group '${this.options.groupId}', not '${groupId}': the caller's ring is stale`,
      );
    }
  }

  private checkOwned(keys: readonly string[]): void {
    const { ownerOf, groupId } = this.options;
    if (!ownerOf) return;
    for (const key of keys) {
      const owner = ownerOf(key);
      if (owner === undefined || owner === groupId) continue;
      throw new FailedPreconditionError(
        'group_id',
        `key ${JSON.stringify(key)} belongs to group '${owner}' on this member's ring, not '${groupId}': the caller's ring is stale`,
      );
    }
  }

  /**
   * STRONG: the primary under its lease, once its epoch's first entry is
   * applied. BOUNDED: a member of the in-sync set whose applied state is at
   * most max_staleness_ms behind the primary (or the primary). EVENTUAL: any
   * member.
   */
  private requireReadable(choice: ReadConsistencyChoice): void {
    const { runner } = this.options;
    const node = runner.node;
    const nowMs = this.options.clockMs();
    switch (choice.consistency) {
      case 'strong':
        if (node.canReadStrongly(nowMs)) return;
        if (node.role === 'backup') throw runner.notPrimary(node.primary);
        throw new UnavailableError(
          `this primary cannot serve STRONG reads yet (epoch ${node.epoch}: lease or barrier)`,
        );
      case 'bounded': {
        const inSync = node.role !== 'backup' || (node.view?.inSync.includes(this.options.memberId) ?? false);
        const stalenessMs = node.stalenessMs(nowMs);
        if (inSync && stalenessMs <= choice.maxStalenessMs) return;
        throw new UnavailableError(
          inSync
            ? `this member may be ${Math.round(stalenessMs)} ms behind, over max_staleness_ms ${choice.maxStalenessMs}`
            : 'this member is not in the in-sync set',
        );
      }
      case 'eventual':
        return;
    }
  }

  private header(epoch: bigint, sequence: bigint): commonV1.ResponseHeader {
    return {
      memberId: this.options.memberId,
      epoch,
      ballot: undefined,
      revision: this.options.topologyRevision(),
      sequence,
      groupId: this.options.groupId,
    };
  }
}

/** Every key a write names: the op's key, or a transaction's compares and both branches. */
function commandKeys(command: Command): string[] {
  const body = command.body;
  switch (body.type) {
    case 'op':
      return [body.op.key];
    case 'txn':
      return [
        ...body.compares.map((compare) => compare.key),
        ...[...body.success, ...body.failure].map((op) => op.key),
      ];
    case 'noop':
      return [];
  }
}
