// A Paxos runner without Paxos, for testing coordinator.v1 against a real
// MetadataReplica: this member leads (or not, as a test sets), and a
// proposal commits at once at the next slot, as if a majority accepted it.
import { NotLeaderError } from '@bulwark/errors';
import type { Answer } from '@bulwark/metadata';
import type { Role } from '@bulwark/paxos';
import type { CoordinatorRunner } from '../lib/change-proposer';
import type { MetadataReplica } from '../lib/metadata-replica';

export class FakeRunner implements CoordinatorRunner {
  readonly node = {
    role: 'leader' as Role,
    leaderId: 'c1' as string | undefined,
    promisedBallot: { round: 1n, nodeId: 'c1' },
  };
  /** The monotonic ms from which this member leads (leaderSinceMs while node.role is 'leader'). */
  leaderSince = 0;
  /** Entries proposed so far: a call refused before proposing leaves it unchanged. */
  proposals = 0;
  /** Runs before a proposal commits: commit another entry first to order it before the proposal. */
  beforeCommit: (() => void) | undefined;
  private slot = 0n;

  constructor(private readonly replica: MetadataReplica) {}

  leaderSinceMs(): number | undefined {
    return this.node.role === 'leader' ? this.leaderSince : undefined;
  }

  canReadLocally(): boolean {
    return this.node.role === 'leader';
  }

  /** A new leader that has not applied its barrier yet, when a test sets barrierApplied false. */
  barrierApplied = true;

  hasAppliedBarrier(): boolean {
    return this.node.role === 'leader' && this.barrierApplied;
  }

  notLeader(): NotLeaderError {
    return new NotLeaderError(this.node.leaderId);
  }

  /** Commits an entry as another proposer's would be: applied, with nobody waiting for it. */
  commit(command: Uint8Array): Answer {
    this.slot++;
    return this.replica.apply({ slot: this.slot, command });
  }

  async propose(command: Uint8Array): Promise<Answer> {
    this.proposals++;
    this.beforeCommit?.();
    return this.commit(command);
  }
}
