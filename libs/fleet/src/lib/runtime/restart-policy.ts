// Whether and when a service that exited on its own starts again: its compose
// restart policy, with exponential backoff and a cap per minute, so a service
// that crashes at start does not spin the 2-core machine forever.
import type { RestartPolicy } from '../compose/compose-model';
import type { ExitStatus } from './fleet-events';

export const restartWindowMs = 60_000;
export const restartsPerWindowMax = 5;
export const restartBackoffBaseMs = 200;

export interface RestartHistory {
  /** Times of the restarts within the last window, oldest first; at most restartsPerWindowMax. */
  recentMs: number[];
  /** Restarts since the service was last started on purpose (for on-failure:N). */
  total: number;
}

export const noRestarts: RestartHistory = { recentMs: [], total: 0 };

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; reason: string };

export function decideRestart(
  policy: RestartPolicy,
  exit: ExitStatus,
  history: RestartHistory,
  nowMs: number,
): RestartDecision {
  if (policy.kind === 'no') return { restart: false, reason: 'its restart policy is no' };
  if (policy.kind === 'on-failure') {
    if (exit.code === 0)
      return { restart: false, reason: 'it exited with code 0 and its restart policy is on-failure' };
    if (policy.retriesMax !== undefined && history.total >= policy.retriesMax) {
      return { restart: false, reason: `it used all ${policy.retriesMax} restarts of on-failure:${policy.retriesMax}` };
    }
  }
  const recent = history.recentMs.filter((timeMs) => nowMs - timeMs < restartWindowMs);
  if (recent.length >= restartsPerWindowMax) {
    return {
      restart: false,
      reason: `it was restarted ${recent.length} times in the last ${restartWindowMs / 1000} s`,
    };
  }
  return { restart: true, delayMs: restartBackoffBaseMs * 2 ** recent.length };
}

export function recordRestart(history: RestartHistory, nowMs: number): RestartHistory {
  const recentMs = [...history.recentMs.filter((timeMs) => nowMs - timeMs < restartWindowMs), nowMs];
  return { recentMs: recentMs.slice(-restartsPerWindowMax), total: history.total + 1 };
}
