// Where one lock lives on a Redis server, and how its holder is written
// there. Every key of a lock carries the name as a Redis Cluster hash tag
// ({name}), so the scripts that touch them all stay in one slot.
import { isAttempt, ticketMax, tokenMax } from '@bulwark/lock-core';

const keyPrefix = 'bulwark:lock:';

/** Between the token, the attempt and the owner in a holder value: never part of a decimal or an attempt. */
export const holderSeparator = ':';

/** The holder key: token, attempt and owner of the current holder, with the lease as its PX TTL. */
export function holderKey(name: string): string {
  return `${keyPrefix}{${name}}`;
}

/** The fence key: the highest token ever granted for name here, as a decimal; no TTL, only ever raised. */
export function fenceKey(name: string): string {
  return `${holderKey(name)}:fence`;
}

/** The ticket counter: the highest ticket issued for name here, as a decimal; no TTL, only ever raised. */
export function ticketKey(name: string): string {
  return `${holderKey(name)}:ticket`;
}

/** The queue: a sorted set of waiterIds scored by ticket, so ordered by (ticket, waiterId bytes). */
export function queueKey(name: string): string {
  return `${holderKey(name)}:queue`;
}

/** The queue's leases: a sorted set of the same waiterIds scored by when each lease ends, in the server's ms. */
export function waiterLeasesKey(name: string): string {
  return `${holderKey(name)}:leases`;
}

/**
 * The queue's claims: a hash of the same waiterIds to what a release hands
 * the lock over as (claimValue: TTL, attempt and owner); a waiter without a
 * claim has no field.
 */
export function claimsKey(name: string): string {
  return `${holderKey(name)}:claims`;
}

/**
 * The server's mark: present while the server holds every fence, ticket and
 * lease a majority relied on it for (its value is the run id of the server
 * process that was marked). A server without it (a new server, or one that
 * lost its data) runs no lock script until it is restored from a majority
 * and marked (RedisLockServers). Outside every lock's hash tag: it is one
 * key per server, so the servers must be standalone, not a Redis Cluster.
 */
export const serverMarkKey = `${keyPrefix}mark`;

/**
 * Present on a server whose mark was taken away because it restarted
 * without appendfsync always (it may have forgotten its last writes), until
 * it is restored: such a server is not a new one, and a cluster whose
 * servers all lack a mark is only started afresh when none of them has this.
 */
export const serverSuspectKey = `${keyPrefix}suspect`;

/**
 * While an instance restores the server: a nonce of that restore, with a
 * lease each of its steps renews. Every step and the final mark require it
 * unchanged, so a restore whose target was emptied meanwhile (FLUSHALL:
 * the nonce goes too) or taken over by another instance marks nothing.
 */
export const serverRestoringKey = `${keyPrefix}restoring`;

/** A mark an operator sets by hand (README) to let a server count after a majority lost its data; taken as the server's own. */
export const manualMarkValue = 'manual';

/** Every key of every lock on a server matches this (SCAN MATCH); the mark keys do not. */
export const lockKeysPattern = `${keyPrefix}{*`;

/**
 * The seven keys every script takes, in order: the lock's holder, fence,
 * ticket counter, queue, the queue's leases and its claims, then the
 * server's mark.
 */
export function lockKeys(name: string): LockKeys {
  return [
    holderKey(name),
    fenceKey(name),
    ticketKey(name),
    queueKey(name),
    waiterLeasesKey(name),
    claimsKey(name),
    serverMarkKey,
  ];
}

export type LockKeys = readonly [string, string, string, string, string, string, string];

/** What a restore copies from a lock key found on another server: counters raised to it, a holder with its lease; the rest is renewed by its waiters. */
export type RestoredKeyKind = 'counter' | 'holder';

/** Which kind of restored key key is (by the suffix lockKeys gives it), or undefined for a queue, its leases or claims. */
export function restoredKindOf(key: string): RestoredKeyKind | undefined {
  if (!key.startsWith(`${keyPrefix}{`)) return undefined;
  if (key.endsWith('}')) return 'holder';
  if (key.endsWith('}:fence') || key.endsWith('}:ticket')) return 'counter';
  return undefined;
}

/**
 * Where a release of name is published (the message is the released
 * holder's `<token>:<attempt>`, followed by `:<token>:<attempt>` of the
 * claim it handed the lock over to, if any; handedMessagePrefix instead of
 * the released holder where the lock was free on that server and only
 * handed over), and a leave that took out the first waiter while nobody
 * holds the lock (the message is leftMessage): either way the next waiter
 * may take the lock now.
 */
export function releasedChannel(name: string): string {
  return `${holderKey(name)}:released`;
}

/** What a leave publishes on releasedChannel; never a token. */
export const leftMessage = 'left';

/** Starts a message of a handover where nothing was released (the lock was free there); never a token. */
export const handedMessagePrefix = 'handed';

export interface HolderParts {
  readonly token: bigint;
  readonly attempt: string;
  readonly owner: string;
}

/** `<token>:<attempt>:<owner>`: the owner last, as it alone may hold the separator. */
export function encodeHolder({ token, attempt, owner }: HolderParts): string {
  return `${token}${holderSeparator}${attempt}${holderSeparator}${owner}`;
}

/** A claim as the queue keeps it: `<ttl ms>:<attempt>:<owner>`, the owner last as in a holder value. */
export function encodeClaim({ ttlMs, attempt, owner }: { ttlMs: number; attempt: string; owner: string }): string {
  return `${ttlMs}${holderSeparator}${attempt}${holderSeparator}${owner}`;
}

/** The token, attempt and owner a holder value encodes, or undefined if it is not one encodeHolder wrote. */
export function decodeHolder(value: string): HolderParts | undefined {
  const tokenEnd = value.indexOf(holderSeparator);
  if (tokenEnd < 0) return undefined;
  const attemptEnd = value.indexOf(holderSeparator, tokenEnd + 1);
  if (attemptEnd < 0) return undefined;
  const token = parseToken(value.slice(0, tokenEnd));
  const attempt = value.slice(tokenEnd + 1, attemptEnd);
  if (token === undefined || !isAttempt(attempt)) return undefined;
  return { token, attempt, owner: value.slice(attemptEnd + 1) };
}

/** A token written as the scripts write it (canonical decimal, no sign, no leading zeros, at most tokenMax), or undefined. */
export function parseToken(text: string): bigint | undefined {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) return undefined;
  const token = BigInt(text);
  return token <= tokenMax ? token : undefined;
}

/** A ticket as Redis writes a sorted-set score or the scripts write the counter: a canonical decimal up to ticketMax (0 only for a counter never raised). */
export function parseTicket(text: string): bigint | undefined {
  const ticket = parseToken(text);
  return ticket !== undefined && ticket <= ticketMax ? ticket : undefined;
}
