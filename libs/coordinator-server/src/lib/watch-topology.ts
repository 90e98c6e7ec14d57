// WatchTopology: any member streams the changes it applies, from the
// revision the watcher asks for (a snapshot first when that revision has
// been compacted), so a watch survives leader changes.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { commonV1, coordinatorV1 } from '@bulwark/contracts';
import { ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import type { TopologyEvent } from '@bulwark/metadata';
import { untilCallEnds, type HandlerKit } from '@bulwark/rpc';
import type { MetadataReplica, TopologyListener } from './metadata-replica';
import { eventToProto, topologyToProto } from './topology-codec';

/** Changes a slow watcher may fall behind by before its stream is ended (it resumes from its revision). */
export const watchBacklogMax = 1_024;

export function watchTopologyHandler(
  kit: HandlerKit,
  replica: MetadataReplica,
  header: (revision: bigint) => commonV1.ResponseHeader,
) {
  return kit.serverStream(
    async (
      request: coordinatorV1.WatchTopologyRequest,
      call: ServerWritableStream<coordinatorV1.WatchTopologyRequest, coordinatorV1.WatchTopologyResponse>,
      { shutdown },
    ) => {
      // A member that has applied less than start_revision sends nothing older than it.
      const start = request.startRevision;
      let backlog = 0;
      let tooSlow = false;
      const stopped = new AbortController();
      const write = (response: Omit<coordinatorV1.WatchTopologyResponse, 'header'>, revision: bigint) => {
        if (!call.write({ header: header(revision), ...response })) backlog++;
        if (backlog > watchBacklogMax) {
          tooSlow = true;
          stopped.abort();
        }
      };
      const drained = () => (backlog = 0);
      const sendSnapshot = () => {
        const topology = replica.machine.topology;
        write({ snapshot: topologyToProto(topology), events: [] }, topology.revision);
      };
      const sendEvents = (events: readonly TopologyEvent[]) => {
        const wanted = events.filter((event) => event.revision >= start);
        if (wanted.length > 0)
          write({ snapshot: undefined, events: wanted.map(eventToProto) }, wanted.at(-1)!.revision);
      };
      const listener: TopologyListener = (update) => ('reset' in update ? sendSnapshot() : sendEvents(update.events));
      // Catch-up and subscription happen in one synchronous step: no change can fall between them.
      if (start === 0n) sendSnapshot();
      else {
        const since = replica.machine.eventsSince(start - 1n);
        if (since.type === 'compacted') sendSnapshot();
        else sendEvents(since.events);
      }
      if (!replica.subscribe(listener)) {
        throw new UnavailableError('too many watchers on this coordinator; try another member');
      }
      call.on('drain', drained);
      try {
        await untilCallEnds(call, AbortSignal.any([shutdown, stopped.signal]));
      } finally {
        replica.unsubscribe(listener);
        call.off('drain', drained);
      }
      if (tooSlow) {
        throw new ResourceExhaustedError('watchBacklogMax', 'watcher too slow; resume from the last revision received');
      }
    },
  );
}
