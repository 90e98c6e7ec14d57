// GetDurableState over real gRPC: every member asked at once, each within
// the deadline; silence, an unreachable address and an answer from another
// member than the one asked are left out.
import { createLogger } from '@bulwark/logging';
import { serveFakeReplicas, type FakeReplicas } from '../testing';
import { GrpcDurableStates } from './durable-states';

describe('GrpcDurableStates', () => {
  let replicas: FakeReplicas;
  let states: GrpcDurableStates;

  beforeAll(async () => {
    replicas = await serveFakeReplicas(['r1', 'r2', 'r3']);
  });

  afterAll(() => replicas.stop());

  beforeEach(() => {
    replicas.reset();
    states = new GrpcDurableStates(createLogger({ service: 'test', memberId: 'c1', level: 'fatal' }));
  });

  afterEach(() => states.close());

  const member = (id: string) => ({ id, address: replicas.get(id).address });

  it('asks every member at once and keeps the answers of those that answered in time', async () => {
    replicas.answer({ r1: [4n, 10n], r2: 'silent', r3: [3n, 12n] });
    const answers = await states.ask('g1', [member('r1'), member('r2'), member('r3')]);
    expect(answers).toEqual([
      { memberId: 'r1', lastEpoch: 4n, durableSequence: 10n },
      { memberId: 'r3', lastEpoch: 3n, durableSequence: 12n },
    ]);
    for (const id of ['r1', 'r2', 'r3']) expect(replicas.get(id).asked).toEqual(['g1']);
  });

  it('leaves out an answer from another member than the one asked (a reused address), and an unreachable one', async () => {
    replicas.answer({ r3: [4n, 10n] });
    const answers = await states.ask('g1', [
      { id: 'r2', address: replicas.get('r3').address },
      // Nothing listens on port 1.
      { id: 'r1', address: '127.0.0.1:1' },
    ]);
    expect(answers).toEqual([]);
  });

  it('answers a later ask on the same channels', async () => {
    replicas.answer({ r1: [1n, 1n] });
    await states.ask('g1', [member('r1')]);
    replicas.answer({ r1: [1n, 2n] });
    expect(await states.ask('g1', [member('r1')])).toEqual([{ memberId: 'r1', lastEpoch: 1n, durableSequence: 2n }]);
  });
});
