import { paxosV1 } from '@bulwark/contracts';
import { SnapshotAssembler, snapshotBytesMax, snapshotChunkBytes, toWireMessages } from './snapshot-chunks';

function snapshotMessage(bytes: number): paxosV1.Message {
  const data = Buffer.alloc(bytes, 7);
  return {
    from: 'a',
    to: 'b',
    body: { $case: 'installSnapshot', installSnapshot: { ballot: { round: 1n, nodeId: 'a' }, lastSlot: 4n, data } },
  };
}

describe('snapshot chunks', () => {
  it('leave a snapshot of one chunk or less whole', () => {
    const message = snapshotMessage(snapshotChunkBytes);
    expect(toWireMessages(message)).toEqual([message]);
  });

  it('split a larger one into chunks that assemble back into it', () => {
    const message = snapshotMessage(snapshotChunkBytes * 2 + 1);
    const chunks = toWireMessages(message);
    expect(chunks).toHaveLength(3);
    const assembler = new SnapshotAssembler();
    expect(assembler.add(chunks[0]!)).toBeUndefined();
    expect(assembler.add(chunks[1]!)).toBeUndefined();
    const assembled = assembler.add(chunks[2]!);
    if (assembled?.body?.$case !== 'installSnapshot' || message.body?.$case !== 'installSnapshot') {
      throw new Error('expected an assembled snapshot');
    }
    expect(assembled.body.installSnapshot.lastSlot).toBe(4n);
    expect(assembled.body.installSnapshot.data.equals(message.body.installSnapshot.data)).toBe(true);
  });

  it('drop an assembly when a chunk is missing, and start afresh with the next snapshot', () => {
    const chunks = toWireMessages(snapshotMessage(snapshotChunkBytes * 3));
    const assembler = new SnapshotAssembler();
    assembler.add(chunks[0]!);
    expect(assembler.add(chunks[2]!)).toBeUndefined();
    // The rest of the broken assembly is ignored too.
    expect(assembler.add(chunks[1]!)).toBeUndefined();
    for (const chunk of chunks.slice(0, 2)) expect(assembler.add(chunk)).toBeUndefined();
    expect(assembler.add(chunks[2]!)?.body?.$case).toBe('installSnapshot');
  });

  it('refuse a snapshot that claims more than snapshotBytesMax', () => {
    const [first] = toWireMessages(snapshotMessage(snapshotChunkBytes + 1));
    if (first?.body?.$case !== 'snapshotChunk') throw new Error('expected a chunk');
    first.body.snapshotChunk.totalBytes = BigInt(snapshotBytesMax + 1);
    const assembler = new SnapshotAssembler();
    expect(assembler.add(first)).toBeUndefined();
    first.body.snapshotChunk.totalBytes = BigInt(first.body.snapshotChunk.data.byteLength);
    expect(assembler.add(first)?.body?.$case).toBe('installSnapshot');
  });
});
