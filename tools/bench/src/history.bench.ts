import { checkLinearizability, simulateRegisterHistory, type HistoryOperation } from '@bulwark/history';
import { measureOpsPerSecond } from './measure';
import type { BenchTable } from './table';

// Linearizability checker throughput on the kind of history a fault test
// records: 8 clients, one operation in flight each, over 100 keys, with some
// outcomes unknown (timeouts) and some refused. Then the cost of finding a
// violation and shrinking it to the shortest failing prefix.

const simulation = { seed: 1, operations: 10_000, keys: 100, clients: 8, failRate: 0.01, latencyMs: 10 };
const unknownRates = [0, 0.02, 0.05, 0.1];

export function runHistoryBench(): BenchTable[] {
  return [throughput(), violation()];
}

function throughput(): BenchTable {
  const rows = unknownRates.map((unknownRate) => {
    const history = simulateRegisterHistory({ ...simulation, unknownRate });
    const result = checkLinearizability(history);
    const operationsPerSecond = measureOpsPerSecond(() => checkLinearizability(history), history.length);
    return [`${unknownRate * 100}%`, result.verdict, result.steps, operationsPerSecond];
  });
  return {
    title: `Linearizability checker (${simulation.operations / 1000}k operations, ${simulation.keys} keys, ${simulation.clients} clients, seeded)`,
    columns: ['unknown outcomes', 'verdict', 'search steps', 'operations/s'],
    rows,
  };
}

/** The history with one late read changed to the first value ever written to its key: a stale read. */
function withStaleRead(history: HistoryOperation[]): HistoryOperation[] {
  const readIndex = history.findIndex(
    (operation, index) => index >= history.length * 0.9 && operation.op === 'get' && operation.outcome === 'ok',
  );
  const read = history[readIndex] as HistoryOperation;
  const firstWrite = history.find((operation) => operation.key === read.key && operation.op === 'put');
  const stale = firstWrite?.value ?? 'never-written';
  return history.map((operation, index) => (index === readIndex ? { ...operation, result: stale } : operation));
}

function violation(): BenchTable {
  const history = withStaleRead(simulateRegisterHistory({ ...simulation, unknownRate: 0.05 }));
  const result = checkLinearizability(history);
  const checksPerSecond = measureOpsPerSecond(() => checkLinearizability(history), 1);
  const prefixLength = result.verdict === 'not-linearizable' ? result.failingPrefix.length : 0;
  return {
    title: 'Finding a stale read at 90% of the history and shrinking it (5% unknown outcomes)',
    columns: ['verdict', 'key', 'failing prefix (operations)', 'search steps', 'ms a check'],
    rows: [[result.verdict, 'key' in result ? result.key : '-', prefixLength, result.steps, 1000 / checksPerSecond]],
  };
}
