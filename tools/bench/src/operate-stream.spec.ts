import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import type { shardV1 } from '@bulwark/contracts';
import { NotLeaderError, UnavailableError } from '@bulwark/errors';
import { OperateStream, operationFailure, type OperateCall, type OperationRequest } from './operate-stream';

class FakeCall extends EventEmitter {
  readonly written: shardV1.OperateRequest[] = [];
  ended = false;
  cancelled = false;
  write(request: shardV1.OperateRequest): boolean {
    this.written.push(request);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const get = (key: string): OperationRequest => ({
  $case: 'get',
  get: { groupId: 'group-a', request: { key, consistency: 1, maxStalenessMs: 0 } },
});
const answer = (id: bigint): shardV1.OperationResult => ({
  id,
  result: { $case: 'get', get: { response: undefined } },
});

function open(): { call: FakeCall; stream: OperateStream } {
  const call = new FakeCall();
  return { call, stream: new OperateStream(call as unknown as OperateCall) };
}

describe('OperateStream', () => {
  it('sends what is submitted in one turn as one request, with distinct ids, and settles each by its id', async () => {
    const { call, stream } = open();
    const answers = [stream.submit(get('a')), stream.submit(get('b')), stream.submit(get('c'), 500)];
    expect(call.written).toEqual([]);
    await nextTurn();
    expect(call.written).toHaveLength(1);
    const operations = call.written[0]?.operations ?? [];
    expect(operations.map((operation) => operation.id)).toEqual([1n, 2n, 3n]);
    expect(operations[2]?.timeoutMs).toBe(500);
    // Results arrive in any order.
    call.emit('data', { results: [answer(3n), answer(1n)] });
    call.emit('data', { results: [answer(2n)] });
    await expect(Promise.all(answers)).resolves.toHaveLength(3);
    const later = stream.submit(get('d'));
    await nextTurn();
    expect(call.written[1]?.operations.map((operation) => operation.id)).toEqual([4n]);
    call.emit('data', { results: [answer(4n)] });
    await later;
  });

  it('rejects a failed operation with the typed error its unary call would throw, hint included', async () => {
    const { call, stream } = open();
    const pending = stream.submit(get('a'));
    await nextTurn();
    const error: shardV1.OperationError = {
      code: status.FAILED_PRECONDITION,
      message: 'not the leader; leader is replica-2',
      detail: {
        field: '',
        leaderId: 'replica-2',
        leaderAddress: 'replica-2:7100',
        retryable: true,
        kind: 'not-leader',
      },
    };
    call.emit('data', { results: [{ id: 1n, result: { $case: 'error', error } }] });
    await expect(pending).rejects.toBeInstanceOf(NotLeaderError);
    await expect(pending).rejects.toMatchObject({ details: { leaderId: 'replica-2' } });
    expect(operationFailure({ code: status.UNAVAILABLE, message: 'down', detail: undefined })).toBeInstanceOf(
      UnavailableError,
    );
  });

  it('fails every waiting operation when the stream fails, and everything submitted after', async () => {
    const { call, stream } = open();
    const pending = [stream.submit(get('a')), stream.submit(get('b'))];
    await nextTurn();
    call.emit('error', Object.assign(new Error('gone'), { code: status.UNAVAILABLE, details: 'gone' }));
    for (const operation of pending) await expect(operation).rejects.toBeInstanceOf(UnavailableError);
    expect(stream.usable).toBe(false);
    await expect(stream.submit(get('c'))).rejects.toBeInstanceOf(UnavailableError);
  });

  it('ends an idle stream on close, and cancels one with operations waiting', async () => {
    const idle = open();
    idle.stream.close();
    expect([idle.call.ended, idle.call.cancelled]).toEqual([true, false]);
    const busy = open();
    const pending = busy.stream.submit(get('a'));
    busy.stream.close();
    expect([busy.call.ended, busy.call.cancelled]).toEqual([false, true]);
    await expect(pending).rejects.toBeInstanceOf(UnavailableError);
    await nextTurn();
    expect(busy.call.written).toEqual([]);
  });
});
