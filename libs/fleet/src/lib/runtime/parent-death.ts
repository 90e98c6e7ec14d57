// Children get SIGKILL when the process that started them dies, however it
// dies. The exit handler covers every exit Node sees; a SIGKILL or the OOM
// killer skips it, and the services would live on holding their addresses.
// Linux has a parent-death signal for that, but Node cannot call prctl, so
// setpriv(1) from util-linux sets it and then execs the command (same pid).
import { findProgram } from './find-program';

let cached: string[] | undefined;

/** The argv prefix that ties a child's life to ours; empty where setpriv is missing (the exit handler remains). */
export function parentDeathPrefix(): string[] {
  if (cached === undefined) {
    const setpriv = findProgram('setpriv', process.env.PATH);
    cached = setpriv === undefined ? [] : [setpriv, '--pdeathsig', 'KILL', '--'];
  }
  return cached;
}
