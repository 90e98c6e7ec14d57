// Where a command reads and writes, and how it hears Ctrl-C: the process's
// streams and signals in the binary, buffers in tests.
export interface CliIo {
  /** Standard output: values, tables, JSON. */
  readonly stdout: { write(chunk: string | Uint8Array): unknown };
  /** Standard error: `bulwark: ...` lines and notes for people. */
  readonly stderr: { write(chunk: string): unknown };
  /** All of standard input. */
  readStdin(): Promise<Buffer>;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Calls handler on SIGINT or SIGTERM instead of exiting at once (the
   * default), until the returned function is called: for commands that must
   * end something first (a stream, a held lock).
   */
  onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void;
}

const interruptSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    env: process.env,
    onInterrupt: (handler) => {
      for (const signal of interruptSignals) process.on(signal, handler);
      return () => {
        for (const signal of interruptSignals) process.off(signal, handler);
      };
    },
  };
}
