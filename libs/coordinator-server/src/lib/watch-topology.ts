// WatchTopology: any member streams the changes it applies, from the
// revision the watcher asks for (a snapshot first when that revision has
// been compacted), so a watch survives leader changes.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { commonV1, coordinatorV1 } from '@bulwark/contracts';
import { ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import { untilCallEnds, type HandlerKit } from '@bulwark/rpc';
import {
  eventsUpdate,
  resetUpdate,
  type MetadataReplica,
  type TopologyListener,
  type TopologyUpdate,
} from './metadata-replica';

/** How far watchers may fall behind before a stream is ended (the watcher resumes from its revision). */
export interface WatchLimits {
  /** Responses one slow watcher may have buffered. */
  backlogMax: number;
  /** Estimated bytes one slow watcher may have buffered (a ring event is up to ~70 KiB). */
  backlogBytesMax: number;
  /** Estimated bytes all watchers of this member may have buffered together. */
  backlogBytesTotalMax: number;
}

export const defaultWatchLimits: WatchLimits = {
  backlogMax: 1_024,
  backlogBytesMax: 8 * 1024 * 1024,
  backlogBytesTotalMax: 256 * 1024 * 1024,
};

export function watchTopologyHandler(
  kit: HandlerKit,
  replica: MetadataReplica,
  header: (revision: bigint) => commonV1.ResponseHeader,
  limits: WatchLimits = defaultWatchLimits,
) {
  /** What every watcher of this member has buffered beyond its stream's own buffer, estimated. */
  let backlogBytesAll = 0;
  return kit.serverStream(
    async (
      request: coordinatorV1.WatchTopologyRequest,
      call: ServerWritableStream<coordinatorV1.WatchTopologyRequest, coordinatorV1.WatchTopologyResponse>,
      { shutdown },
    ) => {
      // A member that has applied less than start_revision sends nothing older than it.
      const start = request.startRevision;
      let backlog = 0;
      let backlogBytes = 0;
      let tooSlow = false;
      const stopped = new AbortController();
      const write = (
        response: Omit<coordinatorV1.WatchTopologyResponse, 'header'>,
        revision: bigint,
        bytes: number,
      ) => {
        if (!call.write({ header: header(revision), ...response })) {
          backlog++;
          backlogBytes += bytes;
          backlogBytesAll += bytes;
        }
        if (
          backlog > limits.backlogMax ||
          backlogBytes > limits.backlogBytesMax ||
          backlogBytesAll > limits.backlogBytesTotalMax
        ) {
          tooSlow = true;
          stopped.abort();
        }
      };
      const drained = () => {
        backlogBytesAll -= backlogBytes;
        backlog = 0;
        backlogBytes = 0;
      };
      const send = (update: TopologyUpdate) => {
        if (update.type === 'reset') {
          write({ snapshot: update.topology, events: [] }, update.revision, update.bytes);
        } else if (update.revision >= start && update.events.length > 0) {
          write({ snapshot: undefined, events: [...update.events] }, update.revision, update.bytes);
        }
      };
      const listener: TopologyListener = send;
      // Catch-up and subscription happen in one synchronous step: no change can fall between them.
      if (start === 0n) send(resetUpdate(replica.machine.topology));
      else {
        const since = replica.machine.eventsSince(start - 1n);
        if (since.type === 'compacted') send(resetUpdate(replica.machine.topology));
        else send(eventsUpdate(since.events.filter((event) => event.revision >= start)));
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
        backlogBytesAll -= backlogBytes;
      }
      if (tooSlow) {
        throw new ResourceExhaustedError(
          'backlogMax',
          'watcher too slow (or this member buffers too much for its watchers); resume from the last revision received',
        );
      }
    },
  );
}
