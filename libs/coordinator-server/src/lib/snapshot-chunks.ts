// Snapshots on the peer stream: one larger than a chunk travels as
// SnapshotChunk messages in order, and the receiving side of each stream
// assembles them back into the InstallSnapshot the core expects. So every
// message, and every batch, stays within bounds whatever the metadata's size.
import { paxosV1 } from '@bulwark/contracts';
import { defaultStorageLimits } from '@bulwark/paxos-storage';

/** Snapshot bytes in one SnapshotChunk. */
export const snapshotChunkBytes = 1024 * 1024;
/** Largest snapshot a stream assembles (what the storage keeps); anything claiming more is dropped. */
export const snapshotBytesMax = defaultStorageLimits.snapshotBytesMax;

/** The message as it goes on the wire: itself, or the chunks of a large snapshot. */
export function toWireMessages(message: paxosV1.Message): paxosV1.Message[] {
  const body = message.body;
  if (body?.$case !== 'installSnapshot' || body.installSnapshot.data.byteLength <= snapshotChunkBytes) return [message];
  const { ballot, lastSlot, data } = body.installSnapshot;
  const chunks: paxosV1.Message[] = [];
  for (let offset = 0; offset < data.byteLength; offset += snapshotChunkBytes) {
    chunks.push({
      from: message.from,
      to: message.to,
      body: {
        $case: 'snapshotChunk',
        snapshotChunk: {
          ballot,
          lastSlot,
          totalBytes: BigInt(data.byteLength),
          offset: BigInt(offset),
          data: data.subarray(offset, offset + snapshotChunkBytes),
        },
      },
    });
  }
  return chunks;
}

interface Assembly {
  from: string;
  lastSlot: bigint;
  data: Buffer;
  received: number;
}

/** One stream's assembly of chunked snapshots (a stream has one sender, so one assembly at a time). */
export class SnapshotAssembler {
  private assembly: Assembly | undefined;

  /**
   * Takes a chunk; returns the InstallSnapshot once the last chunk is in.
   * A chunk that does not continue the assembly in progress (or starts one
   * out of bounds) drops it: the sender resends the snapshot later.
   */
  add(message: paxosV1.Message): paxosV1.Message | undefined {
    if (message.body?.$case !== 'snapshotChunk') return undefined;
    const chunk = message.body.snapshotChunk;
    const total = Number(chunk.totalBytes);
    if (chunk.offset === 0n) {
      this.assembly = undefined;
      if (total <= 0 || total > snapshotBytesMax) return undefined;
      this.assembly = { from: message.from, lastSlot: chunk.lastSlot, data: Buffer.alloc(total), received: 0 };
    }
    const assembly = this.assembly;
    const fits =
      assembly !== undefined &&
      assembly.from === message.from &&
      assembly.lastSlot === chunk.lastSlot &&
      assembly.data.byteLength === total &&
      Number(chunk.offset) === assembly.received &&
      assembly.received + chunk.data.byteLength <= total;
    if (!fits) {
      this.assembly = undefined;
      return undefined;
    }
    chunk.data.copy(assembly.data, assembly.received);
    assembly.received += chunk.data.byteLength;
    if (assembly.received < total) return undefined;
    this.assembly = undefined;
    return {
      from: message.from,
      to: message.to,
      body: {
        $case: 'installSnapshot',
        installSnapshot: { ballot: chunk.ballot, lastSlot: chunk.lastSlot, data: assembly.data },
      },
    };
  }
}
