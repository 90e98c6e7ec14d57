// One replica group member, assembled from validated configuration: its
// durable log and snapshot, the replication core and its runner, the
// key-value state, the replication transport, the link to the
// coordinators, and the services it serves. The app's main only wires this
// into the service kit.
import { performance } from 'node:perf_hooks';
import { hashRingOf } from '@bulwark/coordinator-client';
import type { Logger } from '@bulwark/logging';
import type { HashRing } from '@bulwark/partitioning';
import { defaultKvLimits, type KvLimits, type Outcome } from '@bulwark/kv-state';
import { FileReplicaStorage } from '@bulwark/replica-storage';
import {
  defaultReplicationSettings,
  emptySnapshotPoint,
  ReplicaNode,
  type Durability,
  type ReplicationSettings,
  type SnapshotPoint,
} from '@bulwark/replication';
import { ServingStatus, type HandlerKit, type RunningServer, type ServiceBinding } from '@bulwark/rpc';
import { CoordinatorLink } from './coordinator-link';
import { KvMachine } from './kv-machine';
import { observeWalSync, readReplicaMetrics } from './replica-metrics';
import { ReplicaRunner } from './replica-runner';
import { fetchSnapshot, replicationService } from './replication-service';
import { ReplicationTransport } from './replication-transport';
import { ShardOperations } from './shard-operations';
import { shardService } from './shard-service';
import { WriteTraces } from './write-traces';

export interface ReplicaOptions {
  readonly memberId: string;
  readonly groupId: string;
  /** The group's members, this one among them, the first its first primary: created on a fresh fleet. */
  readonly groupMembers: readonly string[];
  readonly mode: Durability;
  readonly coordinators: readonly string[];
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clockDriftMs: number;
  readonly limits?: Partial<KvLimits>;
  readonly replication?: Partial<ReplicationSettings>;
  readonly tickMs?: number;
  readonly snapshotEveryEntries?: number;
  readonly snapshotKeepEntries?: number;
}

/** A backup this far behind is NOT_SERVING: it is catching up. */
const servingStalenessMs = 1_000;

export class Replica {
  private readonly link: CoordinatorLink;
  private readonly transport: ReplicationTransport;
  private readonly runner: ReplicaRunner<Outcome>;
  private readonly operations: ShardOperations;
  private readonly storage: FileReplicaStorage;
  private readonly machine: KvMachine;
  private readonly clockMs = () => performance.now();
  private healthTimer: NodeJS.Timeout | undefined;
  private stopMetrics: () => void = () => undefined;
  /** The ring of the latest topology, rebuilt when its version changes: which keys are this group's. */
  private ring: HashRing | undefined;

  private constructor(
    private readonly options: ReplicaOptions,
    storage: FileReplicaStorage,
    node: ReplicaNode,
    machine: KvMachine,
  ) {
    const { logger, memberId, groupId } = options;
    const limits = { ...defaultKvLimits, ...options.limits };
    this.storage = storage;
    this.machine = machine;
    this.link = new CoordinatorLink({
      memberId,
      groupId,
      coordinators: options.coordinators,
      logger,
      // A late grant still counts from when its request left: waiting longer only helps.
      renewDeadlineMs: 500,
    });
    const addressOf = (id: string) => this.link.addressOf(id);
    const traces = new WriteTraces<Outcome>({
      addressOf,
      clockMs: this.clockMs,
      fenceAccepted: (outcome) => !(outcome.kind === 'refused' && outcome.field.startsWith('fence.')),
    });
    this.transport = new ReplicationTransport(
      memberId,
      groupId,
      addressOf,
      logger,
      (message) => this.runner.deliver(message),
      traces,
    );
    this.runner = new ReplicaRunner<Outcome>({
      node,
      storage,
      state: machine,
      send: (messages) => this.transport.send(messages),
      coordinator: this.link,
      fetchSnapshot: (from, epoch) => {
        const address = addressOf(from);
        if (!address) return Promise.reject(new Error(`no address known for ${from}`));
        return fetchSnapshot(address, { groupId, epoch, backupId: memberId }, 60_000);
      },
      logger,
      clockMs: this.clockMs,
      tickMs: options.tickMs ?? 10,
      snapshotEveryEntries: options.snapshotEveryEntries ?? 100_000,
      snapshotKeepEntries: options.snapshotKeepEntries ?? 10_000,
      waitingWritesMax: 65_536,
      addressOf,
      traces,
      onFatal: (error) => {
        logger.fatal({ err: error }, 'cannot persist or apply the group log; stopping to recover from disk');
        process.exit(1);
      },
    });
    this.operations = new ShardOperations({
      memberId,
      groupId,
      runner: this.runner,
      machine,
      limits,
      clockMs: this.clockMs,
      wallClockMs: Date.now,
      topologyRevision: () => this.link.watcher.current()?.revision ?? 0n,
      ownerOf: (key) => {
        this.ring = hashRingOf(this.link.watcher.current()?.topology.ring, this.ring);
        return this.ring?.lookup(key);
      },
    });
  }

  /** Opens the data directory (throws StorageCorruptionError naming the file) and restores the state. */
  static async open(options: ReplicaOptions): Promise<Replica> {
    const opened = FileReplicaStorage.open(options.dataDir, { onWalSync: observeWalSync });
    const { recovered, report } = opened;
    if (report.tornTailBytes > 0 || report.removedTempFiles.length > 0 || report.finishedInterruptedSnapshot) {
      options.logger.warn({ recovery: report }, 'recovered from an interrupted write');
    }
    const limits = { ...defaultKvLimits, ...options.limits };
    const machine = new KvMachine(limits);
    let point: SnapshotPoint = emptySnapshotPoint;
    const snapshot = opened.storage.openSnapshot();
    if (snapshot) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of snapshot.chunks()) chunks.push(chunk);
      const { lastSequence, lastEpoch, epochStarts } = snapshot.meta;
      machine.restore(chunks, lastSequence);
      point = { lastSequence, lastEpoch, epochStarts };
    }
    const settings = { ...defaultReplicationSettings, clockDriftMs: options.clockDriftMs, ...options.replication };
    const node = new ReplicaNode(
      options.memberId,
      settings,
      {
        highestEpoch: recovered.highestEpoch,
        ledEpoch: recovered.ledEpoch,
        snapshot: point,
        entries: recovered.entries,
      },
      performance.now(),
    );
    options.logger.info(
      {
        epoch: String(recovered.highestEpoch),
        snapshot: String(point.lastSequence),
        entries: recovered.entries.length,
      },
      'recovered the group log',
    );
    return new Replica(options, opened.storage, node, machine);
  }

  services(kit: HandlerKit): ServiceBinding[] {
    const { memberId, groupId } = this.options;
    return [
      replicationService(kit, {
        memberId,
        groupId,
        node: () => this.runner.node,
        state: () => this.machine.state,
        storage: this.storage,
        transport: this.transport,
        clockMs: this.clockMs,
      }),
      shardService(kit, this.operations, this.options.logger),
    ];
  }

  start(server: RunningServer): void {
    const { logger, groupMembers, mode } = this.options;
    this.link.start((view) => this.runner.observeView(view));
    this.runner.start();
    this.stopMetrics = readReplicaMetrics(this.options.groupId, () => this.runner.node);
    this.link.bootstrap(groupMembers, mode, 120_000).catch((error: unknown) => {
      logger.error({ err: error }, 'could not create the group or put it on the ring');
    });
    const updateHealth = () => {
      server.health.setAll(this.serving() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
      this.healthTimer = setTimeout(updateHealth, 100);
    };
    updateHealth();
  }

  /** SERVING: the primary under its lease, or an in-sync backup that is not behind (NOT_SERVING while it catches up). */
  private serving(): boolean {
    const node = this.runner.node;
    const nowMs = this.clockMs();
    if (node.role !== 'backup') return node.holdsLease(nowMs);
    const inSync = node.view?.inSync.includes(this.options.memberId) ?? false;
    return inSync && node.stalenessMs(nowMs) <= servingStalenessMs;
  }

  async stop(): Promise<void> {
    clearTimeout(this.healthTimer);
    this.stopMetrics();
    await this.runner.stop();
    this.transport.close();
    this.link.close();
    await this.storage.close();
  }
}
