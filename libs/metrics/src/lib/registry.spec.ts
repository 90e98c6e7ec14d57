import { counter, gauge, histogram, registry, scrapedCounter, scrapedGauge } from './registry';

/** The family's samples as registry.metrics() has them now, each as labels and value. */
async function samples(name: string): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  const family = (await registry.getMetricsAsJSON()).find((metric) => metric.name === name);
  if (!family) throw new Error(`no family ${name}`);
  return family.values.map(({ labels, value }) => ({ labels: { ...labels }, value }));
}

describe('the process registry', () => {
  it('holds what counter, gauge and histogram define, each in one line', async () => {
    const calls = counter({ name: 'spec_calls_total', help: 'Calls.', labelNames: ['method'] });
    const depth = gauge({ name: 'spec_depth', help: 'Depth.' });
    const latency = histogram({ name: 'spec_latency_seconds', help: 'Latency.', buckets: [0.1, 1] });
    calls.inc({ method: 'Get' });
    depth.set(3);
    latency.observe(0.5);
    expect(await samples('spec_calls_total')).toEqual([{ labels: { method: 'Get' }, value: 1 }]);
    expect(await samples('spec_depth')).toEqual([{ labels: {}, value: 3 }]);
    expect(await registry.getSingleMetricAsString('spec_latency_seconds')).toContain(
      'spec_latency_seconds_bucket{le="1"} 1',
    );
    expect(() => counter({ name: 'spec_calls_total', help: 'Again.' })).toThrow(/already been registered/);
  });

  it('reads a scraped gauge from its live readers at each scrape, and forgets a removed one', async () => {
    const lag = scrapedGauge({ name: 'spec_lag_entries', help: 'Lag.', labelNames: ['member'] });
    const lags = new Map([['b', 4]]);
    const stop = lag.readFrom((sample) => {
      for (const [member, entries] of lags) sample(entries, { member });
    });
    expect(await samples('spec_lag_entries')).toEqual([{ labels: { member: 'b' }, value: 4 }]);
    lags.set('b', 0);
    lags.set('c', 7);
    expect(await samples('spec_lag_entries')).toEqual([
      { labels: { member: 'b' }, value: 0 },
      { labels: { member: 'c' }, value: 7 },
    ]);
    // A member that left the state leaves the family too.
    lags.delete('b');
    expect(await samples('spec_lag_entries')).toEqual([{ labels: { member: 'c' }, value: 7 }]);
    stop();
    expect(await samples('spec_lag_entries')).toEqual([]);
  });

  it('adds up the samples of several readers, and leaves out values that are not finite', async () => {
    const leaders = scrapedGauge({ name: 'spec_is_leader', help: 'Leader.' });
    const stops = [1, 0, Number.POSITIVE_INFINITY, Number.NaN].map((value) =>
      leaders.readFrom((sample) => sample(value)),
    );
    expect(await samples('spec_is_leader')).toEqual([{ labels: {}, value: 1 }]);
    stops.forEach((stop) => stop());
    expect(await samples('spec_is_leader')).toEqual([{ labels: {}, value: 0 }]);
  });

  it('reports a running total of live state as a counter', async () => {
    const committed = scrapedCounter({ name: 'spec_committed_total', help: 'Committed.' });
    let commitIndex = 10;
    committed.readFrom((sample) => sample(commitIndex));
    expect(await registry.getSingleMetricAsString('spec_committed_total')).toContain(
      '# TYPE spec_committed_total counter\nspec_committed_total 10',
    );
    commitIndex = 25;
    expect(await samples('spec_committed_total')).toEqual([{ labels: {}, value: 25 }]);
  });
});
