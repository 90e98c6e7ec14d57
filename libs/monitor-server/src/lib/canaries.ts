// Client-visible availability. Health checks say a process answers; a canary
// says a client is served: every intervalMs each canary does what a client
// does (a write and a STRONG read of one replica group's key through one
// router; a lock grant and release through one lock service) and reports
// the run. Runs of one canary never overlap: while a run is still going
// (bounded by its deadline) the next rounds skip that canary, so a hung
// target costs one run per deadline, not a pile of calls.
import { kvV1, lockV1 } from '@bulwark/contracts';
import { parseHostPort } from '@bulwark/config';
import { CancelledError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { ChannelPool, createClient, fastReconnectChannelOptions } from '@bulwark/rpc';
import { CanaryFailure, probeKv, probeLock } from './canary-probes';
import { integerOption } from './integer-option';

export type CanaryTarget =
  | {
      readonly kind: 'kv';
      readonly routerId: string;
      readonly routerAddress: string;
      readonly groupId: string;
      /** A key of groupId that no other canary writes (canaryKeyFor). */
      readonly key: string;
    }
  | { readonly kind: 'lock'; readonly lockId: string; readonly lockAddress: string };

export interface CanaryRun {
  /** kv/<routerId>/<groupId> or lock/<lockId>. */
  readonly canaryId: string;
  readonly kind: 'kv' | 'lock';
  /** The router or lock service the run went through. */
  readonly targetId: string;
  /** The group whose key a kv run wrote; null for locks. */
  readonly groupId: string | null;
  readonly ok: boolean;
  readonly startUnixMs: number;
  readonly endUnixMs: number;
  /** Both calls, on the monotonic clock. */
  readonly latencyMs: number;
  /**
   * null when ok. For a failed call "<gRPC code name>: <method>: <message>"
   * ("UNAVAILABLE: Put: ..."); for an answer that is wrong, what was wrong
   * ("stale read: ...", "not acquired: ...", "wrong group: ...").
   */
  readonly error: string | null;
}

export interface CanariesOptions {
  /** This monitor's member id: the lock owner, and part of every canary key and lock name. */
  readonly monitorId: string;
  /** Called with every run of a canary that is still in the set when the run ends. */
  readonly onRun: (run: CanaryRun) => void;
  /** Between rounds; default 1,000. */
  readonly intervalMs?: number;
  /** Longest a run (both calls) may take; default 2,000. */
  readonly deadlineMs?: number;
  /** Lease of the canary lock, so a run that cannot release it does not hold it long; default 5,000. */
  readonly lockTtlMs?: number;
  /** Wall clock for the runs' times; default Date.now. */
  readonly nowUnixMs?: () => number;
  /** Monotonic clock for latencies and deadlines; default performance.now. */
  readonly nowMonoMs?: () => number;
  /** Where a throwing onRun is reported. */
  readonly logger?: Logger;
}

export const canaryDefaults = Object.freeze({ intervalMs: 1_000, deadlineMs: 2_000, lockTtlMs: 5_000 });
/** Canaries at once: every router times every group, plus every lock service. */
export const canariesMax = 4_096;
/** Every canary key starts with this: a prefix no application key should use. */
export const canaryKeyPrefix = '__bulwark/canary/';
/** Candidate keys canaryKeyFor tries before it gives up on a group. */
export const canaryKeyTriesMax = 10_000;
/** kv.v1 key limit (KeyValue.key): 1 to 1024 bytes of UTF-8. */
export const kvKeyBytesMax = 1_024;
/** lock.v1 limits (AcquireRequest.name, .owner), in characters. */
export const lockNameCharactersMax = 256;
export const lockOwnerCharactersMax = 128;
/** lock.v1 lease limits (AcquireRequest.ttl_ms). */
export const lockTtlMsMin = 100;
export const lockTtlMsMax = 3_600_000;
/** Longest interval or deadline taken: anything longer is a mistake, not a setting. */
const hourMs = 3_600_000;

export function canaryIdOf(target: CanaryTarget): string {
  return target.kind === 'kv' ? `kv/${target.routerId}/${target.groupId}` : `lock/${target.lockId}`;
}

/**
 * The lock a monitor's canary takes through one lock service. Every lock
 * service shares the same backends, so the name carries the lock service's
 * id as well as the monitor's: the canaries of one monitor through two lock
 * services run at the same moment, and two monitors run side by side.
 */
export function canaryLockNameOf(monitorId: string, lockId: string): string {
  return `bulwark-canary/${monitorId}/${lockId}`;
}

/**
 * A key that `lookup` (the router's ring, e.g. hashRingOf(ring).lookup)
 * places in groupId: the first of
 * `__bulwark/canary/<monitorId>/<routerId>/<groupId>/<n>` for n = 0, 1, ...
 * that maps there, so the group's canary really writes to that group. The
 * router's id is in the key because canaries of one group through several
 * routers run at the same moment: on one key each would read the others'
 * values as stale. Throws NotFoundError when none of the first triesMax
 * candidates maps to the group (it is not on the ring).
 */
export function canaryKeyFor(
  groupId: string,
  lookup: (key: string) => string,
  monitorId: string,
  routerId: string,
  triesMax = canaryKeyTriesMax,
): string {
  const stem = `${canaryKeyPrefix}${monitorId}/${routerId}/${groupId}/`;
  // The longest candidate must fit: kv.v1 refuses a longer key.
  if (Buffer.byteLength(`${stem}${triesMax - 1}`) > kvKeyBytesMax) {
    throw new InvalidArgumentError('groupId', `makes canary keys longer than ${kvKeyBytesMax} bytes`);
  }
  for (let n = 0; n < triesMax; n += 1) {
    const key = `${stem}${n}`;
    if (lookup(key) === groupId) return key;
  }
  throw new NotFoundError('groupId', `none of ${triesMax} canary keys maps to group '${groupId}': is it on the ring?`);
}

function characterCount(text: string): number {
  return [...text].length;
}

/** Throws InvalidArgumentError naming the first field at fault: every later run would fail on it. */
function validTargets(targets: readonly CanaryTarget[], monitorId: string): Map<string, CanaryTarget> {
  if (targets.length > canariesMax) {
    throw new InvalidArgumentError('targets', `lists ${targets.length} canaries, more than canariesMax ${canariesMax}`);
  }
  const byId = new Map<string, CanaryTarget>();
  const keyOwners = new Map<string, string>();
  targets.forEach((target, index) => {
    const id = canaryIdOf(target);
    const address = target.kind === 'kv' ? target.routerAddress : target.lockAddress;
    const addressField = `targets[${index}].${target.kind === 'kv' ? 'routerAddress' : 'lockAddress'}`;
    const parsed = parseHostPort(address);
    if (typeof parsed === 'string') throw new InvalidArgumentError(addressField, parsed);
    if (byId.has(id)) throw new InvalidArgumentError(`targets[${index}]`, `repeats canary ${id}`);
    if (target.kind === 'kv') {
      const keyBytes = Buffer.byteLength(target.key);
      if (keyBytes === 0 || keyBytes > kvKeyBytesMax) {
        throw new InvalidArgumentError(`targets[${index}].key`, `must be 1 to ${kvKeyBytesMax} bytes of UTF-8`);
      }
      // Two canaries on one key would each read the other's value as stale.
      const owner = keyOwners.get(target.key);
      if (owner) throw new InvalidArgumentError(`targets[${index}].key`, `is also canary ${owner}'s key`);
      keyOwners.set(target.key, id);
    } else if (characterCount(canaryLockNameOf(monitorId, target.lockId)) > lockNameCharactersMax) {
      throw new InvalidArgumentError(
        `targets[${index}].lockId`,
        `makes the canary lock name longer than ${lockNameCharactersMax} characters`,
      );
    }
    byId.set(id, target);
  });
  return byId;
}

export class Canaries {
  private readonly intervalMs: number;
  private readonly deadlineMs: number;
  private readonly lockTtlMs: number;
  private readonly nowUnixMs: () => number;
  private readonly nowMonoMs: () => number;
  private targets = new Map<string, CanaryTarget>();
  /** By canary id, the target of the run in flight: its channel stays open until the run ends. */
  private readonly running = new Map<string, CanaryTarget>();
  /** Resolve as the runs in flight end; stop() waits for them. */
  private readonly runsInFlight = new Set<Promise<CanaryRun>>();
  private readonly kvClients = new ChannelPool(
    (address) => createClient(kvV1.KVClient, address, fastReconnectChannelOptions),
    () => new CancelledError('the canaries are stopped'),
  );
  private readonly lockClients = new ChannelPool(
    (address) => createClient(lockV1.LockClient, address, fastReconnectChannelOptions),
    () => new CancelledError('the canaries are stopped'),
  );
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: CanariesOptions) {
    const owner = characterCount(options.monitorId);
    if (owner === 0 || owner > lockOwnerCharactersMax) {
      throw new InvalidArgumentError('monitorId', `must be 1 to ${lockOwnerCharactersMax} characters (the lock owner)`);
    }
    this.intervalMs = integerOption('intervalMs', options.intervalMs, canaryDefaults.intervalMs, 1, hourMs);
    this.deadlineMs = integerOption('deadlineMs', options.deadlineMs, canaryDefaults.deadlineMs, 1, hourMs);
    this.lockTtlMs = integerOption(
      'lockTtlMs',
      options.lockTtlMs,
      canaryDefaults.lockTtlMs,
      lockTtlMsMin,
      lockTtlMsMax,
    );
    this.nowUnixMs = options.nowUnixMs ?? Date.now;
    this.nowMonoMs = options.nowMonoMs ?? (() => performance.now());
  }

  /**
   * Replaces the set of canaries. A canary that stays keeps its run in
   * flight; one that goes has its run's outcome dropped. Channels to
   * addresses that no canary and no run in flight uses are closed.
   */
  setTargets(targets: readonly CanaryTarget[]): void {
    this.targets = validTargets(targets, this.options.monitorId);
    this.closeUnusedChannels();
  }

  /** Runs a round now and then every intervalMs, until stop(). */
  start(): void {
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    void this.runOnce();
  }

  /**
   * One round: starts a run of every canary whose previous run has ended
   * and resolves with the runs it started, once they have all ended, those
   * of canaries removed meanwhile left out (as they are from onRun).
   */
  async runOnce(): Promise<CanaryRun[]> {
    if (this.stopped) return [];
    const started: Promise<CanaryRun | undefined>[] = [];
    for (const [canaryId, target] of this.targets) {
      if (this.running.has(canaryId)) continue;
      started.push(this.run(canaryId, target));
    }
    const runs = await Promise.all(started);
    return runs.filter((run): run is CanaryRun => run !== undefined);
  }

  /** Stops the rounds, waits for the runs in flight (each ends by its deadline) and closes every channel. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.runsInFlight);
    this.kvClients.close();
    this.lockClients.close();
  }

  /** The addresses that have an open channel, for each kind. */
  openChannels(): { kv: string[]; lock: string[] } {
    return { kv: this.kvClients.addresses().sort(), lock: this.lockClients.addresses().sort() };
  }

  /** One run of a canary; undefined when the canary was removed before the run ended. */
  private async run(canaryId: string, target: CanaryTarget): Promise<CanaryRun | undefined> {
    this.running.set(canaryId, target);
    const outcome = this.attempt(canaryId, target);
    this.runsInFlight.add(outcome);
    const run = await outcome;
    this.runsInFlight.delete(outcome);
    this.running.delete(canaryId);
    this.closeUnusedChannels();
    if (!this.targets.has(canaryId)) return undefined;
    try {
      this.options.onRun(run);
    } catch (error) {
      this.options.logger?.error({ err: error, canaryId }, 'canary run listener failed');
    }
    return run;
  }

  private async attempt(canaryId: string, target: CanaryTarget): Promise<CanaryRun> {
    const startUnixMs = this.nowUnixMs();
    const startMonoMs = this.nowMonoMs();
    const deadline = { atMonoMs: startMonoMs + this.deadlineMs, totalMs: this.deadlineMs, nowMonoMs: this.nowMonoMs };
    let error: string | null = null;
    try {
      if (target.kind === 'kv') {
        await probeKv(this.kvClients.get(target.routerAddress), target, deadline);
      } else {
        const lock = {
          name: canaryLockNameOf(this.options.monitorId, target.lockId),
          owner: this.options.monitorId,
          ttlMs: this.lockTtlMs,
        };
        await probeLock(this.lockClients.get(target.lockAddress), lock, deadline);
      }
    } catch (failure) {
      error = failure instanceof CanaryFailure ? failure.message : `INTERNAL: ${String(failure)}`;
    }
    return {
      canaryId,
      kind: target.kind,
      targetId: target.kind === 'kv' ? target.routerId : target.lockId,
      groupId: target.kind === 'kv' ? target.groupId : null,
      ok: error === null,
      startUnixMs,
      endUnixMs: this.nowUnixMs(),
      latencyMs: this.nowMonoMs() - startMonoMs,
      error,
    };
  }

  private closeUnusedChannels(): void {
    if (this.stopped) return;
    const inUse = [...this.targets.values(), ...this.running.values()];
    const kvInUse = new Set(inUse.flatMap((target) => (target.kind === 'kv' ? [target.routerAddress] : [])));
    const lockInUse = new Set(inUse.flatMap((target) => (target.kind === 'lock' ? [target.lockAddress] : [])));
    for (const address of this.kvClients.addresses()) if (!kvInUse.has(address)) this.kvClients.drop(address);
    for (const address of this.lockClients.addresses()) if (!lockInUse.has(address)) this.lockClients.drop(address);
  }
}
