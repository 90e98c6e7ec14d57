// Where one lock lives on a Redis server, and how its holder is written
// there. Every key of a lock carries the name as a Redis Cluster hash tag
// ({name}), so the scripts that touch them all stay in one slot.

const keyPrefix = 'bulwark:lock:';

/** Fencing tokens are uint64. */
export const tokenMax = 2n ** 64n - 1n;

/** Between token and owner in a holder value: never part of a decimal, so the first one ends the token. */
export const holderSeparator = ':';

/** The holder key: owner and token of the current holder, with the lease as its PX TTL. */
export function holderKey(name: string): string {
  return `${keyPrefix}{${name}}`;
}

/** The fence key: the highest token ever granted for name here, as a decimal; no TTL, only ever raised. */
export function fenceKey(name: string): string {
  return `${holderKey(name)}:fence`;
}

/** Where a release of name is published; the message is the released token. */
export function releasedChannel(name: string): string {
  return `${holderKey(name)}:released`;
}

export function encodeHolder(owner: string, token: bigint): string {
  return `${token}${holderSeparator}${owner}`;
}

/** The owner and token a holder value encodes, or undefined if it is not one encodeHolder wrote. */
export function decodeHolder(value: string): { owner: string; token: bigint } | undefined {
  const separatorAt = value.indexOf(holderSeparator);
  if (separatorAt < 0) return undefined;
  const token = parseToken(value.slice(0, separatorAt));
  return token === undefined ? undefined : { owner: value.slice(separatorAt + 1), token };
}

/** A token written as the scripts write it (canonical decimal, no sign, no leading zeros, at most tokenMax), or undefined. */
export function parseToken(text: string): bigint | undefined {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) return undefined;
  const token = BigInt(text);
  return token <= tokenMax ? token : undefined;
}
