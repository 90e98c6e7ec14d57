// The replicated state machine's one transition. Every coordinator applies
// the same committed commands in the same order and must reach the same
// topology, so apply reads nothing but its arguments: no clock, no
// randomness, no iteration over insertion-ordered state.
import { BulwarkError, InvalidArgumentError } from '@bulwark/errors';
import type { Applied, CommandOutputs, CommandType, MetadataCommand } from './commands';
import { createGroup } from './handlers/create-group';
import { deleteGroup } from './handlers/delete-group';
import { failover } from './handlers/failover';
import type { Outcome } from './handlers/outcome';
import { registerMember } from './handlers/register-member';
import { renewPrimaryLease } from './handlers/renew-primary-lease';
import { setRing } from './handlers/set-ring';
import { updateInSyncSet } from './handlers/update-in-sync-set';
import type { Topology, TopologyEvent } from './types';

/**
 * Applies one committed command. A rejected command (a domain error naming
 * the request field) returns the input topology unchanged, on every replica
 * alike; a command that changes something returns a topology one revision
 * higher and its events, all stamped with that revision. Neither the input
 * nor anything reachable from it is modified.
 */
export function apply<C extends MetadataCommand>(topology: Topology, command: C): Applied<C['type']> {
  let outcome: Outcome<CommandOutputs[CommandType]>;
  try {
    outcome = handle(topology, command);
  } catch (error) {
    // Anything but a domain error is a bug in this lib; let it surface.
    if (!(error instanceof BulwarkError)) throw error;
    return { topology, events: [], result: { ok: false, error } };
  }
  // handle() returns the output of the command's own handler; TypeScript
  // cannot relate the switch's branches to C, hence the one cast.
  const value = outcome.value as CommandOutputs[C['type']];
  const change = outcome.change;
  if (!change) return { topology, events: [], result: { ok: true, value } };
  const revision = topology.revision + 1n;
  const next: Topology = Object.freeze({
    revision,
    members: change.members ?? topology.members,
    groups: change.groups ?? topology.groups,
    ring: change.ring ?? topology.ring,
  });
  const events = Object.freeze(
    change.changes.map((topologyChange): TopologyEvent =>
      Object.freeze({ revision, change: Object.freeze(topologyChange) }),
    ),
  );
  return { topology: next, events, result: { ok: true, value } };
}

function handle(topology: Topology, command: MetadataCommand): Outcome<CommandOutputs[CommandType]> {
  switch (command.type) {
    case 'registerMember':
      return registerMember(topology, command);
    case 'createGroup':
      return createGroup(topology, command);
    case 'deleteGroup':
      return deleteGroup(topology, command);
    case 'setRing':
      return setRing(topology, command);
    case 'failover':
      return failover(topology, command);
    case 'renewPrimaryLease':
      return renewPrimaryLease(topology, command);
    case 'updateInSyncSet':
      return updateInSyncSet(topology, command);
    case 'noop':
      return { value: {} };
  }
  // A committed entry this build cannot read is rejected on every replica
  // alike; throwing would stop each of them at the same slot, for good.
  const unknownCommand: { readonly type: unknown } = command;
  throw new InvalidArgumentError('command', `unknown command type ${String(unknownCommand.type)}`);
}
