import type { HistoryOperation, OperationKind } from '../lib/operation';
import { seededUniform } from '@bulwark/random';
import { replayOnRegisters, type PlannedOperation } from './sequential-register';

export interface ClientSimulation {
  readonly seed: number;
  readonly operations: number;
  readonly keys: number;
  /** Each client has one operation in flight at a time, so this is the concurrency. */
  readonly clients: number;
  /** Share of operations whose outcome the client never learns; half of those take effect, some late. */
  readonly unknownRate: number;
  /** Share of operations the store refuses (they never take effect). */
  readonly failRate: number;
  /** Longest delay from invocation to effect, and from effect to reply. */
  readonly latencyMs: number;
}

/** get 50%, put 25%, cas 15%, del 10%: a read-heavy mix with enough writes to make reads informative. */
function pickKind(roll: number): OperationKind {
  if (roll < 0.5) return 'get';
  if (roll < 0.75) return 'put';
  return roll < 0.9 ? 'cas' : 'del';
}

/**
 * A linearizable history from clients of a correct store: each client invokes
 * one operation at a time on a random key; the operation takes effect on a
 * sequential register at a random point of its interval (so intervals of
 * different clients overlap), and results are what the register returned.
 * An unknown operation either never takes effect or takes effect up to four
 * latencies after its invocation, possibly after its client gave up waiting
 * (two latencies). Deterministic for a given seed.
 */
export function simulateRegisterHistory(simulation: ClientSimulation): HistoryOperation[] {
  const random = seededUniform(simulation.seed);
  const upTo = (limit: number) => Math.floor(random() * (limit + 1));
  const freeAtMs = new Array<number>(simulation.clients).fill(0);
  const plan: PlannedOperation[] = [];
  for (let index = 0; index < simulation.operations; index += 1) {
    const client = freeAtMs.indexOf(Math.min(...freeAtMs));
    const invokedMs = (freeAtMs[client] as number) + upTo(simulation.latencyMs / 2);
    const effectMs = invokedMs + upTo(simulation.latencyMs);
    const repliedMs = effectMs + upTo(simulation.latencyMs);
    const fate = random();
    const base = {
      client: `c${client}`,
      key: `k${upTo(simulation.keys - 1)}`,
      op: pickKind(random()),
      value: `v${index}`,
      expectsCurrent: random() < 0.5,
      expect: random() < 0.2 ? null : `v${upTo(index)}`,
      invokedMs,
    };
    if (fate < simulation.unknownRate) {
      const linearizedMs = random() < 0.5 ? null : invokedMs + upTo(4 * simulation.latencyMs);
      plan.push({ ...base, linearizedMs, completedMs: null, outcome: 'unknown' });
      freeAtMs[client] = invokedMs + 2 * simulation.latencyMs;
    } else if (fate < simulation.unknownRate + simulation.failRate) {
      plan.push({ ...base, linearizedMs: null, completedMs: repliedMs, outcome: 'fail' });
      freeAtMs[client] = repliedMs;
    } else {
      plan.push({ ...base, linearizedMs: effectMs, completedMs: repliedMs, outcome: 'ok' });
      freeAtMs[client] = repliedMs;
    }
  }
  return replayOnRegisters(plan);
}
