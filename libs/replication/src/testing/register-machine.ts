// The simulator's state machine: registers keyed by name, written by put,
// compare-and-set and delete commands that clients encode as JSON (the real
// replica uses @bulwark/kv-state; the simulator checks replication, not it).
import type { LogEntry } from '../lib/messages';

export interface RegisterCommand {
  readonly op: 'put' | 'cas' | 'del';
  readonly key: string;
  readonly value: string | null;
  readonly expect: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeRegisterCommand(command: RegisterCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeRegisterCommand(bytes: Uint8Array): RegisterCommand | undefined {
  return bytes.length === 0 ? undefined : (JSON.parse(decoder.decode(bytes)) as RegisterCommand);
}

/** What applying an entry gave: a cas swapped or not; null for the rest. */
export type RegisterOutcome = boolean | null;

export class RegisterMachine {
  private readonly values = new Map<string, string>();
  private appliedThrough = 0n;

  static restore(values: ReadonlyMap<string, string>, lastSequence: bigint): RegisterMachine {
    const machine = new RegisterMachine();
    for (const [key, value] of values) machine.values.set(key, value);
    machine.appliedThrough = lastSequence;
    return machine;
  }

  get applied(): bigint {
    return this.appliedThrough;
  }

  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  copy(): Map<string, string> {
    return new Map(this.values);
  }

  /** A digest two members compare once they applied the same sequence. */
  digest(): string {
    return [...this.values.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
  }

  apply(entry: LogEntry): RegisterOutcome {
    if (entry.sequence !== this.appliedThrough + 1n) {
      throw new Error(`applied ${entry.sequence} after ${this.appliedThrough}`);
    }
    this.appliedThrough = entry.sequence;
    const command = decodeRegisterCommand(entry.command);
    if (!command) return null;
    const current = this.values.get(command.key) ?? null;
    switch (command.op) {
      case 'put':
        this.values.set(command.key, command.value as string);
        return null;
      case 'del':
        this.values.delete(command.key);
        return null;
      case 'cas':
        if (current !== command.expect) return false;
        if (command.value === null) this.values.delete(command.key);
        else this.values.set(command.key, command.value);
        return true;
    }
  }
}
