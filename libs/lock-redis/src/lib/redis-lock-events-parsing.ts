// What RedisLockEvents reads off a Redis server, as pure functions: the
// messages on a lock's released channel, the keys in expiry notifications,
// and the server settings that lock safety and expiry wakeups depend on.
import { isAttempt } from '@bulwark/lock-core';
import { handedMessagePrefix, holderKey, holderSeparator, leftMessage, parseToken } from './lock-keys';

/** A grant by token and attempt: who a release handed the lock over to. */
export interface HandedTo {
  readonly token: bigint;
  readonly attempt: string;
}

export type ReleasedMessage =
  | { readonly kind: 'released'; readonly token: bigint; readonly attempt: string; readonly handedTo?: HandedTo }
  | { readonly kind: 'handed'; readonly handedTo: HandedTo }
  | { readonly kind: 'left' };

/**
 * What a released-channel message says (`<token>:<attempt>` of the
 * released holder, then `:<token>:<attempt>` of the claim it was handed
 * over to, if any; `handed:<token>:<attempt>` of a claim a free lock was
 * handed over to; or left), or undefined for one no script sends.
 */
export function parseReleasedMessage(message: string): ReleasedMessage | undefined {
  if (message === leftMessage) return { kind: 'left' };
  const parts = message.split(holderSeparator);
  if (parts[0] === handedMessagePrefix) {
    const handedTo = parts.length === 3 ? grantOf(parts[1] as string, parts[2] as string) : undefined;
    return handedTo && { kind: 'handed', handedTo };
  }
  if (parts.length !== 2 && parts.length !== 4) return undefined;
  const released = grantOf(parts[0] as string, parts[1] as string);
  if (!released) return undefined;
  if (parts.length === 2) return { kind: 'released', ...released };
  const handedTo = grantOf(parts[2] as string, parts[3] as string);
  return handedTo && { kind: 'released', ...released, handedTo };
}

function grantOf(tokenText: string, attempt: string): HandedTo | undefined {
  const token = parseToken(tokenText);
  return token === undefined || !isAttempt(attempt) ? undefined : { token, attempt };
}

// holderKey(name) is prefix + name + suffix; derived from holderKey so the two stay one shape.
const holderKeyOfEmpty = holderKey('');
const holderKeyPrefix = holderKeyOfEmpty.slice(0, -1);
const holderKeySuffix = holderKeyOfEmpty.slice(-1);

/**
 * The lock name whose holder key is key, or undefined for any other key.
 * The other keys of a lock end in a suffix after the hash tag (`:fence`,
 * `:queue`, ...), never in the tag's closing brace, so they are never taken
 * for a holder key, whatever the name holds: keep it so for new keys.
 */
export function nameOfHolderKey(key: string): string | undefined {
  if (key.length < holderKeyOfEmpty.length) return undefined;
  if (!key.startsWith(holderKeyPrefix) || !key.endsWith(holderKeySuffix)) return undefined;
  const name = key.slice(holderKeyPrefix.length, key.length - holderKeySuffix.length);
  return name.length > 0 && holderKey(name) === key ? name : undefined;
}

/** A server's answers to CONFIG GET: the value, or the error that CONFIG GET gave (disabled, renamed, refused by ACL). */
export interface ServerSettings {
  readonly appendonly: string | Error;
  readonly appendfsync: string | Error;
  readonly notifyKeyspaceEvents: string | Error;
  /** Unread (undefined) when the caller did not ask. */
  readonly maxmemory?: string | Error;
  readonly maxmemoryPolicy?: string | Error;
}

export interface ServerSafety {
  /** appendonly yes and appendfsync always: an acknowledged fence raise survives a crash. undefined when unknown. */
  readonly appendfsyncAlways: boolean | undefined;
  /** notify-keyspace-events announces expired keys (E and x): waiters hear when a holder's lease ends. undefined when unknown. */
  readonly expiryEvents: boolean | undefined;
  /** Every reason to warn about this server, in one line; undefined when there is none. */
  readonly problem: string | undefined;
}

export function judgeServerSettings(settings: ServerSettings): ServerSafety {
  const problems: string[] = [];
  const failures = [settings.appendonly, settings.appendfsync, settings.notifyKeyspaceEvents].filter(
    (value): value is Error => value instanceof Error,
  );
  if (failures.length > 0) {
    problems.push(`CONFIG GET failed (${failures[0]?.message}): the server's durability and expiry events are unknown`);
  }

  let appendfsyncAlways: boolean | undefined;
  if (typeof settings.appendonly === 'string' && typeof settings.appendfsync === 'string') {
    appendfsyncAlways = settings.appendonly === 'yes' && settings.appendfsync === 'always';
    if (!appendfsyncAlways) {
      problems.push(
        `appendonly is ${quoted(settings.appendonly)} and appendfsync ${quoted(settings.appendfsync)}` +
          ' (needs yes and always): a crash can forget an acknowledged fence raise, and the same token be granted twice',
      );
    }
  }

  let expiryEvents: boolean | undefined;
  if (typeof settings.notifyKeyspaceEvents === 'string') {
    expiryEvents = expiryEventsEnabled(settings.notifyKeyspaceEvents);
    if (!expiryEvents) {
      problems.push(
        `notify-keyspace-events is ${quoted(settings.notifyKeyspaceEvents)} (needs E and x, as in Ex):` +
          ' an expired holder is not announced, so waiters only notice it when they re-check',
      );
    }
  }
  // With a memory limit, every policy but noeviction deletes keys: volatile-* a holder before its lease ends
  // (two holders), allkeys-* a fence too (a token granted twice).
  const { maxmemory, maxmemoryPolicy } = settings;
  if (
    typeof maxmemory === 'string' &&
    maxmemory !== '0' &&
    typeof maxmemoryPolicy === 'string' &&
    maxmemoryPolicy !== 'noeviction'
  ) {
    problems.push(
      `maxmemory is ${quoted(maxmemory)} with maxmemory-policy ${quoted(maxmemoryPolicy)} (needs noeviction or` +
        ' no limit): evicting a holder key ends a lease early, evicting a fence lets a token be granted twice',
    );
  }
  return { appendfsyncAlways, expiryEvents, problem: problems.length > 0 ? problems.join('; ') : undefined };
}

/** Whether notify-keyspace-events flags publish expired keys on __keyevent@<db>__:expired. */
export function expiryEventsEnabled(flags: string): boolean {
  // The flags are case-sensitive; A stands for every event class but m and n, so x included.
  return flags.includes('E') && (flags.includes('x') || flags.includes('A'));
}

/** The value of a CONFIG GET reply ([parameter, value]), or an Error when the server does not know the parameter. */
export function configValueOf(parameter: string, reply: unknown): string | Error {
  if (Array.isArray(reply) && reply.length === 2 && reply[0] === parameter && typeof reply[1] === 'string') {
    return reply[1];
  }
  return new Error(`no value for ${parameter}`);
}

function quoted(value: string): string {
  return JSON.stringify(value);
}
