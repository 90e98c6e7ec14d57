import type { RestartPolicy } from '../compose/compose-model';
import {
  decideRestart,
  noRestarts,
  recordRestart,
  restartBackoffBaseMs,
  restartsPerWindowMax,
  restartWindowMs,
  type RestartHistory,
} from './restart-policy';

const crashed = { code: null, signal: 'SIGKILL' as const };
const failed = { code: 1, signal: null };
const clean = { code: 0, signal: null };
const always: RestartPolicy = { kind: 'always' };

describe('decideRestart', () => {
  it('follows the compose policies', () => {
    expect(decideRestart({ kind: 'no' }, crashed, noRestarts, 0)).toEqual({
      restart: false,
      reason: 'its restart policy is no',
    });
    expect(decideRestart({ kind: 'unless-stopped' }, clean, noRestarts, 0)).toEqual({ restart: true, delayMs: 200 });
    expect(decideRestart(always, clean, noRestarts, 0).restart).toBe(true);
    expect(decideRestart({ kind: 'on-failure' }, crashed, noRestarts, 0).restart).toBe(true);
    expect(decideRestart({ kind: 'on-failure' }, failed, noRestarts, 0).restart).toBe(true);
    expect(decideRestart({ kind: 'on-failure' }, clean, noRestarts, 0).restart).toBe(false);
  });

  it('stops after on-failure:N restarts', () => {
    const history: RestartHistory = { recentMs: [], total: 2 };
    expect(decideRestart({ kind: 'on-failure', retriesMax: 3 }, failed, history, 0).restart).toBe(true);
    expect(decideRestart({ kind: 'on-failure', retriesMax: 2 }, failed, history, 0)).toEqual({
      restart: false,
      reason: 'it used all 2 restarts of on-failure:2',
    });
  });

  it('backs off exponentially and gives up after five restarts within a minute', () => {
    let history = noRestarts;
    const delays: number[] = [];
    for (let attempt = 0; attempt < restartsPerWindowMax; attempt += 1) {
      const decision = decideRestart(always, crashed, history, attempt * 1000);
      if (!decision.restart) throw new Error(`gave up at attempt ${attempt}`);
      delays.push(decision.delayMs);
      history = recordRestart(history, attempt * 1000);
    }
    expect(delays).toEqual([1, 2, 4, 8, 16].map((factor) => factor * restartBackoffBaseMs));
    expect(decideRestart(always, crashed, history, 5000)).toEqual({
      restart: false,
      reason: 'it was restarted 5 times in the last 60 s',
    });
    // A minute after the first restart, one slot is free again, with the backoff of four recent restarts.
    expect(decideRestart(always, crashed, history, restartWindowMs)).toEqual({
      restart: true,
      delayMs: 16 * restartBackoffBaseMs,
    });
  });

  it('keeps a bounded history', () => {
    let history = noRestarts;
    for (let time = 0; time < 20; time += 1) history = recordRestart(history, time);
    expect(history).toEqual({ recentMs: [15, 16, 17, 18, 19], total: 20 });
  });
});
