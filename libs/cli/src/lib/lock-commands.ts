// lock acquire, release, inspect and hold, with the lock client (each call
// moved to the next lock service when one cannot be reached; hold renews
// over a Hold stream and resumes it on another instance).
//
// acquire and release are separate invocations, so the owner a lock is held
// under must be the same for both: by default one per user and host.
import { spawn } from 'node:child_process';
import { constants, hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { CancelledError, FailedPreconditionError } from '@bulwark/errors';
import {
  defaultOwner,
  LockClient,
  LockLostError,
  LockNotAcquiredError,
  type HeldLock,
  type LockState,
} from '@bulwark/lock-client';
import { parseBoundedDurationMs, parsePositiveDurationMs, parseUint64, uint32MsMax } from './arguments';
import { note, parsed, print, type CommandContext, type Handle } from './command-context';
import { errorLine, ExitCode } from './exit-codes';
import { formatFields, jsonLine, jsonText } from './output';

/** A shell's exit status for a process killed by a signal: 128 plus the signal's number. */
const signalExitBase = 128;

const leaseMs = (raw: string) => parsePositiveDurationMs(raw, uint32MsMax);
const waitMs = (raw: string) => parseBoundedDurationMs(raw, uint32MsMax);

interface OwnerFlags {
  readonly owner: string;
}

export function registerLockCommands(program: Command, handle: Handle): void {
  const lock = program.command('lock').description('take, release, inspect and hold distributed locks');
  lock
    .command('acquire')
    .description('take a lock and print its fencing token; it is held until released or its TTL runs out')
    .argument('<name>')
    .option('--ttl <duration>', 'how long the lease lasts (30s, 5m)', parsed(leaseMs), 60_000)
    .option('--wait <duration>', 'wait this long for the holder to let go (default: fail at once)', parsed(waitMs), 0)
    .option('--owner <owner>', 'who holds it; release needs the same', cliOwner())
    .action(handle(acquire));
  lock
    .command('release')
    .description('release a lock held under TOKEN (exit 5 when it is not held so)')
    .argument('<name>')
    .argument('<token>', 'the fencing token acquire printed', parsed(parseUint64))
    .option('--owner <owner>', 'who holds it', cliOwner())
    .option('--lease-id <id>', 'release exactly this grant (acquire --json prints it)', '')
    .action(handle(release));
  lock
    .command('inspect')
    .description('show who holds a lock, its last token, its waiters and the backend')
    .argument('<name>')
    .action(handle(inspect));
  lock
    .command('hold')
    .description(
      'take a lock and keep it (renewed) while COMMAND runs, its token in $BULWARK_LOCK_TOKEN; without a command, print the token and hold until Ctrl-C',
    )
    .argument('<name>')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('--ttl <duration>', 'lease length; renewed every third of it', parsed(leaseMs), 10_000)
    .option('--wait <duration>', 'how long to wait for the lock', parsed(waitMs), 30_000)
    .option('--owner <owner>', 'who holds it (default: unique to this process)')
    .action(handle(hold));
}

/** One owner per user and host, so a lock acquired by one invocation can be released by the next. */
function cliOwner(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No entry in the password database (a container's uid): the uid still tells users apart.
    user = String(process.getuid?.() ?? 'unknown');
  }
  return `bulwark-cli:${user}@${hostname()}`.slice(0, 128);
}

async function withLocks<T>(context: CommandContext, use: (client: LockClient) => Promise<T>): Promise<T> {
  const client = new LockClient({
    endpoints: [...context.settings.lockEndpoints],
    callTimeoutMs: context.settings.timeoutMs,
    logger: context.logger,
  });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function acquire(
  context: CommandContext,
  name: string,
  flags: OwnerFlags & { ttl: number; wait: number },
): Promise<ExitCode> {
  const { owner } = flags;
  const grant = await withLocks(context, (client) =>
    flags.wait > 0
      ? client.acquire(name, { owner, ttlMs: flags.ttl, waitTimeoutMs: flags.wait })
      : client.tryAcquire(name, { owner, ttlMs: flags.ttl }),
  );
  if (!grant.acquired) {
    print(
      context,
      () => jsonText({ name, acquired: false, holder: grant.holder ?? null }),
      () => '',
    );
    throw new LockNotAcquiredError(name, flags.wait, grant.holder);
  }
  print(
    context,
    () =>
      jsonText({
        name,
        acquired: true,
        owner,
        token: grant.token,
        leaseId: grant.leaseId,
        validForMs: Math.max(0, Math.floor(grant.validUntilMs - performance.now())),
      }),
    () => `${grant.token}\n`,
  );
  return ExitCode.ok;
}

async function release(
  context: CommandContext,
  name: string,
  token: bigint,
  flags: OwnerFlags & { leaseId: string },
): Promise<ExitCode> {
  try {
    await withLocks(context, (client) => client.release(name, flags.owner, token, flags.leaseId));
  } catch (error) {
    // The service's answer for a grant that is not (or no longer) held under this owner and token.
    if (!(error instanceof FailedPreconditionError)) throw error;
    note(context, errorLine(error));
    return ExitCode.notFound;
  }
  print(
    context,
    () => jsonText({ name, released: true, token }),
    () => 'released\n',
  );
  return ExitCode.ok;
}

async function inspect(context: CommandContext, name: string): Promise<ExitCode> {
  const state = await withLocks(context, (client) => client.inspect(name));
  print(
    context,
    () => jsonText({ name, ...state }),
    () => formatFields(inspectFields(name, state)),
  );
  return ExitCode.ok;
}

/** What `lock inspect` prints, a row each; the servers that did not answer only when some did not. */
export function inspectFields(name: string, state: LockState): Array<[string, string]> {
  const { backend } = state;
  return [
    ['name', name],
    ['held', state.held ? 'yes' : 'no'],
    ['owner', state.holder?.owner ?? ''],
    ['token', state.holder ? String(state.holder.token) : ''],
    ['lease left', state.holder ? `${state.holder.remainingTtlMs} ms` : ''],
    ['last token', String(state.lastToken)],
    ['waiters', String(state.waiters)],
    [
      'backend',
      `${backend.kind}: ${backend.answered} of ${backend.servers} servers answered, majority ${backend.majority}, ${backend.faultTolerant ? 'fault tolerant' : 'not fault tolerant'}`,
    ],
    ...(backend.unanswered.length > 0 ? [['not answering', backend.unanswered.join('; ')] as [string, string]] : []),
    ['answered by', state.memberId],
  ];
}

async function hold(
  context: CommandContext,
  name: string,
  command: string[],
  flags: { ttl: number; wait: number; owner?: string },
): Promise<number> {
  const owner = flags.owner ?? defaultOwner();
  return withLocks(context, async (client) => {
    // Ctrl-C gives up a wait; once the lock is held it ends the hold (or is the command's to handle).
    const interrupted = new AbortController();
    const stopListening = context.io.onInterrupt((signal) => interrupted.abort(signal));
    try {
      const attempt = await client
        .attemptHold(name, { owner, ttlMs: flags.ttl, waitTimeoutMs: flags.wait, signal: interrupted.signal })
        .catch((error: unknown) => {
          if (error instanceof CancelledError && interrupted.signal.aborted) return undefined;
          throw error;
        });
      if (!attempt) {
        note(context, `bulwark: interrupted before lock ${JSON.stringify(name)} was acquired`);
        return ExitCode.error;
      }
      if (!attempt.acquired) throw new LockNotAcquiredError(name, flags.wait, attempt.holder);
      return command.length === 0
        ? await holdUntilInterrupted(context, attempt.lock, interrupted.signal)
        : await holdWhileRunning(context, attempt.lock, command, interrupted.signal);
    } finally {
      stopListening();
    }
  });
}

async function holdUntilInterrupted(
  context: CommandContext,
  lock: HeldLock,
  interrupted: AbortSignal,
): Promise<ExitCode> {
  print(
    context,
    () => jsonLine({ name: lock.name, owner: lock.owner, token: lock.token }),
    () => `${lock.token}\n`,
  );
  await new Promise<void>((resolve) => {
    for (const signal of [interrupted, lock.signal]) signal.addEventListener('abort', () => resolve(), { once: true });
    if (interrupted.aborted || lock.signal.aborted) resolve();
  });
  // Lost first (not by our release): the service told, or the lease ran out here.
  if (lock.signal.aborted) throw lock.signal.reason;
  await lock.release();
  return ExitCode.ok;
}

async function holdWhileRunning(
  context: CommandContext,
  lock: HeldLock,
  [program, ...args]: string[],
  interrupted: AbortSignal,
): Promise<number> {
  const child = spawn(program as string, args, {
    stdio: 'inherit',
    env: {
      ...context.io.env,
      BULWARK_LOCK_NAME: lock.name,
      BULWARK_LOCK_OWNER: lock.owner,
      BULWARK_LOCK_TOKEN: String(lock.token),
    },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', resolve);
  });
  // Ctrl-C reaches the command from the terminal (one process group); a SIGTERM sent to bulwark alone is passed on.
  interrupted.addEventListener('abort', () => {
    if (interrupted.reason === 'SIGTERM') child.kill('SIGTERM');
  });
  // The command must not go on believing it holds a lock it lost: its writes are fenced, and it is stopped.
  const onLoss = () => child.kill('SIGTERM');
  lock.signal.addEventListener('abort', onLoss, { once: true });
  const outcome = await exited;
  lock.signal.removeEventListener('abort', onLoss);
  try {
    // Rejects with the LockLostError when the lock was lost while the command ran.
    await lock.release();
  } catch (error) {
    if (error instanceof LockLostError) throw error;
    // The command's work was done under the lock; the lease lapses at its TTL.
    note(context, `${errorLine(error)} (the lease lapses at its TTL)`);
  }
  if (outcome instanceof Error) {
    note(context, `bulwark: cannot run ${program}: ${outcome.message}`);
    return ExitCode.error;
  }
  return outcome.code ?? signalExitBase + constants.signals[outcome.signal as NodeJS.Signals];
}
