// The `bulwark` command line: the global options (each service's endpoints,
// with an environment variable each, as etcdctl's ETCDCTL_ENDPOINTS; the
// per-call timeout; --json), every command, and the exit status each
// outcome gets. Commander parses; its usage errors are reported as one
// `bulwark: ...` line and exit 2, like any other error's line and code.
import { Argument, Command, CommanderError, Option } from 'commander';
import { parseEndpoint, parseEndpoints, parsePositiveDurationMs } from './arguments';
import { processIo, type CliIo } from './cli-io';
import { registerClusterCommands } from './cluster-commands';
import { contextOf, parsed, type CommandContext, type Handle } from './command-context';
import { commandSpecOf, completionScript, completionShells, type CompletionShell } from './completion';
import { errorLine, ExitCode, exitCodeOf, exitCodesHelp } from './exit-codes';
import { registerKvCommands } from './kv-commands';
import { registerLockCommands } from './lock-commands';

const defaultEndpoints = ['localhost:7200', 'localhost:7201'];
const defaultCoordinators = ['localhost:7001', 'localhost:7002', 'localhost:7003'];
const defaultLockEndpoints = ['localhost:7300', 'localhost:7301'];
const defaultMonitor = 'localhost:7400';
const defaultTimeoutMs = 10_000;

const examplesHelp = `Examples:
  bulwark put greeting hello && bulwark get greeting
  bulwark scan user/ --json | jq -r '.kvs[].key'
  TOKEN=$(bulwark lock acquire jobs/nightly --ttl 5m)
  bulwark put --fence-lock jobs/nightly --fence-token "$TOKEN" reports/nightly done
  bulwark lock release jobs/nightly "$TOKEN"
  bulwark lock hold jobs/nightly -- ./nightly-report.sh
  source <(bulwark completion bash)`;

/** Runs one command line; resolves with the status to exit with. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitStatus: number = ExitCode.ok;
  const handle: Handle =
    <Args extends unknown[]>(run: (context: CommandContext, ...args: Args) => Promise<number>) =>
    async (...args: unknown[]) => {
      // Commander passes the arguments, the command's options, then the command itself.
      const command = args[args.length - 1] as Command;
      exitStatus = await run(contextOf(command, io), ...(args.slice(0, -1) as Args));
    };
  try {
    await buildProgram(io, handle).parseAsync([...argv], { from: 'user' });
    return exitStatus;
  } catch (error) {
    // Commander has printed its own message (or the help it was asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    io.stderr.write(`${errorLine(error)}\n`);
    return exitCodeOf(error);
  }
}

export function buildProgram(io: CliIo, handle: Handle): Command {
  // Set before any command is added: subcommands inherit them.
  const program = new Command('bulwark')
    .description('The Bulwark command line: the KV store, locks and the cluster, over gRPC.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'bulwark: ')),
    })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('afterAll', `\n${exitCodesHelp}`)
    .addHelpText('after', `\n${examplesHelp}`);
  program
    .addOption(
      new Option('--endpoints <list>', 'routers (kv.v1), host:port,...')
        .env('BULWARK_ENDPOINTS')
        .argParser(parsed(parseEndpoints))
        .default(defaultEndpoints, defaultEndpoints.join(',')),
    )
    .addOption(
      new Option('--coordinators <list>', 'coordinators, host:port,...')
        .env('BULWARK_COORDINATOR_ENDPOINTS')
        .argParser(parsed(parseEndpoints))
        .default(defaultCoordinators, defaultCoordinators.join(',')),
    )
    .addOption(
      new Option('--lock-endpoints <list>', 'lock services, host:port,...')
        .env('BULWARK_LOCK_ENDPOINTS')
        .argParser(parsed(parseEndpoints))
        .default(defaultLockEndpoints, defaultLockEndpoints.join(',')),
    )
    .addOption(
      new Option('--monitor <address>', 'a monitor, host:port (status shows health when it answers)')
        .env('BULWARK_MONITOR_ENDPOINT')
        .argParser(parsed(parseEndpoint))
        .default(defaultMonitor),
    )
    .addOption(
      new Option('--timeout <duration>', 'deadline of each call, retries included (ms, or 500ms, 30s)')
        .argParser(parsed(parsePositiveDurationMs))
        .default(defaultTimeoutMs, String(defaultTimeoutMs)),
    )
    .option('--json', 'print JSON for scripts instead of text for people');

  registerKvCommands(program, handle);
  registerLockCommands(program, handle);
  registerClusterCommands(program, handle);
  program
    .command('completion')
    .description('print a completion script: source <(bulwark completion bash)')
    .addArgument(new Argument('<shell>').choices(completionShells))
    .action(
      handle(async (context, shell: CompletionShell) => {
        context.io.stdout.write(completionScript(shell, commandSpecOf(program)));
        return ExitCode.ok;
      }),
    );
  return program;
}
