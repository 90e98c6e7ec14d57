// Faults on the fleet's processes: kill -9 and a restart through the
// launcher (as its restart policy would), and pauses (SIGSTOP, then
// SIGCONT) of a process the launcher runs, by its pid: a frozen VM or a
// long GC pause, with every socket left open. A paused process is always
// resumed at the end (resumeAll), also when the run is interrupted, so the
// launcher can stop it.
import type { Fleet } from '@bulwark/fleet';

export class ProcessFaults {
  /** Paused processes by service name: the pid that was stopped. */
  private readonly paused = new Map<string, number>();

  constructor(private readonly fleet: Fleet) {}

  /** Services paused now. */
  get pausedServices(): string[] {
    return [...this.paused.keys()];
  }

  /** kill -9; the service stays down until restart(). */
  async kill(name: string): Promise<void> {
    this.resume(name);
    await this.fleet.kill(name, 'SIGKILL');
  }

  restart(name: string): void {
    this.fleet.start(name);
  }

  pause(name: string): void {
    if (this.paused.has(name)) return;
    const { pid } = this.fleet.service(name);
    if (pid === undefined) throw new Error(`cannot pause ${name}: it is not running`);
    process.kill(pid, 'SIGSTOP');
    this.paused.set(name, pid);
  }

  resume(name: string): void {
    const pid = this.paused.get(name);
    if (pid === undefined) return;
    this.paused.delete(name);
    try {
      process.kill(pid, 'SIGCONT');
    } catch (error) {
      // Gone meanwhile (killed while paused): nothing left to resume.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  resumeAll(): void {
    for (const name of [...this.paused.keys()]) this.resume(name);
  }
}
