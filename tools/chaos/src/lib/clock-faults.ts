// Clock faults for the fleet's own services, with libfaketime (Debian's
// faketime package): each service starts with it preloaded and reading its
// offset from a file of its own, "+0s" until a fault writes another (a jump
// of minutes or hours, either way) and the heal writes "+0s" back. Only the
// wall clock moves: Bulwark's leases are measured on monotonic clocks, and
// a monotonic clock never jumps back on a real machine (a forward jump is a
// pause, which the pause nemeses make). The Redis servers keep their clock:
// their key expiry runs on it, and a jump there ends a lease early, which
// no lock on Redis can survive.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The thread-safe variant: node runs several threads. */
const libfaketimeCandidates = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
];

/** Where libfaketime is; undefined when the faketime package is not installed. */
export function findLibfaketime(): string | undefined {
  return libfaketimeCandidates.find((path) => existsSync(path));
}

/** The jumps a fault picks from, as libfaketime writes offsets. */
export const clockJumps = ['+10m', '-10m', '+2h', '-90s'] as const;

export class ClockFaults {
  constructor(
    private readonly library: string,
    private readonly directory: string,
  ) {
    mkdirSync(directory, { recursive: true });
  }

  /** Services whose offset file this run has reset. */
  private readonly started = new Set<string>();

  /**
   * What a service starts with so its wall clock follows its offset file:
   * reset to "+0s" at its first start in this run (an interrupted run may
   * have left a jump in it), kept at a restart (a jump in force stays).
   */
  environment(service: string): Record<string, string> {
    const file = this.fileOf(service);
    if (!this.started.has(service)) writeFileSync(file, '+0s\n');
    this.started.add(service);
    return {
      LD_PRELOAD: this.library,
      FAKETIME_TIMESTAMP_FILE: file,
      // Read again at most once a second: a jump lands within a second, at no cost per clock read.
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
  }

  jump(service: string, offset: string): void {
    writeFileSync(this.fileOf(service), `${offset}\n`);
  }

  heal(service: string): void {
    this.jump(service, '+0s');
  }

  private fileOf(service: string): string {
    return join(this.directory, service);
  }
}
