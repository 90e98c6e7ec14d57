// replication.v1.Replication on a replica group member: the Replicate
// streams (replication-transport.ts), the primary's snapshot for a backup
// too far behind, and the durable state the coordinator chooses a new
// primary by.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { replicationV1, type commonV1 } from '@bulwark/contracts';
import { FailedPreconditionError, InvalidArgumentError, NotLeaderError } from '@bulwark/errors';
import type { KvState } from '@bulwark/kv-state';
import type { ReplicaStorage, SnapshotPoint } from '@bulwark/replica-storage';
import type { ReplicaNode } from '@bulwark/replication';
import { createClient, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';
import { bufferOf } from '@bulwark/shard-codec';
import type { ReplicationTransport } from './replication-transport';

export interface ReplicationServiceOptions {
  readonly memberId: string;
  readonly groupId: string;
  readonly node: () => ReplicaNode;
  /** The applied state readers read (replaced on a restore or reset: asked for at each call). */
  readonly state: () => KvState;
  readonly storage: ReplicaStorage;
  readonly transport: ReplicationTransport;
  /** The monotonic clock staleness is counted on. */
  readonly clockMs: () => number;
}

function requireGroup(groupId: string, served: string): void {
  if (groupId === '') throw new InvalidArgumentError('group_id', 'is required');
  if (groupId !== served) {
    throw new FailedPreconditionError('group_id', `this member serves group '${served}', not '${groupId}'`);
  }
}

export function replicationService(kit: HandlerKit, options: ReplicationServiceOptions): ServiceBinding {
  const header = (node: ReplicaNode, sequence: bigint): commonV1.ResponseHeader => ({
    memberId: options.memberId,
    epoch: node.epoch,
    ballot: undefined,
    revision: 0n,
    sequence,
    groupId: options.groupId,
  });

  const implementation: replicationV1.ReplicationServer = {
    replicate: options.transport.replicateHandler(kit),

    fetchSnapshot: kit.serverStream(
      async (
        request: replicationV1.FetchSnapshotRequest,
        call: ServerWritableStream<replicationV1.FetchSnapshotRequest, replicationV1.FetchSnapshotResponse>,
      ) => {
        requireGroup(request.groupId, options.groupId);
        const node = options.node();
        if (node.role !== 'primary') throw new NotLeaderError(node.primary || undefined);
        if (request.epoch !== node.epoch) {
          throw new FailedPreconditionError('epoch', `is ${request.epoch}, but this primary leads epoch ${node.epoch}`);
        }
        const snapshot = options.storage.openSnapshot();
        if (!snapshot)
          throw new FailedPreconditionError('epoch', 'this primary has no snapshot yet; catch up from its log');
        const { meta } = snapshot;
        let offset = 0n;
        let first = true;
        for await (const data of snapshot.chunks()) {
          if (call.cancelled) break;
          const response: replicationV1.FetchSnapshotResponse = {
            header: header(node, meta.lastSequence),
            lastSequence: meta.lastSequence,
            lastEpoch: meta.lastEpoch,
            epochStarts: first ? [...meta.epochStarts] : [],
            offset,
            data: bufferOf(data),
            done: false,
            checksum: 0,
          };
          first = false;
          offset += BigInt(data.byteLength);
          if (!call.write(response)) await new Promise((resolve) => call.once('drain', resolve));
        }
        call.write({
          header: header(node, meta.lastSequence),
          lastSequence: meta.lastSequence,
          lastEpoch: meta.lastEpoch,
          epochStarts: first ? [...meta.epochStarts] : [],
          offset,
          data: Buffer.alloc(0),
          done: true,
          checksum: meta.checksum,
        });
      },
    ),

    getDurableState: kit.unary((request: replicationV1.GetDurableStateRequest) => {
      requireGroup(request.groupId, options.groupId);
      const node = options.node();
      const state = node.durableState();
      return {
        header: header(node, state.lastSequence),
        durableSequence: state.lastSequence,
        lastEpoch: state.lastEpoch,
      };
    }),

    getStatus: kit.unary((request: replicationV1.GetStatusRequest): replicationV1.GetStatusResponse => {
      requireGroup(request.groupId, options.groupId);
      const node = options.node();
      const nowMs = options.clockMs();
      const stalenessMs = node.stalenessMs(nowMs);
      // The applied sequence and the digest come from one state in one synchronous turn, so they
      // agree. The state's, not the core's: the runner applies a Ready's committed entries before
      // its disk write and tells the core only after it (ReplicaRunner.handle), so in between the
      // core's applied sequence lags the state's.
      const state = options.state();
      const appliedSequence = state.appliedSequence;
      return {
        header: header(node, appliedSequence),
        role: node.role,
        primaryId: node.primary,
        lastSequence: node.lastSequence,
        durableSequence: node.durableSequence,
        commitSequence: node.commitSequence,
        appliedSequence,
        ...(Number.isFinite(stalenessMs) ? { stalenessMs: BigInt(Math.max(0, Math.round(stalenessMs))) } : {}),
        backups: node.backupLag().map((lag) => ({
          memberId: lag.memberId,
          inSync: lag.inSync,
          ackedSequence: lag.ackedSequence,
          lagEntries: lag.lagEntries,
          lagMs: BigInt(Math.round(lag.lagMs)),
        })),
        // O(state size), about a snapshot's cost: only when asked (`bulwark status` never does).
        ...(request.includeStateDigest ? { stateDigest: state.digest() } : {}),
      };
    }),
  };
  return { definition: replicationV1.ReplicationService, implementation };
}

/**
 * Fetches `from`'s snapshot for epoch `epoch`: the point it covers and its
 * chunks as they arrive. The caller installs it (the storage checks the
 * checksum the primary sends with the last chunk).
 */
export async function fetchSnapshot(
  address: string,
  request: replicationV1.FetchSnapshotRequest,
  deadlineMs: number,
): Promise<{ point: SnapshotPoint; chunks: AsyncIterable<Uint8Array> }> {
  const client = createClient(replicationV1.ReplicationClient, address);
  const stream = client.fetchSnapshot(request, { deadline: Date.now() + deadlineMs });
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<replicationV1.FetchSnapshotResponse>;
  const first = await iterator.next();
  if (first.done) {
    client.close();
    throw new FailedPreconditionError('snapshot', `${address} sent no snapshot`);
  }
  const head = first.value;
  const point: SnapshotPoint = {
    lastSequence: head.lastSequence,
    lastEpoch: head.lastEpoch,
    epochStarts: head.epochStarts,
  };
  async function* chunks(): AsyncIterable<Uint8Array> {
    try {
      let current: replicationV1.FetchSnapshotResponse = head;
      for (;;) {
        if (current.data.byteLength > 0) yield current.data;
        if (current.done) return;
        const next = await iterator.next();
        if (next.done)
          throw new FailedPreconditionError('snapshot', `${address} ended the snapshot before its last chunk`);
        current = next.value;
      }
    } finally {
      client.close();
    }
  }
  return { point, chunks: chunks() };
}
