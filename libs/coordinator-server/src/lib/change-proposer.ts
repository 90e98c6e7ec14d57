// How the leader turns a request into a committed change. Everything that
// can be decided from the state it has applied is decided before anything
// is proposed, so a refused call costs no Paxos commit and no oversized or
// malformed entry ever reaches the log:
//   1. only the leader proposes (a follower answers with a leader hint), and
//      only once it has applied what earlier leaders committed (UNAVAILABLE
//      until then: its state would answer retries and checks wrongly);
//   2. a request_id already remembered is answered with its first outcome;
//      a change that must ask others first (Failover asks the replicas for
//      their durable state) does so now, and steps 1 and 2 run again after;
//   3. the command is checked by the metadata core's own apply against the
//      applied state (field form, lookups, state), and refused if it fails;
//   4. the caller's last gate (Failover: has the old lease surely ended?);
//   5. the encoded command must fit commandBytesMax;
//   6. propose, and answer with what the committed entry's apply answered
//      (apply checks everything again, against the state the log reached).
import { InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import type { Answer, CommandOutputs, RequestKey } from '@bulwark/metadata';
import type { PaxosNode } from '@bulwark/paxos';
import { encodeCommand, type Change } from './command-codec';
import { commandBytesMax } from './command-limits';
import type { MetadataReplica } from './metadata-replica';
import type { PaxosRunner } from './paxos-runner';

/** What the coordinator's service needs of the Paxos runner. */
export type CoordinatorRunner = Pick<
  PaxosRunner<Answer>,
  'propose' | 'canReadLocally' | 'notLeader' | 'leaderSinceMs' | 'hasAppliedBarrier'
> & {
  readonly node: Pick<PaxosNode, 'role' | 'leaderId' | 'promisedBallot'>;
};

export interface Committed<C extends Change> {
  /** The revision the answer reflects. */
  readonly revision: bigint;
  readonly value: CommandOutputs[C['type']];
}

export interface ChangeSteps<C extends Change> {
  /**
   * Asynchronous work the decision needs (asking replicas), run after the
   * request_id lookup; the leadership checks and the lookup run again after
   * it, since anything may have been applied meanwhile.
   */
  prepare?(): Promise<void>;
  /**
   * Builds the command from the leader's applied state; runs after the
   * request_id lookup. leaderSinceMs is when this member's leadership began.
   */
  decide(leaderSinceMs: number): C;
  /**
   * Throws to refuse a command the core accepts but that must not be
   * proposed yet; leaderSinceMs is when this member's leadership began.
   */
  gate?(command: C, leaderSinceMs: number): void;
}

export class ChangeProposer {
  constructor(
    private readonly runner: CoordinatorRunner,
    private readonly replica: MetadataReplica,
  ) {}

  requireLeader(): void {
    if (this.runner.node.role !== 'leader') throw this.runner.notLeader();
  }

  /**
   * Leads with everything earlier leaders committed applied: when this
   * member's leadership began (monotonic ms). Throws otherwise.
   */
  requireLeading(): number {
    // It may apply pending entries: call it before reading the applied state.
    const leaderSinceMs = this.runner.leaderSinceMs();
    if (leaderSinceMs === undefined) throw this.runner.notLeader();
    if (!this.runner.hasAppliedBarrier()) {
      // Checked against a state that lacks what earlier leaders committed, a retry
      // could be refused that its remembered outcome would answer.
      throw new UnavailableError('this leader is still applying what earlier leaders committed; retry shortly');
    }
    return leaderSinceMs;
  }

  /** Proposes a change (see the steps above); resolves with its revision and output, or throws its error. */
  async change<C extends Change>(steps: ChangeSteps<C>, request: RequestKey | undefined): Promise<Committed<C>> {
    const machine = this.replica.machine;
    if (steps.prepare) {
      this.requireLeading();
      const known = request && machine.remembered(request);
      if (known) return settled<C>(known);
      await steps.prepare();
    }
    // First, as it may apply pending entries: nothing is applied between the checks below.
    const leaderSinceMs = this.requireLeading();
    const known = request && machine.remembered(request);
    if (known) return settled<C>(known);
    const command = steps.decide(leaderSinceMs);
    const checked = machine.check(command);
    if (!checked.ok) throw checked.error;
    steps.gate?.(command, leaderSinceMs);
    const entry = encodeCommand(command, request);
    if (entry.length > commandBytesMax) {
      // The field checks bound every field, so only a bug in them gets here: refuse rather than risk the log.
      throw new InvalidArgumentError(
        'request',
        `encodes to ${entry.length} bytes, more than commandBytesMax ${commandBytesMax}`,
      );
    }
    return settled<C>(await this.runner.propose(entry));
  }
}

/** The outcome of a committed (or remembered) command as the caller's answer. */
function settled<C extends Change>(outcome: Pick<Answer, 'revision' | 'result'>): Committed<C> {
  if (!outcome.result.ok) throw outcome.result.error;
  // The entry holds this call's command (the runner checks the bytes), or a
  // remembered request of the same method: its output is this command's.
  return { revision: outcome.revision, value: outcome.result.value as CommandOutputs[C['type']] };
}
