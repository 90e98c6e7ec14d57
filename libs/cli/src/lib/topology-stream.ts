// Follows coordinator.v1 WatchTopology for watch-topology: any coordinator
// serves it; after a broken stream it resumes at the next one from the
// revision after the last it delivered, so nothing is printed twice or
// skipped. It gives up only when every coordinator in turn failed without
// delivering anything.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import type { coordinatorV1 } from '@bulwark/contracts';
import { CoordinatorClients } from '@bulwark/coordinator-client';
import { UnavailableError } from '@bulwark/errors';
import { fromServiceError } from '@bulwark/rpc';

export interface TopologyStreamOptions {
  readonly coordinators: readonly string[];
  /** The first revision wanted; 0: a snapshot of the current topology first. */
  readonly startRevision: bigint;
  /** Ends the watch: the stream is cancelled and follow() resolves. */
  readonly signal: AbortSignal;
  readonly onMessage: (message: coordinatorV1.WatchTopologyResponse) => void;
}

/** Backoff before reopening after a failed stream, doubling per failure in a row up to the cap. */
const reconnectBackoffMs = { initial: 100, max: 2_000 };

interface StreamEnd {
  readonly delivered: boolean;
  readonly error?: unknown;
}

export async function followTopology(options: TopologyStreamOptions): Promise<void> {
  const clients = new CoordinatorClients(options.coordinators);
  const { addresses } = clients;
  let next = options.startRevision;
  let failuresInARow = 0;
  try {
    for (let turn = 0; !options.signal.aborted; turn++) {
      const address = addresses[turn % addresses.length] as string;
      const end = await streamOnce(clients.get(address), next, options.signal, (message) => {
        options.onMessage(message);
        const reached = revisionReached(message);
        if (reached >= next) next = reached + 1n;
      });
      if (options.signal.aborted) return;
      failuresInARow = end.delivered ? 0 : failuresInARow + 1;
      if (failuresInARow >= addresses.length) {
        throw (
          end.error ?? new UnavailableError(`no coordinator of ${addresses.join(', ')} kept a topology stream open`)
        );
      }
      const backoffMs = Math.min(reconnectBackoffMs.max, reconnectBackoffMs.initial * 2 ** failuresInARow);
      await sleep(backoffMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  } finally {
    clients.close();
  }
}

function streamOnce(
  client: coordinatorV1.CoordinatorClient,
  startRevision: bigint,
  signal: AbortSignal,
  onMessage: (message: coordinatorV1.WatchTopologyResponse) => void,
): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const stream = client.watchTopology({ startRevision });
    let delivered = false;
    const cancel = () => stream.cancel();
    const finish = (end: StreamEnd) => {
      signal.removeEventListener('abort', cancel);
      resolve(end);
    };
    signal.addEventListener('abort', cancel, { once: true });
    stream.on('data', (message: coordinatorV1.WatchTopologyResponse) => {
      delivered = true;
      onMessage(message);
    });
    stream.once('error', (error: ServiceError) => finish({ delivered, error: fromServiceError(error) }));
    stream.once('end', () => finish({ delivered }));
  });
}

function revisionReached(message: coordinatorV1.WatchTopologyResponse): bigint {
  let reached = message.snapshot?.revision ?? 0n;
  for (const event of message.events) if (event.revision > reached) reached = event.revision;
  return reached;
}
