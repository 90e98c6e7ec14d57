// Asks a group's members for the end of their durable logs
// (replication.v1.Replication/GetDurableState): what the leader chooses a
// new primary by. All members are asked at once, each with a short
// deadline, so a dead or partitioned member costs one deadline, not one
// each; a member that does not answer, answers with an error, or answers
// for another member (its address was reused) is left out.
import { replicationV1 } from '@bulwark/contracts';
import type { Logger } from '@bulwark/logging';
import { callUnary, createClient } from '@bulwark/rpc';

export interface DurableState {
  readonly memberId: string;
  /** The last sequence on the member's disk. */
  readonly durableSequence: bigint;
  /** The epoch of the entry at durableSequence (0: an empty log). */
  readonly lastEpoch: bigint;
}

export interface MemberAddress {
  readonly id: string;
  /** host:port from the members table. */
  readonly address: string;
}

export interface DurableStateSource {
  /**
   * Asks every member at once; resolves within about the deadline with the
   * answers of those that answered for themselves, in no particular order.
   * Never rejects.
   */
  ask(groupId: string, members: readonly MemberAddress[]): Promise<DurableState[]>;
  /** Closes every channel; later asks open new ones. */
  close(): void;
}

/** How long each member has to answer: far below a lease, far above a loopback or LAN round trip. */
export const durableStateDeadlineMs = 200;
/** Channels kept open, one per member address; the least recently used is closed beyond it. */
export const durableStateClientsMax = 1_024;

/**
 * grpc-js waits 1 s, growing to 120 s, before reconnecting a failed
 * channel: a restarted old primary (which may have to lead again) would not
 * be heard for minutes. Short and capped, as for the Paxos peers.
 */
const channelOptions = {
  'grpc.initial_reconnect_backoff_ms': 20,
  'grpc.max_reconnect_backoff_ms': 250,
};

export class GrpcDurableStates implements DurableStateSource {
  /** By address, least recently used first. */
  private readonly clients = new Map<string, replicationV1.ReplicationClient>();

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs = durableStateDeadlineMs,
  ) {}

  async ask(groupId: string, members: readonly MemberAddress[]): Promise<DurableState[]> {
    const answers = await Promise.all(members.map((member) => this.askOne(groupId, member)));
    return answers.filter((answer): answer is DurableState => answer !== undefined);
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async askOne(groupId: string, member: MemberAddress): Promise<DurableState | undefined> {
    const client = this.client(member.address);
    try {
      const response = await callUnary(client, client.getDurableState, { groupId }, { deadlineMs: this.deadlineMs });
      const answeredBy = response.header?.memberId ?? '';
      if (answeredBy !== member.id) {
        this.logger.warn(
          { group: groupId, member: member.id, address: member.address, answeredBy },
          'another member answered GetDurableState at this address; left out',
        );
        return undefined;
      }
      return { memberId: member.id, durableSequence: response.durableSequence, lastEpoch: response.lastEpoch };
    } catch (error) {
      this.logger.debug({ err: error, group: groupId, member: member.id }, 'no durable state from member');
      return undefined;
    }
  }

  private client(address: string): replicationV1.ReplicationClient {
    const known = this.clients.get(address);
    if (known) {
      this.clients.delete(address);
      this.clients.set(address, known);
      return known;
    }
    if (this.clients.size >= durableStateClientsMax) {
      const [oldestAddress, oldest] = this.clients.entries().next().value as [string, replicationV1.ReplicationClient];
      oldest.close();
      this.clients.delete(oldestAddress);
    }
    const client = createClient(replicationV1.ReplicationClient, address, channelOptions);
    this.clients.set(address, client);
    return client;
  }
}
