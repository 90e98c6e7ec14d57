// A Hold session tells its holder RELEASED only for a release of its own
// grant: the same token released by another attempt (one that took it on a
// minority and undid it there) is not its loss.
import { lockV1 } from '@bulwark/contracts';
import { LockQuorum, MemoryLockServer } from '@bulwark/lock-core';
import { createLogger } from '@bulwark/logging';
import { HoldSession, type HoldEvent } from './hold-session';
import { LocalLockEvents } from './local-lock-events';
import { Locks } from './locks';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });

/**
 * A Hold session that holds lock L for alice over one in-memory server,
 * whose releases nobody publishes: the tests emit the events.
 */
async function holding() {
  const server = new MemoryLockServer('s1', () => performance.now());
  const events = new LocalLockEvents();
  const quorum = new LockQuorum({ servers: [server], nowMs: () => performance.now(), callTimeoutMs: 1_000 });
  const locks = new Locks({ quorum, events, logger, instanceId: 'lock-1' });
  const sent: HoldEvent[] = [];
  const session = new HoldSession(locks, { send: (event) => sent.push(event), end: () => {} }, logger);
  await session.handle({
    action: { $case: 'acquire', acquire: { name: 'L', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 } },
  });
  const holder = (await server.inspect('L')).holder;
  if (!holder || sent[0]?.$case !== 'granted') throw new Error('expected the grant');
  return { server, events, locks, sent, session, holder };
}

describe('HoldSession', () => {
  it('reports RELEASED for a release of its own grant, not for another attempt with the same token', async () => {
    const { events, sent, session, holder } = await holding();
    try {
      events.emit('L', { kind: 'released', token: holder.token, attempt: `${holder.attempt}-other` }, 's1');
      expect(sent.map((event) => event.$case)).toEqual(['granted']);
      events.emit('L', { kind: 'released', token: holder.token, attempt: holder.attempt }, 's1');
      expect(sent[1]).toMatchObject({ $case: 'lost', lost: { cause: lockV1.LossCause.LOSS_CAUSE_RELEASED } });
    } finally {
      session.close();
    }
  });

  it('looks again when a server comes back after a time unheard, and reports RELEASED for a release it missed', async () => {
    const { server, events, locks, sent, session, holder } = await holding();
    try {
      // Still held: coming back changes nothing.
      events.emit('L', { kind: 'resubscribed' }, 's1');
      await locks.inspect('L');
      expect(sent.map((event) => event.$case)).toEqual(['granted']);
      // Released by another call while its news was lost (nobody publishes here).
      await server.release('L', 'alice', holder.token);
      events.emit('L', { kind: 'resubscribed' }, 's1');
      for (let turn = 0; turn < 100 && sent.length < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(sent[1]).toMatchObject({ $case: 'lost', lost: { cause: lockV1.LossCause.LOSS_CAUSE_RELEASED } });
    } finally {
      session.close();
    }
  });
});
