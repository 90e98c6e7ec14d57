// The seeded simulation suite of the replication core: thousands of runs of
// a group through crashes, pauses, partitions, loss, slow disks and
// failovers, with the invariants checked as events happen. A failing seed
// prints the one command that replays it with a trace:
//   REPLICATION_SEED=<seed> REPLICATION_MODE=<sync|async|mixed> npx jest libs/replication/src/lib/simulation.spec.ts
import { runSimulation, type SimulationMode } from '../testing/simulator';

const seeds = Number(process.env['REPLICATION_SEEDS'] ?? '300');
const onlySeed = process.env['REPLICATION_SEED'];

function replayCommand(seed: number, mode: SimulationMode): string {
  return `REPLICATION_SEED=${seed} REPLICATION_MODE=${mode} npx jest libs/replication/src/lib/simulation.spec.ts`;
}

function runSeeds(mode: SimulationMode, first: number, count: number): string[] {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runSimulation({ seed, mode });
    if (result.violation) failures.push(`${result.violation}\n  replay: ${replayCommand(seed, mode)}`);
  }
  return failures;
}

if (onlySeed !== undefined) {
  it(`replays seed ${onlySeed}`, () => {
    const mode = (process.env['REPLICATION_MODE'] ?? 'sync') as SimulationMode;
    const lines: string[] = [];
    const result = runSimulation({ seed: Number(onlySeed), mode, trace: (line) => lines.push(line) });
    process.stdout.write(`${lines.join('\n')}\n`);
    expect(result.violation).toBeUndefined();
  });
} else {
  describe('replica group replication under simulated faults', () => {
    it(`keeps every invariant for ${seeds} seeds of sync replication`, () => {
      expect(runSeeds('sync', 1, seeds)).toEqual([]);
    });

    it(`keeps every invariant for ${seeds} seeds of sync groups with async writes among the sync ones`, () => {
      expect(runSeeds('mixed', 100_001, seeds)).toEqual([]);
    });

    it(`keeps every invariant for ${seeds} seeds of async replication, losing writes only to failovers`, () => {
      expect(runSeeds('async', 200_001, seeds)).toEqual([]);
    });
  });
}
