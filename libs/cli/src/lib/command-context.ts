// What every command gets: where it reads and writes, and the global
// options (endpoints of each service, the per-call timeout, --json).
import { InvalidArgumentError, type Command } from 'commander';
import { createLogger, type Logger } from '@bulwark/logging';
import type { CliIo } from './cli-io';

export interface GlobalSettings {
  /** Routers (kv.v1). */
  readonly endpoints: readonly string[];
  readonly coordinators: readonly string[];
  readonly lockEndpoints: readonly string[];
  readonly monitor: string;
  /** Deadline of each call, retries included. */
  readonly timeoutMs: number;
  readonly json: boolean;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly settings: GlobalSettings;
  /** For the client libraries' own logs: fatal only, on stderr; the command reports what went wrong itself. */
  readonly logger: Logger;
}

/** The global options as commander holds them (--timeout is `timeout`). */
interface GlobalOptions extends Omit<GlobalSettings, 'timeoutMs' | 'json'> {
  readonly timeout: number;
  readonly json?: boolean;
}

export function contextOf(command: Command, io: CliIo): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    io,
    settings: {
      endpoints: options.endpoints,
      coordinators: options.coordinators,
      lockEndpoints: options.lockEndpoints,
      monitor: options.monitor,
      timeoutMs: options.timeout,
      json: options.json ?? false,
    },
    logger: createLogger({ service: 'bulwark-cli', memberId: 'cli', level: 'fatal', destination: io.stderr }),
  };
}

/** Prints a result: JSON for scripts with --json, text for people otherwise. */
export function print(context: CommandContext, json: () => string, text: () => string | Uint8Array): void {
  context.io.stdout.write(context.settings.json ? json() : text());
}

/** A line for people on stderr: a note, or the line of an outcome that is not an error (a failed compare). */
export function note(context: CommandContext, line: string): void {
  context.io.stderr.write(`${line}\n`);
}

/**
 * Wraps a command's work as a commander action: the context first, then the
 * action's arguments and options; the work resolves with the exit status (an
 * ExitCode, or the status of a command it ran).
 */
export type Handle = <Args extends unknown[]>(
  run: (context: CommandContext, ...args: Args) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

/** A commander argument parser from one of ./arguments: its error becomes a usage error naming the option. */
export function parsed<T>(parse: (raw: string) => T): (raw: string) => T {
  return (raw) => {
    try {
      return parse(raw);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}
