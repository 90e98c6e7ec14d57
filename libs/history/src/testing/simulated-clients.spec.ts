import { checkLinearizability } from '../lib/checker/check-linearizability';
import type { HistoryOperation } from '../lib/operation';
import { simulateRegisterHistory, type ClientSimulation } from './simulated-clients';

const simulation: ClientSimulation = {
  seed: 1,
  operations: 2000,
  keys: 10,
  clients: 8,
  unknownRate: 0.05,
  failRate: 0.02,
  latencyMs: 10,
};

/** Most operations in flight at once, counting an unknown one until its client moved on (two latencies). */
function maxInFlight(history: readonly HistoryOperation[]): number {
  const events = history.flatMap((operation) => {
    const endMs = operation.completedMs ?? operation.invokedMs + 2 * simulation.latencyMs;
    return [
      [operation.invokedMs, 1],
      [endMs, -1],
    ] as const;
  });
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let most = 0;
  for (const [, change] of events) most = Math.max(most, (inFlight += change));
  return most;
}

describe('simulateRegisterHistory', () => {
  it('is deterministic for a seed', () => {
    expect(simulateRegisterHistory(simulation)).toEqual(simulateRegisterHistory(simulation));
    expect(simulateRegisterHistory({ ...simulation, seed: 2 })).not.toEqual(simulateRegisterHistory(simulation));
  });

  it('keeps one operation in flight per client, with every outcome and key present', () => {
    const history = simulateRegisterHistory(simulation);
    expect(history).toHaveLength(2000);
    expect(maxInFlight(history)).toBeLessThanOrEqual(simulation.clients);
    expect(maxInFlight(history)).toBeGreaterThan(1);
    expect(new Set(history.map((operation) => operation.outcome))).toEqual(new Set(['ok', 'fail', 'unknown']));
    expect(new Set(history.map((operation) => operation.key)).size).toBe(simulation.keys);
  });

  it.each([1, 2, 3, 4, 5])('produces a history the checker accepts (seed %i)', (seed) => {
    expect(checkLinearizability(simulateRegisterHistory({ ...simulation, seed })).verdict).toBe('linearizable');
  });
});
