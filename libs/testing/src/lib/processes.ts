// Real child processes for integration tests: output captured line by line,
// waits on events (a line, an exit) with bounded timeouts, and a registry so
// every process a test started is killed afterwards, even when it fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from './paths';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Start in its own process group, so a signal can reach the whole tree (as Ctrl-C does). */
  detached?: boolean;
}

/** Lines kept per process, so a chatty child cannot exhaust memory. */
export const capturedLinesMax = 10_000;

const running = new Set<ManagedProcess>();

export class ManagedProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  /** After the exit, once its stdout and stderr have ended too: every line it printed is captured by then. */
  readonly closed: Promise<Exit>;
  private readonly child: ChildProcess;
  private readonly lineListeners = new Set<(line: string) => void>();
  private exit: Exit | undefined;

  constructor(options: StartOptions) {
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    running.add(this);
    const capture = (stream: NodeJS.ReadableStream, into: string[]) =>
      createInterface({ input: stream }).on('line', (line) => {
        if (into.length < capturedLinesMax) into.push(line);
        for (const listener of this.lineListeners) listener(line);
      });
    capture(this.child.stdout as NodeJS.ReadableStream, this.stdout);
    capture(this.child.stderr as NodeJS.ReadableStream, this.stderr);
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        resolve(this.exit);
      });
      this.child.once('error', () => {
        this.exit = { code: null, signal: null };
        running.delete(this);
        resolve(this.exit);
      });
    });
    // 'close' comes after 'exit' once the pipes have ended (a process that failed to spawn has none to wait for).
    this.closed = new Promise<Exit>((resolve) => {
      this.child.once('close', (code, signal) => resolve({ code, signal }));
      this.child.once('error', () => resolve({ code: null, signal: null }));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Everything the process printed so far, for assertion messages. */
  output(): string {
    return [...this.stdout, ...this.stderr].join('\n');
  }

  /** Resolves with the first line (past or future) matching; rejects on exit or timeout. */
  waitForLine(matches: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const seen = [...this.stdout, ...this.stderr].find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        fn();
      };
      const listener = (line: string) => {
        if (matches(line)) done(() => resolve(line));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no matching line within ${timeoutMs} ms; output:\n${this.output()}`))),
        timeoutMs,
      );
      this.lineListeners.add(listener);
      void this.exited.then((exit) =>
        done(() => reject(new Error(`exited (${exit.code ?? exit.signal}) before a matching line:\n${this.output()}`))),
      );
    });
  }

  /** Waits for exit, bounded; rejects if the process is still running at the timeout. */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${this.output()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Signals the process group (detached processes only), as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void {
    if (this.alive) process.kill(-this.pid, signal);
  }

  /** SIGKILL and wait; what a test's cleanup uses. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export function startProcess(options: StartOptions): ManagedProcess {
  return new ManagedProcess(options);
}

/** Kills every process started through this module that is still running. */
export async function killAllProcesses(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill()));
}

// Last resort if the test runner exits with children alive.
process.on('exit', () => {
  for (const child of running) child.signal('SIGKILL');
});
