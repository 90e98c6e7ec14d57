// The seeded simulation suite: thousands of runs of 3 and 5 nodes through
// loss, duplication, delay, reordering, partitions, crash/restart and clock
// drift, with the invariants checked after every event. A failing seed is
// printed with the one command that replays it with a trace:
//   PAXOS_SEED=<seed> PAXOS_MEMBERS=<3|5> npx jest libs/paxos/src/lib/simulation.spec.ts
import { runSimulation, type SimulationOptions } from '../testing/simulator';

const seeds = Number(process.env['PAXOS_SEEDS'] ?? '4000');
const onlySeed = process.env['PAXOS_SEED'];
const chaosTicks = 200;

function replayCommand(seed: number, members: number): string {
  return `PAXOS_SEED=${seed} PAXOS_MEMBERS=${members} npx jest libs/paxos/src/lib/simulation.spec.ts`;
}

function runSeeds(members: 3 | 5, first: number, count: number): string[] {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runSimulation({ seed, members, chaosTicks });
    if (result.violation) failures.push(`${result.violation}\n  replay: ${replayCommand(seed, members)}`);
  }
  return failures;
}

if (onlySeed !== undefined) {
  it(`replays seed ${onlySeed}`, () => {
    const members = Number(process.env['PAXOS_MEMBERS'] ?? '3') as SimulationOptions['members'];
    const lines: string[] = [];
    const result = runSimulation({ seed: Number(onlySeed), members, chaosTicks, trace: (line) => lines.push(line) });
    process.stdout.write(`${lines.join('\n')}\n`);
    expect(result.violation).toBeUndefined();
  });
} else {
  describe('Multi-Paxos under simulated faults', () => {
    it(`keeps every invariant for ${seeds} seeds of 3 nodes`, () => {
      expect(runSeeds(3, 1, seeds)).toEqual([]);
    });

    it(`keeps every invariant for ${seeds} seeds of 5 nodes`, () => {
      expect(runSeeds(5, 1_000_001, seeds)).toEqual([]);
    });
  });
}
