// What the coordinator's runner holds: the replicated state (the metadata,
// indexed so a command costs the same whatever the topology's size, and the
// remembered requests) and the event history WatchTopology resumes from. The
// runner feeds it the commands Paxos commits, in slot order, and the
// snapshots Paxos installs.
import { AlreadyExistsError, BulwarkError, InternalError } from '@bulwark/errors';
import { eventsOf, transition } from './apply';
import type { CommandResult, CommandType, MetadataCommand } from './commands';
import { EventHistory, type EventsSince } from './event-history';
import { checkFingerprint, checkRequestId } from './fields';
import { IndexedState } from './indexed-state';
import { topologyViolations } from './invariants';
import { eventHistoryMax, requestsRememberedMax } from './limits';
import { RequestTable, type RememberedRequest, type RequestKey } from './request-table';
import { emptyTopology, frozenTopology } from './topology';
import type { Member, ReplicaGroup, Topology, TopologyEvent } from './types';

/** Violations quoted in an error; the rest are counted. */
const violationsQuotedMax = 5;

/** What the state machine answers for a committed command. */
export interface Answer<T extends CommandType = CommandType> {
  /** Empty when nothing changed; otherwise all carry the new revision. */
  readonly events: readonly TopologyEvent[];
  readonly result: CommandResult<T>;
  /** The revision the answer reflects: the state's after the command, or for a retried request its first outcome's. */
  readonly revision: bigint;
}

export class MetadataStateMachine {
  private state: IndexedState;
  private history: EventHistory;
  private requests: RequestTable;

  /**
   * @param topology where to start: the empty topology, or the snapshot a restarted coordinator recovered.
   * @param historyEventsMax how many events to keep for WatchTopology resumption.
   * @param requestsMax how many requests' first outcomes to remember for retries.
   */
  constructor(
    topology: Topology = emptyTopology,
    private readonly historyEventsMax = eventHistoryMax,
    private readonly requestsMax = requestsRememberedMax,
  ) {
    this.state = new IndexedState(soundCopy(topology));
    this.history = new EventHistory(this.state.revision, historyEventsMax);
    this.requests = new RequestTable(requestsMax);
  }

  /** The metadata as an immutable topology; the same object until the next change. */
  get topology(): Topology {
    return this.state.topology;
  }

  get revision(): bigint {
    return this.state.revision;
  }

  group(id: string): ReplicaGroup | undefined {
    return this.state.group(id);
  }

  member(id: string): Member | undefined {
    return this.state.member(id);
  }

  /** The remembered requests, oldest first, for a snapshot. */
  get rememberedRequests(): readonly RememberedRequest[] {
    return this.requests.list();
  }

  /**
   * Applies the next committed command, as apply() would to the topology,
   * in time independent of its size. With a request key, a request already
   * remembered is not applied again: it is answered with its first outcome.
   * Otherwise its outcome is remembered, unless it is a retryable error (a
   * retry may well succeed, and must be allowed to).
   */
  apply<C extends MetadataCommand>(command: C, request?: RequestKey): Answer<C['type']> {
    if (request) {
      let known: RememberedRequest | undefined;
      try {
        known = this.remembered(request);
      } catch (error) {
        if (!(error instanceof BulwarkError)) throw error;
        return { events: [], result: { ok: false, error }, revision: this.state.revision };
      }
      if (known) {
        // The fingerprint covers the method, so the first outcome is of this command's type.
        const result = known.result as CommandResult<C['type']>;
        return { events: [], result, revision: known.revision };
      }
    }
    const { result, changes } = transition(this.state, command);
    const events = changes.length === 0 ? [] : eventsOf(changes, this.state.revision + 1n);
    this.state.applyEvents(events);
    this.history.append(events);
    const revision = this.state.revision;
    if (request && (result.ok || !result.error.retryable)) this.requests.remember({ ...request, revision, result });
    return { events, result, revision };
  }

  /**
   * What applying the command now would answer, changing nothing: the
   * leader's check before it proposes, the same code apply runs.
   */
  check(command: MetadataCommand): CommandResult {
    return transition(this.state, command).result;
  }

  /**
   * The first outcome of a remembered request, or undefined when the id is
   * not remembered. Throws INVALID_ARGUMENT for a malformed key and
   * ALREADY_EXISTS naming request_id when the id was used for another request.
   */
  remembered(request: RequestKey): RememberedRequest | undefined {
    checkRequestId(request.id, 'request_id');
    checkFingerprint(request.fingerprint, 'request_fingerprint');
    const known = this.requests.get(request.id);
    if (known && known.fingerprint !== request.fingerprint) {
      throw new AlreadyExistsError(
        'request_id',
        `'${request.id}' was used at revision ${known.revision} for a different request; use a new request_id`,
      );
    }
    return known;
  }

  /**
   * Replaces the state with a snapshot's (a lagging coordinator catching
   * up). The history restarts at the snapshot's revision: watchers behind it
   * get a snapshot. Throws InternalError, changing nothing, when the
   * topology breaks an invariant, the requests are not a table this machine
   * could have built, or the revision would move back.
   */
  installSnapshot(topology: Topology, requests: readonly RememberedRequest[] = []): void {
    const installed = soundCopy(topology);
    if (installed.revision < this.state.revision) {
      throw new InternalError(
        `snapshot at revision ${installed.revision} is older than the applied revision ${this.state.revision}`,
      );
    }
    const table = soundRequests(requests, installed.revision, this.requestsMax);
    this.state = new IndexedState(installed);
    this.requests = table;
    this.history = new EventHistory(installed.revision, this.historyEventsMax);
  }

  /** The events after `revision`, or "compacted" when the history no longer reaches back to it. */
  eventsSince(revision: bigint): EventsSince {
    return this.history.eventsSince(revision);
  }
}

function soundCopy(topology: Topology): Topology {
  const violations = topologyViolations(topology);
  if (violations.length > 0) {
    const quoted = violations.slice(0, violationsQuotedMax).join('; ');
    const more = violations.length > violationsQuotedMax ? `; and ${violations.length - violationsQuotedMax} more` : '';
    throw new InternalError(`topology at revision ${topology.revision} breaks invariants: ${quoted}${more}`);
  }
  return frozenTopology(topology);
}

function soundRequests(requests: readonly RememberedRequest[], revision: bigint, requestsMax: number): RequestTable {
  if (requests.length > requestsMax) {
    throw new InternalError(`snapshot remembers ${requests.length} requests, more than ${requestsMax}`);
  }
  const table = new RequestTable(requestsMax);
  let previousRevision = 0n;
  for (const request of requests) {
    try {
      checkRequestId(request.id, 'request_id');
      checkFingerprint(request.fingerprint, 'request_fingerprint');
    } catch (error) {
      throw new InternalError(`snapshot remembers a malformed request: ${(error as Error).message}`);
    }
    // Remembered in log order, so revisions never decrease and none is beyond the snapshot's.
    if (request.revision < previousRevision || request.revision > revision || table.get(request.id)) {
      throw new InternalError(`snapshot remembers request '${request.id}' out of order or twice`);
    }
    previousRevision = request.revision;
    table.remember(request);
  }
  return table;
}
