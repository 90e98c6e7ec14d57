// Planted bugs in the Paxos core, for showing that the simulator catches
// each class it claims to (a mutation the suite cannot tell from the real
// core is a hole in the suite). Production code never constructs these.
import type { PaxosSettings } from '../lib/config';
import type { DurableState } from '../lib/durable-state';
import { PaxosNode } from '../lib/node';

export const coreMutations = [
  /** The lease outlasts the followers' promise protection by a tick. */
  'lease-beyond-protection',
  /** The lease is counted from when the majority's ack arrived, not from when the heartbeat was sent. */
  'lease-from-ack',
  /** Local reads without waiting for the barrier: values chosen under earlier leaders may be missing. */
  'read-without-barrier',
  /** Local reads once the barrier is committed, before the state machine applied it. */
  'read-before-apply',
  /** A leader that learns values chosen elsewhere keeps leading (and advertising its commit point). */
  'no-step-down-to-learn',
] as const;

export type CoreMutation = (typeof coreMutations)[number];

export class MutantPaxosNode extends PaxosNode {
  constructor(
    private readonly mutation: CoreMutation,
    id: string,
    members: readonly string[],
    settings: PaxosSettings,
    durable: DurableState,
    random: () => number,
  ) {
    super(id, members, settings, durable, random);
    if (mutation === 'lease-beyond-protection') this.leaseLength = settings.electionTimeoutMinTicks + 1;
  }

  protected override leaseStartFor(sentTick: number): number {
    return this.mutation === 'lease-from-ack' ? this.now : super.leaseStartFor(sentTick);
  }

  override canReadLocally(): boolean {
    const barrier = this.leadership?.barrierSlot;
    if (this.mutation === 'read-without-barrier') return this.hasLease();
    if (this.mutation === 'read-before-apply')
      return this.hasLease() && barrier !== undefined && this.commitSlot >= barrier;
    return super.canReadLocally();
  }

  protected override stepDownToLearn(): void {
    if (this.mutation !== 'no-step-down-to-learn') super.stepDownToLearn();
  }
}
