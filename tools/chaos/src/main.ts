// `npm run chaos`: one chaos run against the compose fleet (see
// tools/chaos/src/lib/run-chaos.ts), its checkers' verdict, and on a
// failure the one command that repeats it. Exit 0: no anomaly; 1: anomalies;
// 2: bad options.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { failpointCatalog, failpointNames, type BugFailpointName } from '@bulwark/failpoints';
import { loopbackSubnetPattern } from '@bulwark/fleet';
import { findLibfaketime } from './lib/clock-faults';
import { faultTargets, nemesisKinds, type FaultTarget, type NemesisKind } from './lib/nemesis-schedule';
import { kvOperationKinds, type KvOperationKind } from './lib/kv-workload';
import { ChaosRun } from './lib/run-chaos';

function listOf<T extends string>(allowed: readonly T[], name: string) {
  return (value: string): T[] => {
    const items = value.split(',').map((item) => item.trim());
    const unknown = items.find((item) => !allowed.includes(item as T));
    if (unknown !== undefined || items.length === 0) {
      throw new InvalidArgumentError(`${name}: ${JSON.stringify(unknown ?? '')} is not one of ${allowed.join(', ')}`);
    }
    return items as T[];
  };
}

/** Now as 20261207T041500Z: sorts by time, fits a file name. */
const runTime = () => new Date().toISOString().replace(/[-:]|\.\d+/g, '');

const bugNames = failpointNames.filter((name): name is BugFailpointName => failpointCatalog[name].kind === 'bug');

const defaultMix: Record<KvOperationKind, number> = {
  put: 30,
  get: 30,
  'bounded-get': 5,
  'eventual-get': 5,
  delete: 10,
  cas: 10,
  'async-put': 5,
  txn: 5,
};

const formatMix = (mix: Record<KvOperationKind, number>): string =>
  kvOperationKinds.map((kind) => `${kind}=${mix[kind]}`).join(',');

/** kind=weight,...: the kinds named get their weights, the others 0; at least one weight above 0. */
function mixOf(value: string): Record<KvOperationKind, number> {
  const mix = Object.fromEntries(kvOperationKinds.map((kind) => [kind, 0])) as Record<KvOperationKind, number>;
  for (const item of value.split(',')) {
    const [kind = '', weight = ''] = item.split('=').map((part) => part.trim());
    if (!kvOperationKinds.includes(kind as KvOperationKind)) {
      throw new InvalidArgumentError(`--mix: ${JSON.stringify(kind)} is not one of ${kvOperationKinds.join(', ')}`);
    }
    const number = Number(weight);
    if (weight === '' || !Number.isFinite(number) || number < 0 || number > 1_000_000) {
      throw new InvalidArgumentError(`--mix: the weight of ${kind} must be a number from 0 to 1000000`);
    }
    mix[kind as KvOperationKind] = number;
  }
  if (kvOperationKinds.every((kind) => mix[kind] === 0)) throw new InvalidArgumentError('--mix: every weight is 0');
  return mix;
}

/** The run's warm-up (5 s) and heal (15 s) leave no room for a fault below this. */
const durationMinMs = 30_000;

function seconds(value: string): number {
  const match = /^(\d+)(s|m)?$/.exec(value);
  if (!match) throw new InvalidArgumentError('must be seconds, or minutes with m (90, 90s, 3m)');
  const ms = Number(match[1]) * (match[2] === 'm' ? 60_000 : 1_000);
  if (ms < durationMinMs || ms > 24 * 3_600_000) throw new InvalidArgumentError('must be from 30s to 24h');
  return ms;
}

/** A /24 of the fleet's loopback range 127.77.x: the only addresses the network faults may touch. */
function fleetSubnet(value: string): string {
  if (!loopbackSubnetPattern.regex.test(value) || !value.startsWith('127.77.')) {
    throw new InvalidArgumentError('must be the first three octets of a /24 in 127.77.0.0/16, such as 127.77.96');
  }
  return value;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return number;
  };
}

const program = new Command('npm run chaos --')
  .description('A chaos run against the compose fleet: a seeded workload, seeded faults, and checkers.')
  .addOption(new Option('--duration <time>', 'workload length (90, 90s, 3m)').default(120_000, '2m').argParser(seconds))
  .addOption(
    new Option('--seed <n>', 'seed of the workload and the schedule')
      .default(Math.floor(Math.random() * 1_000_000), 'random')
      .argParser(integer(0, 2 ** 31 - 1)),
  )
  .addOption(
    new Option('--nemeses <list>', `faults to inject: ${nemesisKinds.join(', ')}`)
      .default(
        ['kill', 'pause-short', 'pause-long', 'partition'] as NemesisKind[],
        'kill,pause-short,pause-long,partition',
      )
      .argParser(listOf(nemesisKinds, '--nemeses')),
  )
  .addOption(
    new Option('--targets <list>', `members faults may hit: ${faultTargets.join(', ')}`)
      .default(['primary', 'backup', 'coordinator-leader'] as FaultTarget[], 'primary,backup,coordinator-leader')
      .argParser(listOf(faultTargets, '--targets')),
  )
  .addOption(new Option('--clients <n>', 'concurrent clients').default(8).argParser(integer(1, 256)))
  .addOption(new Option('--keys <n>', 'keys the clients share').default(16).argParser(integer(1, 10_000)))
  .addOption(
    new Option('--mix <weights>', `the KV clients' share of each operation: ${kvOperationKinds.join(', ')}`)
      .default(defaultMix, formatMix(defaultMix))
      .argParser(mixOf),
  )
  .addOption(
    new Option('--lock-clients <n>', 'concurrent lock clients (acquire, fenced writes, release)')
      .default(2)
      .argParser(integer(0, 64)),
  )
  .addOption(new Option('--locks <n>', 'lock names the lock clients share').default(2).argParser(integer(1, 100)))
  .addOption(
    new Option('--out <dir>', 'where the history and summary go').default('', '.bulwark/chaos/seed-<seed>-<time>'),
  )
  .addOption(new Option('--subnet <a.b.c>', 'loopback /24 of the fleet').default('127.77.96').argParser(fleetSubnet))
  .addOption(new Option('--port-offset <n>', 'added to published ports').default(11_000).argParser(integer(0, 50_000)))
  .addOption(
    new Option('--bugs <list>', `planted bugs to switch on, to see the run catch them: ${bugNames.join(', ')}`)
      .default([] as BugFailpointName[], 'none')
      .argParser(listOf(bugNames, '--bugs')),
  );

program.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
program.parse(process.argv);
const options = program.opts<{
  duration: number;
  seed: number;
  nemeses: NemesisKind[];
  targets: FaultTarget[];
  clients: number;
  keys: number;
  lockClients: number;
  locks: number;
  mix: Record<KvOperationKind, number>;
  out: string;
  subnet: string;
  portOffset: number;
  bugs: BugFailpointName[];
}>();

if (options.nemeses.includes('clock-skew') && findLibfaketime() === undefined) {
  process.stderr.write('--nemeses: clock-skew needs libfaketime (apt-get install faketime)\n');
  process.exit(2);
}

const repeat = [
  'npm run chaos --',
  `--duration ${options.duration / 1000}s`,
  `--seed ${options.seed}`,
  `--nemeses ${options.nemeses.join(',')}`,
  `--targets ${options.targets.join(',')}`,
  `--clients ${options.clients}`,
  `--keys ${options.keys}`,
  `--mix ${formatMix(options.mix)}`,
  `--lock-clients ${options.lockClients}`,
  `--locks ${options.locks}`,
  ...(options.bugs.length > 0 ? [`--bugs ${options.bugs.join(',')}`] : []),
].join(' ');
const log = (line: string) => process.stdout.write(`chaos: ${line}\n`);
const run = new ChaosRun(
  {
    seed: options.seed,
    durationMs: options.duration,
    nemeses: options.nemeses,
    targets: options.targets,
    workload: {
      clients: options.clients,
      keys: options.keys,
      mix: options.mix,
      callTimeoutMs: 10_000,
    },
    lockWorkload: { clients: options.lockClients, locks: options.locks, ttlMs: 2_000, callTimeoutMs: 5_000 },
    composeFile: resolve('docker-compose.yml'),
    projectDir: process.cwd(),
    // Named by the time too: running the printed repeat command keeps the failing run's evidence.
    outDir: resolve(options.out || `.bulwark/chaos/seed-${options.seed}-${runTime()}`),
    subnet: options.subnet,
    portOffset: options.portOffset,
    bugs: options.bugs,
    command: repeat,
  },
  log,
);
let interrupted = false;
const onSignal = () => {
  if (interrupted) return;
  interrupted = true;
  log('interrupted: undoing every fault and stopping the fleet');
  void run.close().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
// A bug of the tool itself (a client loop that throws) still undoes every fault and stops the fleet.
const onCrash = (error: unknown) => {
  if (interrupted) return;
  interrupted = true;
  log(`run failed: ${error instanceof Error ? error.stack : String(error)}`);
  void run.close().finally(() => process.exit(1));
};
process.once('uncaughtException', onCrash);
process.once('unhandledRejection', onCrash);

log(`seed ${options.seed}; repeat with: ${repeat}`);
run
  .run()
  .then(async (result) => {
    await run.close();
    log(`${result.operations} operations, ${result.faults} faults; history ${result.historyFile}`);
    log(`report ${result.reportFile}`);
    log(`summary ${result.summaryFile}`);
    for (const line of result.verdict.lines) log(line);
    if (!result.verdict.passed) {
      log(`FAILED; repeat with: ${repeat}`);
      process.exit(1);
    }
  })
  .catch(async (error: unknown) => {
    await run.close().catch(() => undefined);
    log(`run failed: ${error instanceof Error ? error.stack : String(error)}`);
    log(`repeat with: ${repeat}`);
    process.exit(1);
  });
