// The id of one grant attempt (one grant round of a LockQuorum). Tokens are
// unique only among grants that counted; attempts are unique among all
// grants, so a server's holder says exactly which attempt took it there.
import { InvalidArgumentError } from '@bulwark/errors';

export const attemptLengthMax = 64;

/** Room for the '.' and a counter up to 2^53 - 1 (16 digits) after a quorum's prefix. */
export const attemptPrefixLengthMax = attemptLengthMax - 17;

// Never ':': it separates token, attempt and owner in a Redis holder value and a release message.
const attemptCharacters = /^[A-Za-z0-9_.-]+$/;

export function isAttempt(text: string): boolean {
  return text.length >= 1 && text.length <= attemptLengthMax && attemptCharacters.test(text);
}

export function requireAttempt(attempt: string): void {
  if (isAttempt(attempt)) return;
  throw new InvalidArgumentError('attempt', `must be 1 to ${attemptLengthMax} characters of A-Z, a-z, 0-9, _, . and -`);
}

export function requireAttemptPrefix(prefix: string): void {
  if (prefix.length <= attemptPrefixLengthMax && attemptCharacters.test(prefix)) return;
  throw new InvalidArgumentError(
    'attemptPrefix',
    `must be 1 to ${attemptPrefixLengthMax} characters of A-Z, a-z, 0-9, _, . and -`,
  );
}
