import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { kvV1, shardV1 } from './index';
import { encodeWithSharedWriter, serializeMessage } from './serialize-message';

const put = (key: string, valueBytes: number): kvV1.PutRequest => ({
  key,
  value: Buffer.alloc(valueBytes, 7),
  durability: kvV1.Durability.DURABILITY_SYNC,
  fence: undefined,
  requestId: `request-${key}`,
});

describe('serializeMessage', () => {
  it("writes the generated encoder's bytes, small and large messages in turn", () => {
    for (const valueBytes of [0, 100, 70_000, 10, 2 * 1024 * 1024, 3]) {
      const request = put(`key-${valueBytes}`, valueBytes);
      const bytes = serializeMessage(kvV1.PutRequest, request);
      expect(Buffer.isBuffer(bytes)).toBe(true);
      expect(bytes.equals(Buffer.from(kvV1.PutRequest.encode(request).finish()))).toBe(true);
    }
  });

  it('hands out buffers that later calls never overwrite', () => {
    const first = serializeMessage(kvV1.PutRequest, put('first', 300));
    const copy = Buffer.from(first);
    serializeMessage(kvV1.PutRequest, put('second', 300));
    expect(first.equals(copy)).toBe(true);
    expect(kvV1.PutRequest.decode(first).key).toBe('first');
  });

  it('starts clean after an encoder throws halfway', () => {
    const operation: shardV1.Operation = {
      id: 2n ** 64n,
      timeoutMs: 0,
      traceContext: undefined,
      request: { $case: 'put', put: { groupId: 'group-a', request: put('late', 10) } },
    };
    expect(() => serializeMessage(shardV1.OperateRequest, { operations: [operation] })).toThrow();
    const request = put('after', 10);
    expect(
      serializeMessage(kvV1.PutRequest, request).equals(Buffer.from(kvV1.PutRequest.encode(request).finish())),
    ).toBe(true);
  });
});

describe('encodeWithSharedWriter', () => {
  const field = (value: bigint) => (writer: BinaryWriter) =>
    writer.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.Varint).uint64(value).join();

  it('writes what a fresh writer would, and starts clean after a throw inside a fork', () => {
    expect(encodeWithSharedWriter(field(300n)).equals(Buffer.from(field(300n)(new BinaryWriter()).finish()))).toBe(
      true,
    );
    expect(() => encodeWithSharedWriter(field(2n ** 64n))).toThrow();
    expect(encodeWithSharedWriter(field(7n)).equals(Buffer.from(field(7n)(new BinaryWriter()).finish()))).toBe(true);
  });
});
