// The Prometheus text exposition format (0.0.4), as far as the series
// sampler reads it: sample lines `name{label="value",...} value [timestamp]`
// of the families it asks for. parse-prometheus-text-format is not used: it
// merges the series of a labelled histogram into one and drops their labels
// (every method's buckets overwrite each other's), which is exactly the data
// the latency chart needs. A line of a wanted family that does not parse
// fails the whole text, as Prometheus fails a scrape (half a histogram would
// give wrong quantiles); other families' lines are skipped after their name,
// so whatever else a process serves cannot break the sampler.
import { InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';

export interface MetricSample {
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly value: number;
}

/** Samples kept from one text: far beyond any process here, small enough to hold. */
export const metricSamplesMax = 100_000;

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const escapes: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', n: '\n' };

/** A sample value or an `le` bound: a decimal, +Inf, -Inf or NaN; undefined for anything else. */
export function parseSampleValue(token: string): number | undefined {
  switch (token.toLowerCase()) {
    case '+inf':
    case 'inf':
      return Number.POSITIVE_INFINITY;
    case '-inf':
      return Number.NEGATIVE_INFINITY;
    case 'nan':
      return Number.NaN;
  }
  return decimal.test(token) ? Number(token) : undefined;
}

function skipBlanks(line: string, at: number): number {
  while (line[at] === ' ' || line[at] === '\t') at += 1;
  return at;
}

/** Reads `label="value",...}` from at (just past the `{`); returns where the `}` ends. */
function readLabels(line: string, at: number, labels: Map<string, string>, fail: (problem: string) => never): number {
  for (;;) {
    at = skipBlanks(line, at);
    if (line[at] === '}') return at + 1;
    const name = labelName.exec(line.slice(at))?.[0];
    if (!name) fail('expected a label name or }');
    at = skipBlanks(line, at + name.length);
    if (line[at] !== '=') fail(`expected = after label ${name}`);
    at = skipBlanks(line, at + 1);
    if (line[at] !== '"') fail(`expected " to open the value of label ${name}`);
    let value = '';
    for (at += 1; line[at] !== '"'; at += 1) {
      const character = line[at];
      if (character === undefined) fail(`the value of label ${name} is not closed`);
      if (character !== '\\') {
        value += character;
        continue;
      }
      at += 1;
      const escaped = escapes[line[at] ?? ''];
      if (escaped === undefined) fail(`unknown escape in the value of label ${name}`);
      value += escaped;
    }
    if (labels.has(name)) fail(`label ${name} appears twice`);
    labels.set(name, value);
    at = skipBlanks(line, at + 1);
    if (line[at] === ',') at += 1;
    else if (line[at] !== '}') fail(`expected , or } after label ${name}`);
  }
}

/**
 * The samples of the families named in `wanted`, in text order. Throws
 * InvalidArgumentError naming the line for a wanted line that does not
 * parse, ResourceExhaustedError past metricSamplesMax.
 */
export function parseMetricsText(text: string, wanted: ReadonlySet<string>): MetricSample[] {
  const samples: MetricSample[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const fail: (problem: string) => never = (problem) => {
      throw new InvalidArgumentError('metrics', `line ${index + 1}: ${problem}`);
    };
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const name = metricName.exec(line)?.[0];
    if (!name) fail('expected a metric name');
    if (!wanted.has(name)) return;
    const labels = new Map<string, string>();
    const end = line[name.length] === '{' ? readLabels(line, name.length + 1, labels, fail) : name.length;
    if (line[end] !== ' ' && line[end] !== '\t') fail(`expected a blank before the value of ${name}`);
    // What follows the value (a timestamp) is not needed: the sampler times its own scrapes.
    const token =
      line
        .slice(end)
        .trim()
        .split(/[ \t]+/, 1)[0] ?? '';
    const value = parseSampleValue(token);
    if (value === undefined) fail(`${name} has no valid value ("${token}")`);
    if (samples.length === metricSamplesMax) {
      throw new ResourceExhaustedError('metricSamplesMax', `more than ${metricSamplesMax} samples`, {
        retryable: false,
      });
    }
    samples.push({ name, labels, value });
  });
  return samples;
}
