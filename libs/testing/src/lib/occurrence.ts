// Something a test waits for that a callback it hands out makes happen (a
// request arriving at a fake server, a log line): Promise.withResolvers,
// which Node 20 lacks.
export interface Occurrence<T> {
  /** Resolves with the value of the first signal. */
  readonly happened: Promise<T>;
  /** Makes it happen; later calls change nothing. */
  readonly signal: (value: T) => void;
}

export function occurrence<T = void>(): Occurrence<T> {
  let signal!: (value: T) => void;
  const happened = new Promise<T>((resolve) => (signal = resolve));
  return { happened, signal };
}
