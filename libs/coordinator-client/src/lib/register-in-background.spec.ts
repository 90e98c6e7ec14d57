// A member's registration against a scripted coordinator over real gRPC: it
// registers, repeats the registration while it runs (which puts back one
// lost since), and a stateless member leaves the topology when it stops,
// never to be put back by a repeat still in flight.
import { coordinatorV1 } from '@bulwark/contracts';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { occurrence } from '@bulwark/testing';
import { startFakeCoordinator, type FakeCoordinator } from '../testing';
import { registerUntilStopped } from './register-in-background';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const header = { memberId: 'c1', epoch: 0n, ballot: undefined, revision: 3n, sequence: 0n, groupId: '' };

/** A logger whose messages the test reads, each also shown to onMessage as it is logged. */
function readableLogger(level: 'info' | 'error', onMessage: (message: string) => void = () => undefined) {
  const messages: string[] = [];
  const readable = createLogger({
    service: 'test',
    memberId: 'test',
    level,
    destination: {
      write: (line: string) => {
        const message = JSON.parse(line).msg as string;
        messages.push(message);
        onMessage(message);
      },
    },
  });
  return { logger: readable, messages };
}

describe('registerUntilStopped', () => {
  let coordinator: FakeCoordinator;

  beforeEach(async () => {
    coordinator = await startFakeCoordinator();
  });

  afterEach(() => coordinator.stop());

  it('registers, repeats the registration, and deregisters once when stopped', async () => {
    let registrations = 0;
    const repeatedTwice = occurrence();
    coordinator.answer('registerMember', () => {
      registrations += 1;
      if (registrations === 3) repeatedTwice.signal();
      return { header };
    });
    coordinator.answer('deregisterMember', () => ({ header: { ...header, revision: 4n } }));
    const [host, port] = coordinator.address.split(':') as [string, string];
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER, {
      reregistrationIntervalMs: 20,
    });
    registration.started(
      {
        memberId: 'router-7',
        advertiseAddress: { host: '127.0.0.1', port: 7200 },
        coordinators: [{ host, port: Number(port) }],
      },
      logger,
      { metricsAddress: '127.0.0.1:9464' },
    );
    await repeatedTwice.happened;
    await registration.leave();
    const methods = coordinator.received.map((entry) => entry.method);
    // Every repeat is the same record; the last word is the deregistration, with nothing after it.
    expect(methods.at(-1)).toBe('deregisterMember');
    expect(methods.filter((method) => method === 'deregisterMember')).toHaveLength(1);
    const records = coordinator.requests('registerMember').map((request) => request.member);
    expect(new Set(records.map((member) => JSON.stringify(member))).size).toBe(1);
    expect(records[0]).toMatchObject({ id: 'router-7', address: '127.0.0.1:7200', metricsAddress: '127.0.0.1:9464' });
    expect(coordinator.requests('deregisterMember')[0]?.memberId).toBe('router-7');
    // Nothing comes after it: five repeat intervals later, the repeats have stopped.
    const answered = coordinator.received.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(coordinator.received).toHaveLength(answered);
  });

  const startLock = (registration: ReturnType<typeof registerUntilStopped>, memberLogger = logger) => {
    const [host, port] = coordinator.address.split(':') as [string, string];
    registration.started(
      {
        memberId: 'lock-7',
        advertiseAddress: { host: '127.0.0.1', port: 7300 },
        coordinators: [{ host, port: Number(port) }],
      },
      memberLogger,
      { metricsAddress: undefined },
    );
  };

  it('deregisters a member whose first registration is unanswered when it stops: the registration may yet commit', async () => {
    const sent = occurrence();
    coordinator.answer('registerMember', () => {
      sent.signal();
      return new Promise<never>(() => undefined);
    });
    coordinator.answer('deregisterMember', () => ({ header: { ...header, revision: 4n } }));
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK);
    startLock(registration);
    await sent.happened;
    await registration.leave();
    // No attempt after the leave began (the one in flight ran to its deadline), then the deregistration.
    expect(coordinator.received.map((entry) => entry.method)).toEqual(['registerMember', 'deregisterMember']);
    expect(coordinator.requests('deregisterMember')[0]?.memberId).toBe('lock-7');
  });

  it('lets a first registration in flight finish before deregistering, so it cannot commit after', async () => {
    const sent = occurrence();
    const answered = occurrence();
    coordinator.answer('registerMember', () => {
      sent.signal();
      return answered.happened.then(() => ({ header }));
    });
    coordinator.answer('deregisterMember', () => ({ header: { ...header, revision: 4n } }));
    const { logger: watchingLogger, messages } = readableLogger('info');
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK);
    startLock(registration, watchingLogger);
    await sent.happened;
    const leaving = registration.leave();
    // The leader answers only after the member began to leave: the member still takes the answer in (cancelling
    // the attempt instead would leave a registration that commits unseen), and deregisters after it.
    answered.signal();
    await leaving;
    expect(messages).toEqual(['registered with coordinators', 'deregistered from coordinators']);
    expect(coordinator.received.map((entry) => entry.method)).toEqual(['registerMember', 'deregisterMember']);
  });

  it('does not deregister a member whose registration is refused after it began to leave', async () => {
    const sent = occurrence();
    const refused = occurrence();
    coordinator.answer('registerMember', () => {
      sent.signal();
      return refused.happened.then(() => {
        throw new FailedPreconditionError('member.role', "member 'lock-7' is registered as router");
      });
    });
    coordinator.answer('deregisterMember', () => ({ header: { ...header, revision: 4n } }));
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK);
    startLock(registration);
    await sent.happened;
    const leaving = registration.leave();
    // The id belongs to another member: deregistering would take that one out.
    refused.signal();
    await leaving;
    expect(coordinator.received.map((entry) => entry.method)).toEqual(['registerMember']);
  });

  it('stops retrying a repeat when the member leaves, and deregisters after its attempt in flight', async () => {
    let registrations = 0;
    const repeatSent = occurrence();
    coordinator.answer('registerMember', () => {
      registrations += 1;
      if (registrations === 1) return { header };
      repeatSent.signal();
      // Retryable: without the stop, the repeat would go on trying for its 10 s.
      throw new UnavailableError('no leader yet');
    });
    coordinator.answer('deregisterMember', () => ({ header: { ...header, revision: 4n } }));
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK, {
      reregistrationIntervalMs: 20,
    });
    startLock(registration);
    await repeatSent.happened;
    await registration.leave();
    expect(coordinator.received.map((entry) => entry.method)).toEqual([
      'registerMember',
      'registerMember',
      'deregisterMember',
    ]);
  });

  it('keeps trying at every repeat after the first registration went unanswered, and registers once they answer', async () => {
    let down = true;
    const answered = occurrence();
    coordinator.answer('registerMember', () => {
      if (down) throw new UnavailableError('no leader yet');
      answered.signal();
      return { header };
    });
    coordinator.answer('deregisterMember', () => ({ header: { ...header, revision: 4n } }));
    const firstGaveUp = occurrence();
    const { logger: watchingLogger, messages } = readableLogger('info', (message) => {
      if (message.startsWith('registration with coordinators failed')) firstGaveUp.signal();
    });
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK, {
      reregistrationIntervalMs: 20,
      firstRegistrationDeadlineMs: 50,
    });
    startLock(registration, watchingLogger);
    await firstGaveUp.happened;
    // The coordinators come back after the first registration gave up: a repeat registers the member.
    down = false;
    await answered.happened;
    await registration.leave();
    expect(messages).toEqual([
      'registration with coordinators failed; trying again at every repeat',
      'registered with coordinators',
      'deregistered from coordinators',
    ]);
  });

  it('does not deregister a member whose registration was refused', async () => {
    coordinator.answer('registerMember', () => {
      throw new FailedPreconditionError('member.address', 'another member has this address');
    });
    const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK);
    // The member's own log line of the refusal is the event that says it took the answer in.
    const refusalTaken = occurrence();
    const { logger: watchingLogger } = readableLogger('error', (message) => {
      if (message.startsWith('registration with coordinators refused')) refusalTaken.signal();
    });
    startLock(registration, watchingLogger);
    await refusalTaken.happened;
    await registration.leave();
    expect(coordinator.requests('deregisterMember')).toEqual([]);
  });
});
