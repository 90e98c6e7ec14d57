// When the chaos run breaks what, decided up front from a seed: the same
// seed, duration and nemeses give the same schedule, so a failing run is
// repeated by its command line. One fault at a time, each healed before the
// next begins after a quiet gap (the history then shows what each did), in
// a cycle through the chosen kinds in a seeded order, so every kind runs
// when the run is long enough for one cycle. Nothing is scheduled in the
// warm-up or the heal period at the end, when the final reads are made.
import { seededUniform } from '@bulwark/random';

/** What a fault does; each maps to a nemesis the run applies and heals. */
export const nemesisKinds = [
  /** kill -9 of the target, restarted when the fault ends. */
  'kill',
  /** SIGSTOP, then SIGCONT: shorter than a primary lease (no failover should follow). */
  'pause-short',
  /** SIGSTOP, then SIGCONT: well past a primary lease (the group fails over; the old primary must not serve). */
  'pause-long',
  /** Both directions between the target and the rest of the fleet dropped. */
  'partition',
  /** Only what the target sends is dropped: it hears everyone, nobody hears it. */
  'partition-one-way',
  /** Both directions between the target and its peers dropped (its group's other replicas, or the other coordinators); clients and everyone else still reach it. */
  'isolate',
  /**
   * The target isolated from its peers, then killed while isolated (before a
   * primary could drop its unreachable backups from the in-sync set, 500 ms
   * by default): what it acknowledged alone in that time must not be lost.
   * Restarted and reconnected when healed.
   */
  'isolate-kill',
  /** Half the packets to and from the target dropped at random. */
  'loss',
  /** Every link to and from the target held 75 +- 50 ms each way: a slow network. */
  'delay',
  /** The target's wall clock jumps minutes or hours ahead or back (its monotonic clock does not). */
  'clock-skew',
  /** A failpoint switched on in the target for the fault's length: a crash at a named point after its next durable write. */
  'failpoint',
  /** Every fsync of the target's log fails with EIO for the fault's length: a failing disk. */
  'disk-error',
  /** Every append to the target's log fails with ENOSPC for the fault's length: a full disk. */
  'disk-full',
  /** A power loss: the target dies at its next fsync, losing what it wrote to its log since the last one. */
  'power-loss',
] as const;

/** The nemeses that work through a failpoint, which only coordinators and replicas have. */
export const failpointNemeses: ReadonlySet<NemesisKind> = new Set([
  'failpoint',
  'disk-error',
  'disk-full',
  'power-loss',
]);

export type NemesisKind = (typeof nemesisKinds)[number];

/** Which member a fault hits, resolved against the topology when it starts. */
export const faultTargets = [
  'primary',
  'backup',
  'coordinator-leader',
  'coordinator',
  'router',
  'lock',
  'redis',
] as const;

export type FaultTarget = (typeof faultTargets)[number];

export interface ScheduledFault {
  /** 1, 2, ... in start order. */
  readonly id: number;
  readonly kind: NemesisKind;
  readonly target: FaultTarget;
  /** From the start of the workload, ms. */
  readonly startMs: number;
  readonly durationMs: number;
}

export interface NemesisScheduleOptions {
  readonly seed: number;
  /** Length of the workload, ms. */
  readonly durationMs: number;
  /** At least one. */
  readonly kinds: readonly NemesisKind[];
  /** Members faults may hit; at least one. */
  readonly targets: readonly FaultTarget[];
  /** Before the first fault: the workload's steady state to compare with. */
  readonly warmUpMs: number;
  /** After the last fault ends: everything healed, the fleet converges, the final reads are made. */
  readonly healMs: number;
  /** Between a fault's end and the next one's start, at least. */
  readonly quietMs: number;
}

/** How long each kind lasts, [shortest, longest] ms: pauses on either side of the 600 ms primary lease. */
export const faultDurationMs: Readonly<Record<NemesisKind, readonly [number, number]>> = {
  kill: [1_000, 3_000],
  'pause-short': [150, 350],
  'pause-long': [2_500, 4_000],
  partition: [2_000, 5_000],
  'partition-one-way': [2_000, 5_000],
  isolate: [2_000, 5_000],
  'isolate-kill': [1_500, 3_000],
  loss: [2_000, 5_000],
  delay: [2_000, 5_000],
  'clock-skew': [2_000, 5_000],
  failpoint: [1_000, 3_000],
  'disk-error': [1_000, 3_000],
  'disk-full': [1_000, 3_000],
  'power-loss': [1_000, 3_000],
};

/** Whether a kind of fault means something on a target. */
function fits(kind: NemesisKind, target: FaultTarget): boolean {
  // A one-way partition of a process that only answers (Redis) is a full one for every caller: left to `partition`.
  if (kind === 'partition-one-way' && target === 'redis') return false;
  // Only the fleet's own services run with a clock the run can move.
  if (kind === 'clock-skew') return target !== 'redis';
  // Failpoints live in the coordinators and replicas only, and only they have peers (routers, lock instances and
  // Redis servers are independent of one another).
  if (failpointNemeses.has(kind) || kind === 'isolate' || kind === 'isolate-kill') {
    return target !== 'router' && target !== 'lock' && target !== 'redis';
  }
  return true;
}

export function nemesisSchedule(options: NemesisScheduleOptions): ScheduledFault[] {
  const { durationMs, warmUpMs, healMs, quietMs } = options;
  if (options.kinds.length === 0) throw new RangeError('kinds: at least one nemesis is needed');
  if (options.targets.length === 0) throw new RangeError('targets: at least one target is needed');
  for (const kind of options.kinds) {
    if (!options.targets.some((target) => fits(kind, target))) {
      throw new RangeError(`kinds: ${kind} fits none of the targets ${options.targets.join(', ')}`);
    }
  }
  const random = seededUniform(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const between = ([low, high]: readonly [number, number]) => Math.round(low + random() * (high - low));
  const faults: ScheduledFault[] = [];
  const lastEnd = durationMs - healMs;
  let at = warmUpMs;
  let cycle: NemesisKind[] = [];
  while (true) {
    if (cycle.length === 0) cycle = shuffled([...new Set(options.kinds)], random);
    const kind = cycle.shift() as NemesisKind;
    const length = between(faultDurationMs[kind]);
    if (at + length > lastEnd) break;
    const target = pick(options.targets.filter((candidate) => fits(kind, candidate)));
    faults.push({ id: faults.length + 1, kind, target, startMs: at, durationMs: length });
    at += length + quietMs + between([0, quietMs]);
  }
  return faults;
}

/** Fisher-Yates with the run's generator. */
function shuffled<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}
