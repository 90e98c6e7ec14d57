// One Prometheus registry per process, with Node's default metrics (CPU,
// memory, event-loop lag, GC, handles), and one-line constructors for the
// families every lib adds to it. A family is defined once, at module level,
// where the code it measures lives; the metrics server serves them all.
//
// State that already exists (a role, a ballot, a queue) is read when
// scraped, not copied on every change: a scraped family asks its readers
// for their values at each scrape, so the paths that change the state stay
// as they are.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';

/** Bucket bounds for histograms: `exponentialBuckets(start, factor, count)`, `linearBuckets(start, width, count)`. */
export { exponentialBuckets, linearBuckets } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export interface FamilyConfig<Label extends string> {
  /** Prometheus naming: snake_case, the unit last (`_seconds`, `_bytes`), counters ending in `_total`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly Label[];
}

export interface HistogramConfig<Label extends string> extends FamilyConfig<Label> {
  /** Upper bounds, ascending; Prometheus's default (5 ms to 10 s) when unset. */
  readonly buckets?: readonly number[];
}

/** A counter in the process registry. */
export function counter<Label extends string = never>(config: FamilyConfig<Label>): Counter<Label> {
  return new Counter<Label>({ ...config, registers: [registry] });
}

/** A gauge in the process registry. */
export function gauge<Label extends string = never>(config: FamilyConfig<Label>): Gauge<Label> {
  return new Gauge<Label>({ ...config, registers: [registry] });
}

/** A histogram in the process registry. */
export function histogram<Label extends string = never>(config: HistogramConfig<Label>): Histogram<Label> {
  const { buckets, ...rest } = config;
  return new Histogram<Label>({ ...rest, ...(buckets && { buckets: [...buckets] }), registers: [registry] });
}

/** Reports one value of a scraped family, with its labels; a value that is not finite is left out. */
export type Sample<Label extends string> = (value: number, labels?: LabelValues<Label>) => void;

export interface ScrapedFamily<Label extends string> {
  /**
   * Adds a reader of live state, asked at every scrape; returns what removes
   * it, for its owner's stop. Samples with the same labels add up: one
   * process runs one coordinator, replica or lock node, so they meet only
   * where tests run several in one process.
   */
  readFrom(read: (sample: Sample<Label>) => void): () => void;
}

type Readers<Label extends string> = Set<(sample: Sample<Label>) => void>;

function readAll<Label extends string>(family: Counter<Label> | Gauge<Label>, readers: Readers<Label>): void {
  family.reset();
  const sample: Sample<Label> = (value, labels) => {
    // prom-client throws on these, which would fail the whole scrape: no value beats a wrong one.
    if (!Number.isFinite(value)) return;
    if (labels) family.inc(labels, value);
    else family.inc(value);
  };
  for (const read of readers) read(sample);
}

function scraped<Label extends string>(readers: Readers<Label>): ScrapedFamily<Label> {
  return {
    readFrom(read) {
      readers.add(read);
      return () => readers.delete(read);
    },
  };
}

/** A gauge whose values are read from live state at each scrape. */
export function scrapedGauge<Label extends string = never>(config: FamilyConfig<Label>): ScrapedFamily<Label> {
  const readers: Readers<Label> = new Set();
  new Gauge<Label>({
    ...config,
    registers: [registry],
    collect() {
      readAll(this, readers);
    },
  });
  return scraped(readers);
}

/**
 * A counter whose value is a running total kept by live state (a commit
 * index), read at each scrape. The total must only grow while its reader is
 * registered; a restart starts it again, which rate() understands.
 */
export function scrapedCounter<Label extends string = never>(config: FamilyConfig<Label>): ScrapedFamily<Label> {
  const readers: Readers<Label> = new Set();
  new Counter<Label>({
    ...config,
    registers: [registry],
    collect() {
      readAll(this, readers);
    },
  });
  return scraped(readers);
}
