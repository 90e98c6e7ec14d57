// A CliIo over buffers, for running commands in a test: what they printed,
// a given standard input, and Ctrl-C on demand.
import type { CliIo } from '../lib/cli-io';

export class CapturedIo implements CliIo {
  private readonly out: Buffer[] = [];
  private readonly err: string[] = [];
  private readonly interruptHandlers = new Set<(signal: NodeJS.Signals) => void>();
  private readonly outputWaiters = new Set<() => void>();
  readonly stdout = {
    write: (chunk: string | Uint8Array) => {
      this.out.push(Buffer.from(chunk));
      for (const waiter of this.outputWaiters) waiter();
    },
  };
  readonly stderr = { write: (chunk: string) => this.err.push(chunk) };

  readonly env: NodeJS.ProcessEnv = {};

  constructor(private readonly stdin: string | Buffer = '') {}

  /** Everything written to standard output. */
  get output(): string {
    return Buffer.concat(this.out).toString();
  }

  /** Everything written to standard error. */
  get errors(): string {
    return this.err.join('');
  }

  /** Resolves once standard output holds text. */
  untilOutput(text: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!this.output.includes(text)) return;
        this.outputWaiters.delete(check);
        resolve();
      };
      this.outputWaiters.add(check);
      check();
    });
  }

  readStdin(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(this.stdin));
  }

  onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void {
    this.interruptHandlers.add(handler);
    return () => this.interruptHandlers.delete(handler);
  }

  /** As Ctrl-C: true when a command was listening. */
  interrupt(signal: NodeJS.Signals = 'SIGINT'): boolean {
    for (const handler of this.interruptHandlers) handler(signal);
    return this.interruptHandlers.size > 0;
  }
}
