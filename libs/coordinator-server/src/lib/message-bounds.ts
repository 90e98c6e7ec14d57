// The bounds on what coordinators send each other must fit inside one
// another, or a message goes out that its receiver refuses and Paxos stalls
// with nothing saying why: a command fits an Accept, an Accept (with its
// per-entry overhead) fits a peer batch, and a batch fits what a member
// receives. Checked once when a coordinator is built.
import type { PaxosSettings } from '@bulwark/paxos';
import { commandBytesMax } from './command-limits';
import { batchBytesMax, peerReceiveBytesMax } from './paxos-transport';
import { snapshotChunkBytes } from './snapshot-chunks';

/** Encoding overhead the transport's size estimate allows per entry and per message. */
const entryOverheadBytes = 24;
const messageOverheadBytes = 64;

/** Throws RangeError naming the setting when the bounds do not nest. */
export function checkMessageBounds(settings: PaxosSettings): void {
  const largestPayload = Math.max(settings.batchBytesMax, commandBytesMax, snapshotChunkBytes);
  const largestMessage = largestPayload + settings.batchEntriesMax * entryOverheadBytes + messageOverheadBytes;
  if (largestMessage > batchBytesMax) {
    throw new RangeError(
      `batchBytesMax: an Accept of up to ${largestMessage} bytes does not fit the peer batch bound of ${batchBytesMax}`,
    );
  }
  if (batchBytesMax > peerReceiveBytesMax) {
    throw new RangeError(`peer batches of ${batchBytesMax} bytes exceed the receive limit of ${peerReceiveBytesMax}`);
  }
}
