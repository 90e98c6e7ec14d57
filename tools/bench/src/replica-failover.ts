// Replica group failover under a writing client: SIGKILL of the primary,
// then the time until a write is acknowledged by another member (the new
// primary). One client writes continuously, one Put at a time, each retried
// with its request_id until acknowledged, following not-primary hints and
// asking the coordinators where the primary is when a member gives none.
// The killed member is restarted and back in the in-sync set before the next
// kill, so every kill starts from a whole group.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { kvV1 } from '@bulwark/contracts';
import { NotLeaderError } from '@bulwark/errors';
import { callUnary } from '@bulwark/rpc';
import { groupId, replicaNames, type ReplicaFleet } from './replica-fleet';

/** A kill is given up on when no other member acknowledges a write within this. */
export const failoverGiveUpMs = 30_000;
/** How long a restarted member may take to be healthy, and then to be back in sync. */
const rejoinTimeoutMs = 60_000;
/** Per attempt: a write stuck longer (a member cut off mid-call) is retried with the same request_id. */
const writeDeadlineMs = 1_000;
/** Between attempts that got no primary hint, so a dead primary is not asked in a tight loop. */
const retryPauseMs = 5;
const valueBytes = 100;

export interface FailoverKill {
  killed: string;
  epochBefore: bigint;
  /** Kill to the first write acknowledged by another member; undefined when given up on. */
  ackMs?: number;
  newPrimary?: string;
  /** The group record's epoch after that write. */
  epochAfter?: bigint;
  /** Restart of the killed member to all 3 in sync again. */
  rejoinMs?: number;
  note?: string;
}

interface Ack {
  atMs: number;
  member: string;
}

interface Watch {
  sinceMs: number;
  notFrom: string;
  ack?: Ack;
}

const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

class ContinuousWriter {
  private stopped = false;
  private watch: Watch | undefined;
  private readonly loop: Promise<void>;
  private readonly runId = randomUUID().slice(0, 8);
  private readonly value = Buffer.alloc(valueBytes, 'f');
  /** The latest failed attempt's error, for a kill given up on. */
  lastError = '';

  constructor(
    private readonly fleet: ReplicaFleet,
    private guess: string,
  ) {
    this.loop = this.run();
  }

  /** The first write acknowledged at or after sinceMs by a member other than notFrom ('' for any). */
  async ackAfter(sinceMs: number, notFrom: string, timeoutMs: number): Promise<Ack | undefined> {
    const watch: Watch = { sinceMs, notFrom };
    this.watch = watch;
    // The ack is timed when it arrives; polling only decides when we notice.
    while (watch.ack === undefined && performance.now() - sinceMs < timeoutMs) await pause(retryPauseMs);
    if (this.watch === watch) this.watch = undefined;
    return watch.ack;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const request: kvV1.PutRequest = {
        key: `failover-${String(n % 1_000_000).padStart(7, '0')}`,
        value: this.value,
        durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
        fence: undefined,
        requestId: `${this.runId}-${n}`,
      };
      while (!this.stopped && !(await this.attempt(request))) {
        // attempt chose where to try next
      }
    }
  }

  /** One try of a write; true once acknowledged. */
  private async attempt(request: kvV1.PutRequest): Promise<boolean> {
    const shard = this.fleet.shard(this.guess);
    try {
      const answer = await callUnary(shard, shard.put, { groupId, request }, { deadlineMs: writeDeadlineMs });
      const ack = { atMs: performance.now(), member: answer.response?.header?.memberId ?? this.guess };
      const watch = this.watch;
      if (watch && watch.ack === undefined && ack.atMs >= watch.sinceMs && ack.member !== watch.notFrom) {
        watch.ack = ack;
      }
      return true;
    } catch (error) {
      this.lastError = `${this.guess}: ${String(error)}`;
      const hint = error instanceof NotLeaderError ? error.details.leaderId : undefined;
      if (hint !== undefined && hint !== this.guess && (replicaNames as readonly string[]).includes(hint)) {
        this.guess = hint;
        return false;
      }
      // No usable hint (the member is down or not serving yet): ask the coordinators.
      const primary = await this.fleet.group().then(
        (group) => group.primary,
        () => '',
      );
      if (primary !== '') this.guess = primary;
      await pause(retryPauseMs);
      return false;
    }
  }
}

/** Every member answers an EVENTUAL read: each client channel is connected before the kill (none in backoff). */
async function connectAll(fleet: ReplicaFleet): Promise<void> {
  await Promise.all(
    replicaNames.map(async (member) => {
      const shard = fleet.shard(member);
      const request = {
        key: 'failover-0000000',
        consistency: kvV1.Consistency.CONSISTENCY_EVENTUAL,
        maxStalenessMs: 0,
      };
      await callUnary(shard, shard.get, { groupId, request }, { deadlineMs: 10_000, waitForReady: true });
    }),
  );
}

async function killOnce(fleet: ReplicaFleet, writer: ContinuousWriter): Promise<FailoverKill> {
  await fleet.groupWhen(
    'a primary with 3 members in sync',
    rejoinTimeoutMs,
    (group) => group.primary !== '' && group.inSync.length === 3,
  );
  await connectAll(fleet);
  if (!(await writer.ackAfter(performance.now(), '', failoverGiveUpMs))) {
    throw new Error(`the writer got no write acknowledged within ${failoverGiveUpMs} ms (${writer.lastError})`);
  }
  const before = await fleet.group();
  const killed = before.primary;
  const killedAtMs = performance.now();
  const acked = writer.ackAfter(killedAtMs, killed, failoverGiveUpMs);
  await fleet.launched.fleet.kill(killed, 'SIGKILL');
  const ack = await acked;
  const result: FailoverKill = { killed, epochBefore: before.epoch };
  if (ack) {
    result.ackMs = ack.atMs - killedAtMs;
    result.newPrimary = ack.member;
    result.epochAfter = await fleet.group().then(
      (group) => group.epoch,
      () => undefined,
    );
  } else {
    result.note = `no write acknowledged within ${failoverGiveUpMs} ms (last error ${writer.lastError})`;
  }
  return result;
}

/** Restarts a killed member; ms until it is healthy and the group has all 3 in sync again. */
async function rejoin(fleet: ReplicaFleet, killed: string): Promise<number> {
  const startedAtMs = performance.now();
  fleet.launched.fleet.start(killed);
  await fleet.launched.fleet.waitHealthy(rejoinTimeoutMs, [killed]);
  await fleet.groupWhen(`${killed} back in the in-sync set`, rejoinTimeoutMs, (group) => group.inSync.length === 3);
  return performance.now() - startedAtMs;
}

/**
 * `kills` failovers in a row. A kill with no acknowledged write within 30 s
 * is reported and the next one follows; a member that does not come back
 * ends the series (the group is not whole), reported on the last kill.
 */
export async function measureFailovers(fleet: ReplicaFleet, kills: number): Promise<FailoverKill[]> {
  const writer = new ContinuousWriter(fleet, (await fleet.group()).primary);
  const results: FailoverKill[] = [];
  try {
    for (let kill = 0; kill < kills; kill++) {
      let result: FailoverKill;
      try {
        result = await killOnce(fleet, writer);
      } catch (error) {
        results.push({ killed: '-', epochBefore: 0n, note: `series ended: ${String(error)}` });
        break;
      }
      results.push(result);
      try {
        result.rejoinMs = await rejoin(fleet, result.killed);
      } catch (error) {
        result.note = [result.note, `series ended: ${String(error)}`].filter(Boolean).join('; ');
        break;
      }
    }
  } finally {
    await writer.stop();
  }
  return results;
}
