// Encodes a message into one reused BinaryWriter: a fresh writer starts at
// 128 bytes and doubles (copying) as a batch grows, and the generated
// serializers then copied the result once more into a Buffer. Reused, the
// writer grows once; finish() hands out an exact-size copy, wrapped without
// another. Encoding is synchronous and calls no user code, so one writer
// per process is safe. tools/codegen/generate.mjs points the generated
// gRPC serializers here; the WAL's record codec writes through it too.
import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** What of a generated message type encoding needs. */
export interface MessageEncoder<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

/** Past this, a writer grown by one big message is let go rather than kept for the process' life. */
const keptCapacityMax = 1024 * 1024;

let writer = new BinaryWriter();

/**
 * The bytes `write` puts into the shared writer, as a Buffer of exactly
 * their length; for hand-written encodings (the WAL's records) as much as
 * generated ones. `write` must not encode anything else meanwhile.
 */
export function encodeWithSharedWriter(write: (writer: BinaryWriter) => BinaryWriter): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = write(writer).finish();
  } catch (error) {
    // A value with no encoding (a bigint out of range) threw halfway: the writer holds a partial message.
    writer = new BinaryWriter();
    throw error;
  }
  if (bytes.byteLength > keptCapacityMax) writer = new BinaryWriter();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The wire bytes of `message` as a Buffer of exactly their length. */
export function serializeMessage<T>(type: MessageEncoder<T>, message: T): Buffer {
  return encodeWithSharedWriter((shared) => type.encode(message, shared));
}
