// A registration whose answer is lost is retried with the same request_id,
// so the coordinators answer the retry instead of applying it again.
import { coordinatorV1 } from '@bulwark/contracts';
import { UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { notImplemented, startServer, type RunningServer } from '@bulwark/rpc';
import { registerMember } from './register-member';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const member = {
  id: 'router-1',
  address: '127.0.0.1:7200',
  role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
  groupId: '',
  metricsAddress: '',
};

describe('registerMember', () => {
  let server: RunningServer;
  const received: coordinatorV1.RegisterMemberRequest[] = [];

  beforeAll(async () => {
    server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => {
      const unserved = notImplemented('test');
      const implementation: coordinatorV1.CoordinatorServer = {
        getLeader: kit.unary(unserved),
        getTopology: kit.unary(unserved),
        watchTopology: kit.serverStream(async () => unserved()),
        // The first attempt's answer is lost (as after a commit whose answer never arrived); the retry is answered.
        registerMember: kit.unary((request) => {
          received.push(request);
          if (received.length === 1) throw new UnavailableError('answer lost');
          return { header: { memberId: 'c1', epoch: 0n, ballot: undefined, revision: 7n, sequence: 0n, groupId: '' } };
        }),
        deregisterMember: kit.unary(unserved),
        reportSuspect: kit.unary(unserved),
        failover: kit.unary(unserved),
        createGroup: kit.unary(unserved),
        deleteGroup: kit.unary(unserved),
        setRing: kit.unary(unserved),
        renewPrimaryLease: kit.unary(unserved),
        updateInSyncSet: kit.unary(unserved),
      };
      return [{ definition: coordinatorV1.CoordinatorService, implementation }];
    });
  });

  afterAll(() => server.drain('test done'));

  it('sends every attempt of one registration with the same request_id, and a new registration with another', async () => {
    const options = {
      coordinators: [`127.0.0.1:${server.port}`],
      member,
      logger,
      callDeadlineMs: 2_000,
      totalDeadlineMs: 10_000,
      policy: { attemptsMax: 3, initialBackoffMs: 1, backoffMsMax: 1, multiplier: 1 },
    };
    const response = await registerMember(options);
    expect(response.header?.revision).toBe(7n);
    expect(received).toHaveLength(2);
    const [first, retry] = received;
    expect(first?.requestId).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(retry?.requestId).toBe(first?.requestId);
    expect(retry?.member).toEqual(member);
    await registerMember(options);
    expect(received[2]?.requestId).not.toBe(first?.requestId);
  });
});
