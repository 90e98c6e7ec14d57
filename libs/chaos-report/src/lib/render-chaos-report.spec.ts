// The report as a file: its figures ride along as JSON that a description
// cannot break out of, and it names no resource to fetch.
import { readFileSync } from 'node:fs';
import { checkChaosHistory } from '@bulwark/chaos-history';
import { acquire, ChaosHistoryBuilder, granted, replica } from '@bulwark/chaos-history/testing';
import { reportFigures } from './report-figures';
import { renderChaosReport } from './render-chaos-report';

/** A double grant during a kill, its description replaced by one that tries to end the data's <script>. */
function figuresWithHostileDescription(description: string) {
  const history = new ChaosHistoryBuilder();
  history.fault('kill', [replica('replica-a1', 'group-a', true)], [0, 400]);
  history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 990));
  history.ok('c2', acquire('L', 'o2'), [10, 500], granted(2n, 1_500));
  const { records } = history;
  const figures = reportFigures(
    records,
    checkChaosHistory(records, { asyncLossWindow: { beforeFaultMs: 0, afterFaultMs: 0 } }),
  );
  return { ...figures, anomalies: figures.anomalies.map((anomaly) => ({ ...anomaly, description })) };
}

const hostile = '</script><script>document.body.dataset.injected = "yes"</script><!--';
const options = { title: 'Chaos run <seed 7> & "friends"', seed: 7, command: 'npm run chaos -- --seed 7' };

/** The text inside <script type="application/json" id="report-data">, up to the first </script>. */
function embeddedJson(html: string): string {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!match) throw new Error('no report data in the page');
  return match[1] as string;
}

describe('renderChaosReport', () => {
  it('embeds the figures, title, seed and command as JSON that reads back unchanged', () => {
    const figures = figuresWithHostileDescription('a double grant');

    const html = renderChaosReport(figures, options);

    expect(JSON.parse(embeddedJson(html))).toEqual({ ...options, figures: JSON.parse(JSON.stringify(figures)) });
    expect(html).toContain('<title>Chaos run &lt;seed 7&gt; &amp; &quot;friends&quot;</title>');
  });

  it('escapes < in the data, so </script> in a description cannot end the element', () => {
    const figures = figuresWithHostileDescription(hostile);

    const html = renderChaosReport(figures, options);

    expect(html).not.toContain(hostile);
    expect(html).not.toContain('<script>document.body');
    expect(JSON.parse(embeddedJson(html)).figures.anomalies[0].description).toBe(hostile);
    // The data's element, uPlot's and the report's: no other.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  it('inlines uPlot and its own files, and names no resource to fetch', () => {
    const html = renderChaosReport(figuresWithHostileDescription('x'), options);

    expect(html).toContain(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    expect(html).toContain(readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'));
    expect(html).not.toMatch(/\b(?:src|href|action|srcset)\s*=/i);
    expect(html).not.toMatch(/<link\b|@import|url\(/i);
    // A URL anywhere but in uPlot's licence comment would be suspect.
    expect(html.match(/https?:\/\/[^\s"'<>)]*/g)).toEqual(['https://github.com/leeoniya/uPlot']);
    const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
    expect(policy?.split('; ')).toEqual([
      "default-src 'none'",
      expect.stringMatching(/^script-src 'sha256-[A-Za-z0-9+/]+=*' 'sha256-[A-Za-z0-9+/]+=*'$/),
      expect.stringMatching(/^style-src 'sha256-[A-Za-z0-9+/]+=*' 'sha256-[A-Za-z0-9+/]+=*'$/),
      "base-uri 'none'",
      "form-action 'none'",
    ]);
  });
});
