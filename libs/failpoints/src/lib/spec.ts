// What a failpoint does when enabled, written as gofail writes its terms
// (etcd-io/gofail): an action, optionally after a probability "P%" and a
// count "N*", e.g. `crash`, `2*error(EIO)`, `50%sleep(100)`, `10%3*crash`.
// Unlike gofail, one point takes one term (no "->" chains), and probability
// and count may be combined: a pass fires with chance P, at most N times.
import { InvalidArgumentError } from '@bulwark/errors';
import { declarationOf, failpointsOf, isFailpointName, type FailpointName } from './catalog';

/** The error codes error(...) may inject: a failed disk and a full one. */
export const injectedErrorCodes = ['EIO', 'ENOSPC'] as const;
export type InjectedErrorCode = (typeof injectedErrorCodes)[number];

/** Longest sleep(ms): a stall, not a hang. */
export const sleepMsMax = 600_000;
/** Largest count N in N*: a limit on everything. */
export const countMax = 1_000_000_000;

export type FailpointAction =
  /** The process dies at once, as by kill -9. */
  | { readonly type: 'crash' }
  /** A power loss: what this process wrote to its logs after their last fsync is lost, then it dies as by crash. */
  | { readonly type: 'crash-lose-unsynced' }
  /** The file operation that follows fails with this code, as Node's fs would fail it. */
  | { readonly type: 'error'; readonly code: InjectedErrorCode }
  | { readonly type: 'sleep'; readonly ms: number }
  /** A bug point's bug is switched on. */
  | { readonly type: 'on' };

export interface FailpointSpec {
  readonly action: FailpointAction;
  /** The chance, in (0, 1], that one pass through the point fires. */
  readonly probability: number;
  /** Fires at most this many times, then the point is off; undefined: no limit. */
  readonly count: number | undefined;
}

/** A failpoint and what it is set to do; undefined spec: off. */
export interface FailpointSetting {
  readonly name: FailpointName;
  readonly spec: FailpointSpec | undefined;
}

const termPattern = /^(?:(\d{1,3}(?:\.\d{1,6})?)%)?(?:(\d{1,10})\*)?([a-z-]+)(?:\((.*)\))?$/;
const actionsText = 'off, on, crash, crash-lose-unsynced, error(EIO), error(ENOSPC) or sleep(ms)';

/** Parses a term; throws InvalidArgumentError naming `field` (the failpoint) and what is wrong. */
export function parseFailpointSpec(field: string, text: string): FailpointSpec | undefined {
  const term = text.trim();
  const fail = (problem: string): never => {
    throw new InvalidArgumentError(field, problem);
  };
  const match = termPattern.exec(term);
  if (!match) {
    return fail(`must be ${actionsText}, optionally after P% (a chance) and N* (a count), got "${term}"`);
  }
  const [, percentText, countText, word, argument] = match;
  let action: FailpointAction | 'off';
  switch (word) {
    case 'off':
    case 'on':
    case 'crash':
    case 'crash-lose-unsynced':
      if (argument !== undefined) fail(`${word} takes no argument, got "${term}"`);
      action = word === 'off' ? 'off' : { type: word };
      break;
    case 'error': {
      const code = injectedErrorCodes.find((known) => known === argument);
      if (!code) return fail(`error takes ${injectedErrorCodes.join(' or ')}, got "${term}"`);
      action = { type: 'error', code };
      break;
    }
    case 'sleep': {
      const ms = argument !== undefined && /^\d{1,6}$/.test(argument) ? Number(argument) : Number.NaN;
      if (!(ms <= sleepMsMax)) return fail(`sleep takes milliseconds from 0 to ${sleepMsMax}, got "${term}"`);
      action = { type: 'sleep', ms };
      break;
    }
    default:
      return fail(`must be ${actionsText}, got "${term}"`);
  }
  if (action === 'off') {
    if (percentText !== undefined || countText !== undefined) fail(`off takes no chance or count, got "${term}"`);
    return undefined;
  }
  const probability = percentText === undefined ? 1 : Number(percentText) / 100;
  if (!(probability > 0 && probability <= 1)) fail(`the chance P% must be above 0 and at most 100, got "${term}"`);
  const count = countText === undefined ? undefined : Number(countText);
  if (count !== undefined && !(count >= 1 && count <= countMax)) {
    fail(`the count N* must be from 1 to ${countMax}, got "${term}"`);
  }
  return { action, probability, count };
}

/** The term a spec is written as (what GET /failpoints shows). */
export function formatFailpointSpec(spec: FailpointSpec | undefined): string {
  if (!spec) return 'off';
  const { action } = spec;
  const percent = spec.probability < 1 ? `${Number((spec.probability * 100).toFixed(6))}%` : '';
  const count = spec.count === undefined ? '' : `${spec.count}*`;
  const argument = action.type === 'error' ? `(${action.code})` : action.type === 'sleep' ? `(${action.ms})` : '';
  return `${percent}${count}${action.type}${argument}`;
}

/** Which actions a failpoint takes, for messages. */
function actionsOf(name: FailpointName): string {
  const declaration = declarationOf(name);
  if (declaration.kind === 'bug') return 'on or off';
  const passes = 'off, crash, crash-lose-unsynced or sleep(ms)';
  return declaration.kind === 'io' ? `${passes}, or error(EIO) or error(ENOSPC)` : passes;
}

/**
 * `name` set to `text`, checked: the name must be a failpoint of `service`,
 * and the action one its kind takes. Throws InvalidArgumentError naming the
 * failpoint, saying what is wrong.
 */
export function parseFailpointSetting(service: string, name: string, text: string): FailpointSetting {
  if (!isFailpointName(name) || !failpointsOf(service).includes(name)) {
    const known = failpointsOf(service);
    throw new InvalidArgumentError(
      name,
      known.length === 0
        ? `the ${service} has no failpoints`
        : `is not a failpoint of the ${service}; its failpoints are ${known.join(', ')}`,
    );
  }
  const spec = parseFailpointSpec(name, text);
  if (!spec) return { name, spec };
  const { kind } = declarationOf(name);
  const fits =
    kind === 'bug'
      ? spec.action.type === 'on'
      : spec.action.type !== 'on' && (kind === 'io' || spec.action.type !== 'error');
  if (!fits) throw new InvalidArgumentError(name, `takes ${actionsOf(name)}, got "${text.trim()}"`);
  return { name, spec };
}

/**
 * A list "name=term;name=term" (BULWARK_FAILPOINTS, as gofail's
 * GOFAIL_FAILPOINTS); empty items are skipped, a name given twice is refused.
 */
export function parseFailpointList(service: string, raw: string): FailpointSetting[] {
  const settings: FailpointSetting[] = [];
  for (const item of raw.split(';')) {
    if (item.trim() === '') continue;
    const equals = item.indexOf('=');
    if (equals < 0) throw new InvalidArgumentError(item.trim(), 'must be name=action');
    const name = item.slice(0, equals).trim();
    if (settings.some((setting) => setting.name === name)) throw new InvalidArgumentError(name, 'is set twice');
    settings.push(parseFailpointSetting(service, name, item.slice(equals + 1)));
  }
  return settings;
}
