// The failpoints of this process and what each is set to do. Every point
// is compiled in and off: a pass through one costs a method call and one
// Map-size check until something is enabled (from BULWARK_FAILPOINTS at
// start, or over the control endpoint). gofail's runtime, for Node.
import { constants } from 'node:os';
import {
  declarationOf,
  failpointNames,
  type BugFailpointName,
  type FailpointKind,
  type FailpointName,
  type PassFailpointName,
} from './catalog';
import { crashProcess, type CrashAction } from './crash';
import {
  formatFailpointSpec,
  type FailpointAction,
  type FailpointSetting,
  type FailpointSpec,
  type InjectedErrorCode,
} from './spec';

interface Enabled {
  readonly spec: FailpointSpec;
  /** Times it fired since it was enabled, for its count. */
  fired: number;
}

/** One failpoint as listed. */
export interface FailpointState {
  readonly name: FailpointName;
  readonly kind: FailpointKind;
  readonly doc: string;
  /** Its term ("off" when off, also once its count is used up). */
  readonly action: string;
  /** Times it fired since the process started, over every time it was enabled. */
  readonly fired: number;
}

export interface FailpointRegistryOptions {
  /** A number in [0, 1) for each pass through a point with a chance below 100%; Math.random unless a test seeds one. */
  random?: () => number;
  /** Ends the process; tests record instead. */
  crash?: (name: FailpointName, action: CrashAction) => void;
}

/** What a blocking sleep waits on: nothing ever notifies it, so Atomics.wait returns at its timeout. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const errorTexts: Record<InjectedErrorCode, string> = { EIO: 'i/o error', ENOSPC: 'no space left on device' };

export class FailpointRegistry {
  private readonly enabled = new Map<FailpointName, Enabled>();
  private readonly firedTotals = new Map<FailpointName, number>();
  private readonly random: () => number;
  private readonly crash: (name: FailpointName, action: CrashAction) => void;

  constructor(options: FailpointRegistryOptions = {}) {
    this.random = options.random ?? Math.random;
    this.crash = options.crash ?? crashProcess;
  }

  /** Sets a failpoint (checked by parseFailpointSetting); an undefined spec turns it off. */
  set(setting: FailpointSetting): void {
    if (setting.spec) this.enabled.set(setting.name, { spec: setting.spec, fired: 0 });
    else this.enabled.delete(setting.name);
  }

  /** Every failpoint of `names` with what it is set to do. */
  list(names: readonly FailpointName[] = failpointNames): FailpointState[] {
    return names.map((name) => {
      const declaration = declarationOf(name);
      return {
        name,
        kind: declaration.kind,
        doc: declaration.doc,
        action: formatFailpointSpec(this.enabled.get(name)?.spec),
        fired: this.firedTotals.get(name) ?? 0,
      };
    });
  }

  /**
   * A pass through a point in synchronous code: crashes, throws the
   * injected error, or sleeps blocking the whole process (as a synchronous
   * file call that hangs does), when the point is set to and fires.
   */
  pass(name: PassFailpointName): void {
    if (this.enabled.size === 0) return;
    const action = this.fire(name);
    if (action?.type === 'sleep') Atomics.wait(sleeper, 0, 0, action.ms);
    else if (action) this.crashOrThrow(name, action);
  }

  /**
   * A pass through a point in asynchronous code: as pass, but a sleep
   * delays only this operation (the event loop runs on, as while a slow
   * disk serves a write on libuv's thread pool). Await what it returns.
   */
  passAsync(name: PassFailpointName): Promise<void> | undefined {
    if (this.enabled.size === 0) return undefined;
    const action = this.fire(name);
    if (action?.type === 'sleep') return new Promise((resolve) => setTimeout(resolve, action.ms));
    if (action) this.crashOrThrow(name, action);
    return undefined;
  }

  /** Whether a bug point is on for this pass (its chance and count are drawn here). */
  isOn(name: BugFailpointName): boolean {
    if (this.enabled.size === 0) return false;
    return this.fire(name)?.type === 'on';
  }

  /** The action when this pass fires: the chance drawn, the count used. */
  private fire(name: FailpointName): FailpointAction | undefined {
    const enabled = this.enabled.get(name);
    if (!enabled) return undefined;
    const { spec } = enabled;
    if (spec.probability < 1 && this.random() >= spec.probability) return undefined;
    enabled.fired++;
    this.firedTotals.set(name, (this.firedTotals.get(name) ?? 0) + 1);
    if (spec.count !== undefined && enabled.fired >= spec.count) this.enabled.delete(name);
    return spec.action;
  }

  /** A pass point's other actions (on is a bug point's: parseFailpointSetting never sets it on one). */
  private crashOrThrow(name: FailpointName, action: FailpointAction): void {
    if (action.type === 'error') throw injectedError(name, action.code);
    if (action.type === 'crash' || action.type === 'crash-lose-unsynced') this.crash(name, action.type);
  }
}

/** An error shaped as Node's fs makes one (code, errno, syscall), naming the failpoint in its message. */
function injectedError(name: FailpointName, code: InjectedErrorCode): NodeJS.ErrnoException {
  // Only io points take error(...), and each names its operation.
  const syscall = declarationOf(name).syscall ?? 'write';
  const error: NodeJS.ErrnoException = new Error(`${code}: ${errorTexts[code]}, ${syscall} (failpoint ${name})`);
  error.code = code;
  error.errno = -constants.errno[code];
  error.syscall = syscall;
  return error;
}

/** The process's failpoints: what BULWARK_FAILPOINTS and the control endpoint set, and every call site passes. */
export const failpoints = new FailpointRegistry();
