// What one canary run does, as a client would: the kv probe writes a fresh
// value through a router and reads it back with a STRONG get; the lock probe
// takes a lock with TryAcquire and releases it. Both calls of a run share
// one deadline. A probe resolves when the client would have been served and
// throws CanaryFailure, whose message is the run's error, when it would not.
import { status } from '@grpc/grpc-js';
import { randomBytes, randomUUID } from 'node:crypto';
import { kvV1, type commonV1, type lockV1 } from '@bulwark/contracts';
import { BulwarkError } from '@bulwark/errors';
import { callUnary, codeByKind, type UnaryMethod } from '@bulwark/rpc';

/** Why a run failed, as CanaryRun.error reports it. */
export class CanaryFailure extends Error {}

/** The monotonic ms by which a run must end, and the clock that tells how much is left. */
export interface RunDeadline {
  readonly atMonoMs: number;
  readonly totalMs: number;
  readonly nowMonoMs: () => number;
}

/** Bytes of the random value a kv probe writes: enough that two runs never write the same one. */
const kvValueBytes = 16;

/** "UNAVAILABLE", "DEADLINE_EXCEEDED", ...: the code the failed call ended with. */
function codeNameOf(error: unknown): string {
  // callUnary rejects with the typed error rebuilt from the status; anything else failed before a call was made.
  return error instanceof BulwarkError ? (status[codeByKind[error.kind]] ?? 'UNKNOWN') : 'INTERNAL';
}

/** One unary call with what is left of the run's deadline; a failure names the code and the method. */
async function call<Req, Res>(
  method: string,
  client: kvV1.KVClient | lockV1.LockClient,
  unary: UnaryMethod<Req, Res>,
  request: Req,
  deadline: RunDeadline,
): Promise<Res> {
  const leftMs = deadline.atMonoMs - deadline.nowMonoMs();
  if (leftMs <= 0) {
    throw new CanaryFailure(`DEADLINE_EXCEEDED: ${method}: no time left of the run's ${deadline.totalMs} ms deadline`);
  }
  try {
    return await callUnary(client, unary, request, { deadlineMs: leftMs });
  } catch (error) {
    throw new CanaryFailure(
      `${codeNameOf(error)}: ${method}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * The router names the group that answered: a key that no longer maps to
 * the canary's group (the ring changed and the monitor has not caught up)
 * says nothing about that group, so it is not a success.
 */
function requireGroup(method: string, header: commonV1.ResponseHeader | undefined, groupId: string): void {
  const answeredBy = header?.groupId ?? '';
  if (answeredBy !== '' && answeredBy !== groupId) {
    throw new CanaryFailure(
      `wrong group: ${method} was answered by group '${answeredBy}', not '${groupId}': the canary key no longer maps to its group`,
    );
  }
}

/** Put(key, fresh value) then a STRONG Get(key) that must return exactly that value. */
export async function probeKv(
  client: kvV1.KVClient,
  target: { readonly key: string; readonly groupId: string },
  deadline: RunDeadline,
): Promise<void> {
  const value = randomBytes(kvValueBytes);
  const put = await call<kvV1.PutRequest, kvV1.PutResponse>(
    'Put',
    client,
    client.put,
    {
      key: target.key,
      value,
      expectedVersion: undefined,
      // The group's configured mode: what a client that does not choose gets.
      durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
      fence: undefined,
      // The router retries within the deadline; the id makes those retries one write.
      requestId: `canary-${randomUUID()}`,
    },
    deadline,
  );
  requireGroup('Put', put.header, target.groupId);
  const got = await call<kvV1.GetRequest, kvV1.GetResponse>(
    'Get',
    client,
    client.get,
    { key: target.key, consistency: kvV1.Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
    deadline,
  );
  requireGroup('Get', got.header, target.groupId);
  if (!got.found || !got.kv) {
    throw new CanaryFailure(`stale read: Get found no ${target.key} after Put wrote version ${put.version}`);
  }
  if (!got.kv.value.equals(value)) {
    throw new CanaryFailure(
      `stale read: Get returned version ${got.kv.version} of ${target.key}, not the value Put wrote as version ${put.version}`,
    );
  }
}

/**
 * TryAcquire(name) as owner, then Release of exactly that grant; a lock
 * someone else holds is a failure. A lock this canary itself still holds (an
 * earlier run's Release or answer was lost) is released and taken again, so
 * one lost answer does not fail every run until the TTL ends.
 */
export async function probeLock(
  client: lockV1.LockClient,
  lock: { readonly name: string; readonly owner: string; readonly ttlMs: number },
  deadline: RunDeadline,
): Promise<void> {
  const tryAcquire = () =>
    call<lockV1.TryAcquireRequest, lockV1.TryAcquireResponse>(
      'TryAcquire',
      client,
      client.tryAcquire,
      { name: lock.name, owner: lock.owner, ttlMs: lock.ttlMs },
      deadline,
    );
  const release = (token: bigint, leaseId: string) =>
    call<lockV1.ReleaseRequest, lockV1.ReleaseResponse>(
      'Release',
      client,
      client.release,
      { name: lock.name, owner: lock.owner, token, leaseId },
      deadline,
    );
  let grant = await tryAcquire();
  if (!grant.acquired && grant.holder?.owner === lock.owner) {
    await release(grant.holder.token, '');
    grant = await tryAcquire();
  }
  if (!grant.acquired) {
    const holder = grant.holder
      ? `'${grant.holder.owner}' (token ${grant.holder.token}, ${grant.holder.remainingTtlMs} ms left)`
      : 'an unknown holder';
    throw new CanaryFailure(`not acquired: ${lock.name} is held by ${holder}`);
  }
  await release(grant.token, grant.leaseId);
}
