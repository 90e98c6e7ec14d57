// Real coordinator processes refuse what they could not safely log before
// proposing it: requests with 1 MiB fields, fired at once so they would land
// in one Paxos persist batch, are all INVALID_ARGUMENT naming the field,
// nothing of them reaches the leader's disk, and the leader keeps serving.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coordinatorV1 } from '@bulwark/contracts';
import { callUnary, createClient } from '@bulwark/rpc';
import { freePort, killAllProcesses, startService, waitForServing, type ManagedProcess } from '@bulwark/testing';
import { rejection } from '@bulwark/errors/testing';
import { leaseHolder } from './support/lease-holder';

const { MemberRole, ReplicationMode } = coordinatorV1;
const mebibyte = 1024 * 1024;

interface Member {
  id: string;
  address: string;
  dataDir: string;
  process: ManagedProcess;
  client: coordinatorV1.CoordinatorClient;
}

/** Bytes of every file in a data directory: what the member has made durable. */
function durableBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
}

describe('coordinator request limits on a 3-member cluster', () => {
  const root = mkdtempSync(join(tmpdir(), 'bulwark-coordinator-limits-'));
  const members: Member[] = [];
  let leader: Member;

  beforeAll(async () => {
    const ports = await Promise.all([1, 2, 3].map(() => freePort()));
    const peers = ports.map((port, index) => `c${index + 1}=127.0.0.1:${port}`).join(',');
    for (const [index, port] of ports.entries()) {
      const id = `c${index + 1}`;
      const address = `127.0.0.1:${port}`;
      const dataDir = join(root, id);
      const process = startService('coordinator', {
        BULWARK_MEMBER_ID: id,
        BULWARK_LISTEN_ADDR: address,
        BULWARK_ADVERTISE_ADDR: address,
        BULWARK_PEERS: peers,
        BULWARK_DATA_DIR: dataDir,
      });
      members.push({ id, address, dataDir, process, client: createClient(coordinatorV1.CoordinatorClient, address) });
    }
    await Promise.all(members.map((member) => waitForServing(member.address, 30_000, { process: member.process })));
    const holder = await leaseHolder(new Map(members.map((member) => [member.id, member.client])));
    leader = members.find((member) => member.id === holder) as Member;
  }, 60_000);

  afterAll(async () => {
    for (const member of members) member.client.close();
    await killAllProcesses();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses three concurrent 1 MiB-field requests before proposing them, and the leader keeps serving', async () => {
    const { client } = leader;
    const big = 'a'.repeat(mebibyte);
    const before = durableBytes(leader.dataDir);
    const call = <Req, Res>(method: Parameters<typeof callUnary<Req, Res>>[1], request: Req) =>
      callUnary(client, method, request, { deadlineMs: 10_000 });
    const refusals = await Promise.all([
      rejection(
        call(client.registerMember, {
          member: {
            id: 'router-big',
            address: `${big}:1`,
            role: MemberRole.MEMBER_ROLE_ROUTER,
            groupId: '',
            metricsAddress: '',
          },
          requestId: '',
        }),
      ),
      rejection(
        call(client.registerMember, {
          member: {
            id: big,
            address: '127.0.0.1:9999',
            role: MemberRole.MEMBER_ROLE_ROUTER,
            groupId: '',
            metricsAddress: '',
          },
          requestId: '',
        }),
      ),
      rejection(
        call(client.createGroup, {
          groupId: big,
          members: ['replica-1'],
          mode: ReplicationMode.REPLICATION_MODE_SYNC,
          requestId: '',
        }),
      ),
    ]);
    expect(refusals.map((error) => [error.name, error.details.field])).toEqual([
      ['InvalidArgumentError', 'member.address'],
      ['InvalidArgumentError', 'member.id'],
      ['InvalidArgumentError', 'group_id'],
    ]);
    // None of the 3 MiB was logged (a proposal is made durable before it is sent).
    expect(durableBytes(leader.dataDir) - before).toBeLessThan(mebibyte);
    const registered = await call(client.registerMember, {
      member: {
        id: 'router-small',
        address: '127.0.0.1:9998',
        role: MemberRole.MEMBER_ROLE_ROUTER,
        groupId: '',
        metricsAddress: '',
      },
      requestId: '',
    });
    expect(registered.header?.revision).toBeGreaterThan(0n);
    expect(members.every((member) => member.process.alive)).toBe(true);
  });
});
