// The replicated state machine's one transition. Every coordinator applies
// the same committed commands in the same order and must reach the same
// topology, so a transition reads nothing but its arguments: no clock, no
// randomness, no iteration over insertion-ordered state (the state machine's
// maps are only looked up; lists are kept sorted).
import { BulwarkError, InvalidArgumentError } from '@bulwark/errors';
import { applyEvents } from './apply-events';
import type { Applied, CommandOutputs, CommandResult, CommandType, MetadataCommand } from './commands';
import { createGroup } from './handlers/create-group';
import { deleteGroup } from './handlers/delete-group';
import { failover } from './handlers/failover';
import type { Outcome } from './handlers/outcome';
import { deregisterMember } from './handlers/deregister-member';
import { registerMember } from './handlers/register-member';
import { renewPrimaryLease } from './handlers/renew-primary-lease';
import { setRing } from './handlers/set-ring';
import { startHandover } from './handlers/start-handover';
import { updateInSyncSet } from './handlers/update-in-sync-set';
import { topologyView, type StateView } from './state-view';
import type { Topology, TopologyChange, TopologyEvent } from './types';

/** What a command does to a state: the caller's answer, and its changes (none when rejected or unchanged). */
export interface Transition<T extends CommandType = CommandType> {
  readonly result: CommandResult<T>;
  readonly changes: readonly TopologyChange[];
}

/**
 * Decides one command against a state, changing nothing: the handlers'
 * checks and the changes they would make. A domain error is a rejection
 * with no changes.
 */
export function transition<C extends MetadataCommand>(state: StateView, command: C): Transition<C['type']> {
  let outcome: Outcome<CommandOutputs[CommandType]>;
  try {
    outcome = handle(state, command);
  } catch (error) {
    // Anything but a domain error is a bug in this lib; let it surface.
    if (!(error instanceof BulwarkError)) throw error;
    return { result: { ok: false, error }, changes: [] };
  }
  // handle() returns the output of the command's own handler; TypeScript
  // cannot relate the switch's branches to C, hence the one cast.
  const value = outcome.value as CommandOutputs[C['type']];
  return { result: { ok: true, value }, changes: outcome.changes ?? [] };
}

/** A command's changes as its frozen events, all stamped with the revision the command produced. */
export function eventsOf(changes: readonly TopologyChange[], revision: bigint): readonly TopologyEvent[] {
  return Object.freeze(
    changes.map((change): TopologyEvent => Object.freeze({ revision, change: Object.freeze(change) })),
  );
}

/**
 * Applies one committed command to a topology: the reference transition,
 * which the state machine's indexed state must match. A rejected command (a
 * domain error naming the request field) returns the input topology
 * unchanged, on every replica alike; a command that changes something
 * returns a topology one revision higher and its events, all stamped with
 * that revision. Neither the input nor anything reachable from it is
 * modified; what the command did not change is shared.
 */
export function apply<C extends MetadataCommand>(topology: Topology, command: C): Applied<C['type']> {
  const { result, changes } = transition(topologyView(topology), command);
  if (changes.length === 0) return { topology, events: [], result };
  const events = eventsOf(changes, topology.revision + 1n);
  return { topology: applyEvents(topology, events), events, result };
}

function handle(state: StateView, command: MetadataCommand): Outcome<CommandOutputs[CommandType]> {
  switch (command.type) {
    case 'registerMember':
      return registerMember(state, command);
    case 'deregisterMember':
      return deregisterMember(state, command);
    case 'createGroup':
      return createGroup(state, command);
    case 'deleteGroup':
      return deleteGroup(state, command);
    case 'setRing':
      return setRing(state, command);
    case 'failover':
      return failover(state, command);
    case 'startHandover':
      return startHandover(state, command);
    case 'renewPrimaryLease':
      return renewPrimaryLease(state, command);
    case 'updateInSyncSet':
      return updateInSyncSet(state, command);
    case 'noop':
      return { value: {} };
  }
  // A committed entry this build cannot read is rejected on every replica
  // alike; throwing would stop each of them at the same slot, for good.
  const unknownCommand: { readonly type: unknown } = command;
  throw new InvalidArgumentError('command', `unknown command type ${String(unknownCommand.type)}`);
}
