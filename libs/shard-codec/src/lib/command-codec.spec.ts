import fc from 'fast-check';
import { kvV1, replicationV1 } from '@bulwark/contracts';
import type { Command } from '@bulwark/kv-state';
import { anyCommandArbitrary } from '../testing';
import {
  CommandDecodeError,
  decodeCommand,
  emptyNoopCommand,
  encodedCommandBytes,
  encodeCommand,
} from './command-codec';

const bytes = (text: string) => new TextEncoder().encode(text);
const raw = (message: Partial<replicationV1.Command>) =>
  replicationV1.Command.encode(replicationV1.Command.fromPartial(message as replicationV1.Command)).finish();

function expectCorrupt(data: Uint8Array, pattern: RegExp): void {
  let caught: unknown;
  try {
    decodeCommand(data);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CommandDecodeError);
  expect((caught as Error).message).toMatch(/^replication command: /);
  expect((caught as Error).message).toMatch(pattern);
}

describe('encodeCommand / decodeCommand', () => {
  const examples: Record<string, Command> = {
    put: {
      requestId: 'r',
      writtenUnixMs: 1_700_000_000_000n,
      fence: { lockName: 'l', token: 3n },
      body: { type: 'op', op: { type: 'put', key: 'k', value: bytes('v'), expectedVersion: 0n } },
    },
    'put of an empty value': {
      requestId: '',
      writtenUnixMs: 1n,
      body: { type: 'op', op: { type: 'put', key: 'k', value: new Uint8Array(0) } },
    },
    delete: { requestId: '', writtenUnixMs: 5n, body: { type: 'op', op: { type: 'delete', key: '😀' } } },
    txn: {
      requestId: 't',
      writtenUnixMs: (1n << 64n) - 1n,
      body: {
        type: 'txn',
        compares: [
          { key: 'a', target: 'version', op: 'gt', version: 2n },
          { key: 'b', target: 'value', op: 'ne', value: bytes('x') },
          { key: 'c', target: 'value', op: 'eq', value: new Uint8Array(0) },
        ],
        success: [
          { type: 'put', key: 'a', value: bytes('1') },
          { type: 'delete', key: 'b' },
        ],
        failure: [{ type: 'delete', key: 'a' }],
      },
    },
    'empty txn': { requestId: '', writtenUnixMs: 0n, body: { type: 'txn', compares: [], success: [], failure: [] } },
    'stamped noop': { requestId: '', writtenUnixMs: 42n, body: { type: 'noop' } },
  };

  it.each(Object.entries(examples))('round-trips a %s', (_name, command) => {
    const encoded = encodeCommand(command);
    expect(Buffer.isBuffer(encoded)).toBe(true);
    expect(decodeCommand(encoded)).toEqual(command);
    expect(decodeCommand(new Uint8Array(encoded))).toEqual(command);
  });

  it('writes the fields replication.v1.Command names', () => {
    const message = replicationV1.Command.decode(encodeCommand(examples['txn'] as Command));
    expect(message.requestId).toBe('t');
    expect(message.body?.$case).toBe('txn');
    const txn = message.body?.$case === 'txn' ? message.body.txn : undefined;
    expect(txn?.compares[0]).toMatchObject({
      key: 'a',
      target: kvV1.CompareTarget.COMPARE_TARGET_VERSION,
      operator: kvV1.CompareOperator.COMPARE_OPERATOR_GREATER,
      version: 2n,
    });
    expect(txn?.success[1]).toMatchObject({ key: 'b', op: { $case: 'delete', delete: true } });
  });

  it('reads the empty entry as the no-op kv-state applies, and writes the bare no-op as the empty entry', () => {
    expect(decodeCommand(new Uint8Array(0))).toEqual({ requestId: '', writtenUnixMs: 0n, body: { type: 'noop' } });
    expect(decodeCommand(new Uint8Array(0))).toBe(emptyNoopCommand);
    expect(encodeCommand(emptyNoopCommand)).toHaveLength(0);
    expect(encodeCommand({ requestId: '', writtenUnixMs: 0n, body: { type: 'noop' } })).toHaveLength(0);
  });

  it('round-trips any command the types allow (property)', () => {
    fc.assert(
      fc.property(anyCommandArbitrary, (command) => {
        const decoded = decodeCommand(encodeCommand(command));
        expect(decoded).toEqual(command);
        expect(encodeCommand(decoded).equals(encodeCommand(command))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('knows how many bytes it writes (property)', () => {
    fc.assert(
      fc.property(anyCommandArbitrary, (command) => {
        expect(encodedCommandBytes(command)).toBe(encodeCommand(command).length);
      }),
      { numRuns: 500 },
    );
    const big: Command = {
      requestId: 'r'.repeat(200),
      writtenUnixMs: (1n << 64n) - 1n,
      body: {
        type: 'op',
        op: { type: 'put', key: 'k'.repeat(1024), value: new Uint8Array(1024 * 1024), expectedVersion: 1n << 63n },
      },
    };
    expect(encodedCommandBytes(big)).toBe(encodeCommand(big).length);
  });

  it('refuses to encode what would decode as another command', () => {
    const put = (key: string): Command => ({
      requestId: '',
      writtenUnixMs: 0n,
      body: { type: 'op', op: { type: 'delete', key } },
    });
    expect(() => encodeCommand(put('a\ud800'))).toThrow(RangeError);
    expect(() => encodeCommand({ ...put('a'), requestId: '\udc00' })).toThrow(/requestId/);
    expect(() => encodeCommand({ ...put('a'), fence: { lockName: '\ud800', token: 1n } })).toThrow(/fence\.lockName/);
    expect(() => encodeCommand({ ...put('a'), writtenUnixMs: -1n })).toThrow(/writtenUnixMs/);
    expect(() => encodeCommand({ ...put('a'), fence: { lockName: 'l', token: 1n << 64n } })).toThrow(/fence\.token/);
    expect(() =>
      encodeCommand({
        requestId: '',
        writtenUnixMs: 0n,
        body: {
          type: 'txn',
          compares: [{ key: 'a', target: 'value', op: 'lt', value: bytes('') } as never],
          success: [],
          failure: [],
        },
      }),
    ).toThrow(/txn\.compares\[0\]/);
    expect(() => encodeCommand({ ...put('a'), body: { type: 'op', op: { type: 'get', key: 'a' } as never } })).toThrow(
      RangeError,
    );
  });
});

describe('decodeCommand on bytes that are not a Command', () => {
  const valid = encodeCommand({
    requestId: 'r',
    writtenUnixMs: 9n,
    body: { type: 'op', op: { type: 'put', key: 'key', value: bytes('value') } },
  });

  it('refuses every truncation inside a field; one at a field boundary is a shorter Command', () => {
    // request_id (3 bytes), written_unix_ms (2 bytes), then the op: protobuf has no end marker, so a cut
    // between fields reads as a message without the fields after it. The log's record checksum catches those.
    const decoded: number[] = [];
    for (let length = 1; length < valid.length; length++) {
      try {
        const command = decodeCommand(valid.subarray(0, length));
        expect(encodeCommand(command).equals(valid.subarray(0, length))).toBe(true);
        decoded.push(length);
      } catch (error) {
        expect(error).toBeInstanceOf(CommandDecodeError);
      }
    }
    expect(decoded).toEqual([3, 5]);
  });

  it('refuses trailing bytes, a zero tag and unknown fields', () => {
    expectCorrupt(Buffer.concat([valid, Buffer.from([0])]), /20 bytes hold what encodeCommand writes in 19/);
    // An unknown field 6, and field 15.
    expectCorrupt(Buffer.concat([valid, Buffer.from([0x30, 0x01])]), /21 bytes hold what encodeCommand writes in 19/);
    expectCorrupt(Buffer.from([0x78, 0x01]), /2 bytes hold what encodeCommand writes in 0/);
  });

  it('refuses a repeated field, a default value written out and a padded varint', () => {
    // request_id twice: a protobuf reader keeps the last.
    expectCorrupt(Buffer.from([0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62]), /6 bytes hold what encodeCommand writes in 3/);
    // written_unix_ms = 0 written out.
    expectCorrupt(Buffer.from([0x0a, 0x01, 0x61, 0x10, 0x00]), /5 bytes hold what encodeCommand writes in 3/);
    // written_unix_ms = 1 as a two-byte varint.
    expectCorrupt(Buffer.from([0x10, 0x81, 0x00]), /3 bytes hold what encodeCommand writes in 2/);
    // request_id "a" sent with the wire type of a varint: skipped by the reader as an unknown field.
    expectCorrupt(Buffer.from([0x0a, 0x01, 0x61, 0x08, 0x01]), /5 bytes hold what encodeCommand writes in 3/);
  });

  it('reads fields in any order, which changes no meaning', () => {
    // written_unix_ms = 9 before request_id "r".
    expect(decodeCommand(Buffer.from([0x10, 0x09, 0x0a, 0x01, 0x72]))).toEqual({
      requestId: 'r',
      writtenUnixMs: 9n,
      body: { type: 'noop' },
    });
  });

  it('refuses invalid UTF-8 in a string, which a lenient decoder would turn into U+FFFD', () => {
    // request_id (field 1) of the lone byte 0xff.
    expectCorrupt(Buffer.from([0x0a, 0x01, 0xff]), /not valid for encoding utf-8/);
    // An incomplete 4-byte sequence: one U+FFFD, the same length as the 3 bytes it replaces.
    expectCorrupt(Buffer.from([0x0a, 0x03, 0xf0, 0x9f, 0x98]), /not valid for encoding utf-8/);
    // A byte-order mark is text in a protobuf string, kept.
    expect(decodeCommand(Buffer.from([0x0a, 0x03, 0xef, 0xbb, 0xbf])).requestId).toBe('\ufeff');
  });

  it('refuses a varint or length that runs past the end', () => {
    expectCorrupt(Buffer.from([0x10, 0xff]), /not a protobuf message/);
    expectCorrupt(Buffer.from([0x0a, 0x05, 0x61]), /not a protobuf message/);
  });

  it('refuses an op with neither put_value nor delete, or delete = false', () => {
    expectCorrupt(
      raw({ body: { $case: 'op', op: { key: 'k', op: undefined } } }),
      /op has neither put_value nor delete/,
    );
    expectCorrupt(
      raw({ body: { $case: 'op', op: { key: 'k', op: { $case: 'delete', delete: false } } } }),
      /op has delete = false/,
    );
  });

  it('refuses compares of an unknown target or an operator its target does not take', () => {
    const txn = (compare: Partial<kvV1.Compare>) =>
      raw({
        body: {
          $case: 'txn',
          txn: { compares: [kvV1.Compare.fromPartial({ key: 'a', ...compare })], success: [], failure: [] },
        },
      });
    expectCorrupt(txn({ target: 0, operator: 1 }), /txn\.compares\[0\] has target 0 with operator 1/);
    expectCorrupt(txn({ target: 1, operator: 0 }), /txn\.compares\[0\]/);
    expectCorrupt(txn({ target: 2, operator: 3 }), /txn\.compares\[0\]/);
    // A version compare carrying a value is not what encodeCommand writes.
    expectCorrupt(
      txn({ target: 1, operator: 1, value: Buffer.from('x') }),
      /14 bytes hold what encodeCommand writes in 11/,
    );
  });

  it('either refuses arbitrary bytes or reads a command encodeCommand writes in as many bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (data) => {
        let command: Command;
        try {
          command = decodeCommand(data);
        } catch (error) {
          expect(error).toBeInstanceOf(CommandDecodeError);
          return;
        }
        const encoded = encodeCommand(command);
        expect(encoded).toHaveLength(data.length);
        expect(decodeCommand(encoded)).toEqual(command);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a field-by-field mutation of a valid entry as another valid command or refuses it (property)', () => {
    fc.assert(
      fc.property(anyCommandArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (command, at, flip) => {
        const data = Buffer.from(encodeCommand(command));
        if (data.length === 0) return;
        data[at % data.length] = (data[at % data.length] as number) ^ flip;
        try {
          const decoded = decodeCommand(data);
          expect(encodeCommand(decoded)).toHaveLength(data.length);
        } catch (error) {
          expect(error).toBeInstanceOf(CommandDecodeError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses what is not a Uint8Array', () => {
    expect(() => decodeCommand('abc' as never)).toThrow(CommandDecodeError);
  });
});
