// What tests use to read a metrics endpoint as Prometheus does: a real HTTP
// GET, the body parsed as the text exposition format, and lookups by name
// and labels.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export type MetricFamily = ReturnType<typeof parsePrometheusTextFormat>[number];
export type MetricSample = MetricFamily['metrics'][number];

export interface Scrape {
  readonly contentType: string | null;
  /** The families with their help and type (COUNTER, GAUGE, HISTOGRAM, ...). */
  readonly families: MetricFamily[];
  /**
   * Every sample line under its own name, with all its labels: a
   * histogram's `_bucket`, `_sum` and `_count` apart. The parser merges the
   * series of a labelled histogram into one and drops their labels, so
   * values are read here; the text is parsed a second time without its
   * TYPE lines, which makes each name a family of its own.
   */
  readonly series: MetricFamily[];
}

/** Parses Prometheus text; throws on a line that is not the format. */
export function parseMetrics(text: string, contentType: string | null = null): Scrape {
  const untyped = text
    .split('\n')
    .filter((line) => !line.startsWith('# TYPE '))
    .join('\n');
  return { contentType, families: parsePrometheusTextFormat(text), series: parsePrometheusTextFormat(untyped) };
}

/** GETs http://address/metrics and parses the answer; throws unless it is 200 and parses. */
export async function scrapeMetrics(address: string, timeoutMs = 10_000): Promise<Scrape> {
  const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET http://${address}/metrics answered ${response.status}: ${text}`);
  return parseMetrics(text, response.headers.get('content-type'));
}

/** The family named `name`; throws naming it when the scrape lacks it. */
export function familyOf(scrape: Scrape, name: string): MetricFamily {
  const family = scrape.families.find((candidate) => candidate.name === name);
  if (!family) throw new Error(`no metric family ${name} in the scrape`);
  return family;
}

/** The samples named `name` (`x_count` for a histogram's count) whose labels include every one of `labels`. */
export function samplesOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): MetricSample[] {
  return scrape.series
    .filter((family) => family.name === name)
    .flatMap((family) => family.metrics)
    .filter((sample) => Object.entries(labels).every(([label, value]) => sample.labels?.[label] === value));
}

/** The value of the one sample named `name` with these labels; throws unless exactly one matches. */
export function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const [sample, ...others] = samplesOf(scrape, name, labels);
  if (!sample || others.length > 0) {
    throw new Error(`${name} ${JSON.stringify(labels)} has ${others.length + (sample ? 1 : 0)} samples, not one`);
  }
  return Number(sample.value);
}
