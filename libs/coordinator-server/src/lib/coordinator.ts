// One coordinator member: durable storage, the Paxos core and its runner,
// the peer transport, the metadata replica and the automatic failover,
// assembled from validated configuration. The app's main only wires this into the service kit.
import { performance } from 'node:perf_hooks';
import { defaultPaxosSettings, PaxosNode, type PaxosSettings } from '@bulwark/paxos';
import { FilePaxosStorage } from '@bulwark/paxos-storage';
import type { Answer } from '@bulwark/metadata';
import type { Logger } from '@bulwark/logging';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';
import { coordinatorService } from './coordinator-service';
import { GrpcDurableStates } from './durable-states';
import { Failovers } from './failovers';
import { GrpcMemberProbe } from './member-probe';
import { checkMessageBounds } from './message-bounds';
import { MetadataReplica } from './metadata-replica';
import { readPaxosMetrics } from './paxos-metrics';
import { PaxosTraces } from './paxos-traces';
import { PaxosRunner } from './paxos-runner';
import { PaxosTransport, type PeerAddress } from './paxos-transport';

export interface CoordinatorOptions {
  memberId: string;
  peers: PeerAddress[];
  dataDir: string;
  logger: Logger;
  /** Real time per Paxos tick; election timeouts and the lease are counted in ticks. */
  tickMs: number;
  /** The lease RenewPrimaryLease grants. */
  primaryLeaseMs: number;
  /** Bound on how far clock rates may make a lease outlast lease_ms; waited out after a lease before a failover. */
  clockDriftMs: number;
  paxos?: Partial<PaxosSettings>;
  compactAfterEntries?: number;
  proposalTimeoutMs?: number;
}

export class Coordinator {
  private readonly runner: PaxosRunner<Answer>;
  private readonly transport: PaxosTransport;
  private readonly storage: FilePaxosStorage;
  private readonly replica: MetadataReplica;
  private readonly failovers: Failovers;
  private readonly addresses: Map<string, string>;
  private stopMetrics: () => void = () => undefined;
  private readonly memberProbe = new GrpcMemberProbe();

  constructor(private readonly options: CoordinatorOptions) {
    // One monotonic clock for leadership and lease grants: a failover's wait
    // compares the time this member became leader with when it applied a grant.
    const clockMs = () => performance.now();
    this.replica = new MetadataReplica(clockMs);
    const opened = FilePaxosStorage.open(options.dataDir);
    if (opened.recovery.tornTailBytes > 0 || opened.recovery.removedTempFiles.length > 0) {
      options.logger.warn({ recovery: opened.recovery }, 'recovered from an interrupted write');
    }
    this.storage = opened.storage;
    this.addresses = new Map(options.peers.map((peer) => [peer.id, peer.address]));
    this.transport = new PaxosTransport(options.memberId, options.peers, options.logger);
    const settings = { ...defaultPaxosSettings, ...options.paxos };
    checkMessageBounds(settings);
    const node = new PaxosNode(
      options.memberId,
      options.peers.map((peer) => peer.id),
      settings,
      opened.state,
      // Election timeouts only need to differ between members; nothing replays them.
      Math.random,
    );
    this.runner = new PaxosRunner({
      node,
      storage: this.storage,
      transport: this.transport,
      machine: this.replica,
      logger: options.logger,
      tickMs: options.tickMs,
      compactAfterEntries: options.compactAfterEntries ?? 10_000,
      proposalTimeoutMs: options.proposalTimeoutMs ?? 5_000,
      addresses: this.addresses,
      clockMs,
      traces: new PaxosTraces((peer) => this.addresses.get(peer)),
      onFatal: (error) => {
        options.logger.fatal({ err: error }, 'cannot persist or apply the Paxos log; stopping to recover from disk');
        process.exit(1);
      },
    });
    this.failovers = new Failovers({
      runner: this.runner,
      replica: this.replica,
      durableStates: new GrpcDurableStates(options.logger),
      logger: options.logger,
      primaryLeaseMs: options.primaryLeaseMs,
      clockDriftMs: options.clockDriftMs,
      nowMs: clockMs,
    });
  }

  services(kit: HandlerKit): ServiceBinding[] {
    return [
      coordinatorService(kit, {
        memberId: this.options.memberId,
        runner: this.runner,
        replica: this.replica,
        logger: this.options.logger,
        addresses: this.addresses,
        primaryLeaseMs: this.options.primaryLeaseMs,
        failovers: this.failovers,
        memberProbe: this.memberProbe,
      }),
      this.transport.service(kit, (message) => this.runner.receive(message)),
    ];
  }

  start(): void {
    this.runner.start();
    this.failovers.start();
    this.stopMetrics = readPaxosMetrics(this.runner.node);
  }

  async stop(): Promise<void> {
    this.stopMetrics();
    this.failovers.stop();
    this.memberProbe.close();
    this.runner.stop();
    this.transport.close();
    this.storage.close();
  }
}
