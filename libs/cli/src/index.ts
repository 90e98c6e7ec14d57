export type { CliIo } from './lib/cli-io';
export { ExitCode } from './lib/exit-codes';
export { runCli } from './lib/program';
