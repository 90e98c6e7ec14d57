// A stored snapshot read from memory, in the chunks a file's is read in.
import { FailedPreconditionError } from '@bulwark/errors';
import type { SnapshotMeta, StoredSnapshot } from './replica-types';
import { snapshotChunkBytes } from './snapshot-file';

export class MemoryStoredSnapshot implements StoredSnapshot {
  private released = false;

  constructor(
    readonly meta: SnapshotMeta,
    private readonly data: Uint8Array,
  ) {}

  chunks(): AsyncIterable<Uint8Array> {
    if (this.released) throw new FailedPreconditionError('snapshot', 'chunks() may be read once, before close()');
    this.released = true;
    return this.readChunks();
  }

  close(): void {
    this.released = true;
  }

  private async *readChunks(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < this.data.length; offset += snapshotChunkBytes) {
      yield this.data.slice(offset, offset + snapshotChunkBytes);
    }
  }
}
