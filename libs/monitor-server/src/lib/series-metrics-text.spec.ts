import { InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { metricSamplesMax, parseMetricsText, parseSampleValue } from './series-metrics-text';

const wanted = new Set(['h_bucket', 'requests_total', 'lag']);

describe('parseMetricsText', () => {
  it('reads the wanted samples with their labels, each labelled histogram series apart', () => {
    const text = [
      '# HELP h Latency.',
      '# TYPE h histogram',
      'h_bucket{m="a",le="0.1"} 1',
      'h_bucket{m="a",le="+Inf"} 2',
      'h_sum{m="a"} 0.3',
      'h_bucket{m="b",le="0.1"} 5',
      'h_bucket{m="b",le="+Inf"} 7',
      '',
      'requests_total 42 1700000000000',
    ].join('\n');
    expect(parseMetricsText(text, wanted)).toEqual([
      {
        name: 'h_bucket',
        labels: new Map([
          ['m', 'a'],
          ['le', '0.1'],
        ]),
        value: 1,
      },
      {
        name: 'h_bucket',
        labels: new Map([
          ['m', 'a'],
          ['le', '+Inf'],
        ]),
        value: 2,
      },
      {
        name: 'h_bucket',
        labels: new Map([
          ['m', 'b'],
          ['le', '0.1'],
        ]),
        value: 5,
      },
      {
        name: 'h_bucket',
        labels: new Map([
          ['m', 'b'],
          ['le', '+Inf'],
        ]),
        value: 7,
      },
      { name: 'requests_total', labels: new Map(), value: 42 },
    ]);
  });

  it('unescapes label values and takes blanks, a trailing comma, CRLF line ends and special values', () => {
    const text =
      'lag{ path = "C:\\\\dir" , quote="say \\"hi\\"", line="a\\nb", } NaN\r\n' +
      'lag{member="x"} +Inf\n' +
      'lag{member="y"}\t-1.5e3\n';
    const samples = parseMetricsText(text, wanted);
    expect(samples[0]?.labels).toEqual(
      new Map([
        ['path', 'C:\\dir'],
        ['quote', 'say "hi"'],
        ['line', 'a\nb'],
      ]),
    );
    expect(samples.map((sample) => sample.value)).toEqual([Number.NaN, Number.POSITIVE_INFINITY, -1500]);
  });

  it('skips lines of other families whatever follows their name', () => {
    expect(parseMetricsText('other_metric{broken="\n other{x} what ever\nlag 1\n', wanted)).toEqual([
      { name: 'lag', labels: new Map(), value: 1 },
    ]);
  });

  it('fails the whole text, naming the line, for a wanted line that does not parse', () => {
    const cases: Array<[string, RegExp]> = [
      ['lag{a="1"', /line 2: expected , or \} after label a/],
      ['lag{a="1} 1', /line 2: the value of label a is not closed/],
      ['lag{a="1",a="2"} 1', /line 2: label a appears twice/],
      ['lag{a="\\x"} 1', /line 2: unknown escape/],
      ['lag{a=1} 1', /line 2: expected " to open the value of label a/],
      ['lag{1a="x"} 1', /line 2: expected a label name or \}/],
      ['lag 12abc', /line 2: lag has no valid value \("12abc"\)/],
      ['lag', /line 2: expected a blank before the value of lag/],
      ['lag{a="1"}1', /line 2: expected a blank before the value of lag/],
      ['{a="1"} 1', /line 2: expected a metric name/],
    ];
    for (const [line, message] of cases) {
      const parse = () => parseMetricsText(`requests_total 1\n${line}\n`, wanted);
      expect(parse).toThrow(InvalidArgumentError);
      expect(parse).toThrow(message);
    }
  });

  it(`keeps at most ${metricSamplesMax} samples`, () => {
    const lines = 'lag 1\n'.repeat(metricSamplesMax);
    expect(parseMetricsText(lines, wanted)).toHaveLength(metricSamplesMax);
    expect(() => parseMetricsText(`${lines}lag 2\n`, wanted)).toThrow(ResourceExhaustedError);
  });
});

describe('parseSampleValue', () => {
  it('reads decimals and the special values, and nothing else', () => {
    expect(['1', '-0.5', '.5', '2.', '1e-3', '+3E2', 'Inf', '+Inf', '-inf'].map(parseSampleValue)).toEqual([
      1,
      -0.5,
      0.5,
      2,
      0.001,
      300,
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    expect(parseSampleValue('NaN')).toBeNaN();
    expect(['', ' 1', '0x10', '1,5', 'e3', '1e'].map(parseSampleValue)).toEqual(Array(6).fill(undefined));
  });
});
