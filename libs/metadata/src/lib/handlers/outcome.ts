// What a command handler returns. Handlers build the next state without
// touching the current one and throw a domain error to reject; apply() alone
// turns a change into a new revision, so "every change is exactly one
// revision, and its events carry it" holds in one place.
import type { Member, ReplicaGroup, Ring, TopologyChange } from '../types';

/** The parts of the topology a command replaced (the rest is shared with the current one), and why. */
export interface Change {
  readonly members?: readonly Member[];
  readonly groups?: readonly ReplicaGroup[];
  readonly ring?: Ring;
  readonly changes: readonly TopologyChange[];
}

/** A handler's success: the caller's answer, and the change unless the command was a no-op or a repeat. */
export interface Outcome<T> {
  readonly value: T;
  readonly change?: Change;
}
