// A chaos run's report page: draws the figures embedded in the page (the
// JSON in #report-data, see libs/chaos-report/src/lib/render-chaos-report.ts)
// with uPlot, inlined beside this script, so the file works offline. Plain
// browser JS, no build step; the DOM is built with textContent only, so
// descriptions and records from the history cannot inject markup.
(function () {
  'use strict';

  const { title, seed, command, figures } = JSON.parse(document.getElementById('report-data').textContent);
  const chartHeightPx = 240;
  const dash = '–';
  // Fault windows by kind: a translucent fill over the plot and a darker label.
  const faultPalette = [
    { fill: 'rgba(220, 38, 38, 0.13)', ink: '#b91c1c' },
    { fill: 'rgba(217, 119, 6, 0.15)', ink: '#b45309' },
    { fill: 'rgba(147, 51, 234, 0.12)', ink: '#7e22ce' },
    { fill: 'rgba(37, 99, 235, 0.12)', ink: '#1d4ed8' },
    { fill: 'rgba(13, 148, 136, 0.14)', ink: '#0f766e' },
    { fill: 'rgba(100, 116, 139, 0.16)', ink: '#475569' },
  ];
  const faultKinds = [...new Set(figures.faults.map((fault) => fault.kind))];
  const faultColours = new Map(faultKinds.map((kind, index) => [kind, faultPalette[index % faultPalette.length]]));
  const charts = new Map();

  // ---- formatting --------------------------------------------------------

  function formatMs(ms) {
    if (ms === null) return dash;
    if (ms < 10) return `${ms.toFixed(2)} ms`;
    if (ms < 1_000) return `${Math.round(ms)} ms`;
    return `${(ms / 1_000).toFixed(2)} s`;
  }

  function formatSeconds(seconds) {
    return seconds === null ? dash : `${seconds.toFixed(1)} s`;
  }

  function formatCount(count) {
    return count.toLocaleString('en-US');
  }

  function formatRate(rate) {
    // Two decimals: 99.95 % and 100 % must differ.
    return rate === null ? dash : `${(rate * 100).toFixed(2)} %`;
  }

  function formatShare(part, whole) {
    return formatRate(whole === 0 ? null : part / whole);
  }

  function formatTarget(target) {
    const place = target.group === null ? '' : ` (${target.group}${target.primary ? ', primary' : ''})`;
    return `${target.member}${place}`;
  }

  // ---- DOM helpers -------------------------------------------------------

  /** An element with properties (className, title, dataset) and children (nodes or text). */
  function element(tag, properties, ...children) {
    const node = document.createElement(tag);
    const { dataset, ...rest } = properties;
    Object.assign(node, rest);
    Object.assign(node.dataset, dataset);
    for (const child of children) {
      if (child !== null) node.append(child);
    }
    return node;
  }

  function cell(content, className = '') {
    return element('td', { className }, content);
  }

  function headerRow(...headers) {
    return element('tr', {}, ...headers.map((header) => element('th', {}, header)));
  }

  function section(heading, testId, ...children) {
    return element('section', { dataset: { testid: testId } }, element('h2', {}, heading), ...children);
  }

  function swatch(kind) {
    const node = element('span', { className: 'swatch' });
    node.style.background = faultColours.get(kind).ink;
    return node;
  }

  // ---- sections ----------------------------------------------------------

  function renderHeader() {
    const facts = [
      ['seed', seed === null ? null : String(seed)],
      ['started', figures.originWallMs === null ? null : new Date(figures.originWallMs).toISOString()],
      ['length', formatSeconds(figures.durationSeconds)],
      ['command', command],
    ].filter(([, value]) => value !== null);
    return element(
      'header',
      { className: 'top' },
      element('h1', { dataset: { testid: 'title' } }, title),
      ...facts.map(([label, value]) =>
        element('span', { className: 'top-item' }, `${label} `, element('code', { dataset: { testid: label } }, value)),
      ),
    );
  }

  function renderVerdict() {
    const { anomalyCount, undecidedKeys } = figures.checks;
    const verdict = element(
      'p',
      {
        className: `verdict ${anomalyCount === 0 ? 'verdict-good' : 'verdict-bad'}`,
        dataset: { testid: 'verdict', anomalies: String(anomalyCount) },
      },
      anomalyCount === 0
        ? 'No anomaly: every checker passed'
        : `${formatCount(anomalyCount)} ${anomalyCount === 1 ? 'anomaly' : 'anomalies'} found`,
    );
    const undecided =
      undecidedKeys === 0
        ? null
        : element(
            'p',
            { className: 'note', dataset: { testid: 'undecided' } },
            `${formatCount(undecidedKeys)} keys undecided: the linearizability search ran out of budget on them`,
          );
    return element('div', {}, verdict, undecided);
  }

  /**
   * A uPlot plugin that shades each fault's window behind the series and
   * labels it with its kind, and notes on the chart's container which
   * faults it shaded (tests and readers can check what is drawn).
   */
  function faultShading(container) {
    return {
      hooks: {
        drawClear: [
          (chart) => {
            const { ctx } = chart;
            const { left, top, width, height } = chart.bbox;
            const fontPx = Math.round(11 * uPlot.pxRatio);
            const shaded = [];
            ctx.save();
            ctx.beginPath();
            ctx.rect(left, top, width, height);
            ctx.clip();
            ctx.font = `${fontPx}px system-ui, sans-serif`;
            ctx.textBaseline = 'top';
            figures.faults.forEach((fault, index) => {
              const x0 = chart.valToPos(fault.startSecond, 'x', true);
              const x1 = chart.valToPos(fault.endSecond ?? chart.scales.x.max, 'x', true);
              if (x1 < left || x0 > left + width) return;
              const colour = faultColours.get(fault.kind);
              ctx.fillStyle = colour.fill;
              // At least a pixel wide: a short pause still shows.
              ctx.fillRect(x0, top, Math.max(x1 - x0, uPlot.pxRatio), height);
              ctx.fillStyle = colour.ink;
              // Overlapping windows' labels go on different rows.
              ctx.fillText(fault.kind, Math.max(x0, left) + 3 * uPlot.pxRatio, top + (index % 3) * (fontPx + 4));
              shaded.push(fault.faultId);
            });
            ctx.restore();
            container.dataset.shadedFaults = shaded.join(' ');
          },
        ],
      },
    };
  }

  /** The x range: the whole time line and every fault window, also one that began before the first operation. */
  function xRange() {
    const { seconds, bucketSeconds } = figures.timeline;
    let min = 0;
    let max = (seconds.at(-1) ?? 0) + bucketSeconds;
    for (const fault of figures.faults) {
      min = Math.min(min, fault.startSecond);
      max = Math.max(max, fault.endSecond ?? fault.startSecond);
    }
    return [min, max];
  }

  function chartSpecs() {
    const { timeline } = figures;
    const perSecond = (counts) => counts.map((count) => count / timeline.bucketSeconds);
    return {
      operations: {
        caption: 'Operations per second, by how they ended',
        unit: 'ops/s',
        series: [
          { label: 'ok', stroke: '#15803d', values: perSecond(timeline.ok) },
          { label: 'failed', stroke: '#dc2626', values: perSecond(timeline.failed) },
          { label: 'unknown', stroke: '#d97706', values: perSecond(timeline.unknown) },
        ],
      },
      latency: {
        caption: 'Latency of ok operations (by completion)',
        unit: 'ms',
        series: [
          { label: 'p50', stroke: '#0d9488', values: timeline.latency.all.p50Ms },
          { label: 'p99', stroke: '#ea580c', values: timeline.latency.all.p99Ms },
          // Per class, hidden until picked in the legend: the chart stays readable.
          { label: 'read p50', stroke: '#60a5fa', values: timeline.latency.read.p50Ms, show: false },
          { label: 'read p99', stroke: '#1d4ed8', values: timeline.latency.read.p99Ms, show: false },
          { label: 'write p50', stroke: '#c084fc', values: timeline.latency.write.p50Ms, show: false },
          { label: 'write p99', stroke: '#7e22ce', values: timeline.latency.write.p99Ms, show: false },
        ],
      },
    };
  }

  function chartWidth(container) {
    return Math.max(container.clientWidth, 300);
  }

  function renderCharts() {
    const legend = element(
      'p',
      { className: 'fault-legend', dataset: { testid: 'fault-legend' } },
      faultKinds.length === 0 ? 'No fault was injected.' : 'Shaded: fault windows, by kind ',
      ...faultKinds.map((kind) =>
        element('span', { className: 'legend-item', dataset: { faultKind: kind } }, swatch(kind), kind),
      ),
    );
    const figuresOfCharts = Object.entries(chartSpecs()).map(([name, spec]) => {
      const container = element('div', { className: 'chart', dataset: { chart: name } });
      charts.set(name, { spec, container });
      return element('figure', {}, element('figcaption', {}, spec.caption), container);
    });
    return section('Time line', 'timeline', legend, ...figuresOfCharts);
  }

  /** uPlot measures its container: the charts are drawn once the page is laid out. */
  function drawCharts() {
    const [min, max] = xRange();
    for (const [name, { spec, container }] of charts) {
      const options = {
        width: chartWidth(container),
        height: chartHeightPx,
        scales: { x: { time: false, range: () => [min, max] } },
        series: [
          { label: 's' },
          ...spec.series.map(({ label, stroke, show = true }) => ({ label, stroke, show, width: 1.5 })),
        ],
        axes: [{ label: 'seconds since the first operation' }, { label: spec.unit }],
        plugins: [faultShading(container)],
      };
      const data = [figures.timeline.seconds, ...spec.series.map(({ values }) => values)];
      charts.set(name, { spec, container, chart: new uPlot(options, data, container) });
    }
  }

  function renderFigures() {
    const { inFaults, outsideFaults, failovers, asyncWriteLoss, operations } = figures;
    const row = (label, testId, value, detail) =>
      element(
        'tr',
        { dataset: { testid: testId } },
        element('th', { scope: 'row' }, label),
        cell(value, 'number'),
        cell(detail, 'detail'),
      );
    const successRow = (label, testId, { success }) =>
      row(
        label,
        testId,
        formatRate(success.rate),
        `${formatCount(success.ok)} ok of ${formatCount(success.operations)} invoked`,
      );
    const lostShare = formatShare(asyncWriteLoss.asyncWritesLost, asyncWriteLoss.asyncWritesChecked);
    const main = element(
      'table',
      { className: 'figures' },
      element(
        'tbody',
        {},
        row(
          'Operations',
          'operations',
          formatCount(operations.total),
          `${formatCount(operations.ok)} ok, ${formatCount(operations.failed)} failed, ${formatCount(operations.unknown)} unknown`,
        ),
        successRow('Success rate during faults', 'success-in-faults', inFaults),
        successRow('Success rate outside faults', 'success-outside-faults', outsideFaults),
        row(
          'Failover time',
          'failover',
          formatMs(failovers.maxMs),
          failovers.faultsOnPrimary === 0
            ? 'no fault hit a primary'
            : `the longest; p50 ${formatMs(failovers.p50Ms)}; writes resumed after ${failovers.writesResumed} of ${failovers.faultsOnPrimary} faults on a primary`,
        ),
        row(
          'Async writes lost',
          'async-loss',
          lostShare,
          `${formatCount(asyncWriteLoss.asyncWritesLost)} of ${formatCount(asyncWriteLoss.asyncWritesChecked)} checked, ` +
            `${formatCount(asyncWriteLoss.asyncWritesLostWithinWindow)} within the documented window`,
        ),
      ),
    );
    const latencyCells = (latency) => [
      cell(formatCount(latency.count), 'number'),
      cell(formatMs(latency.p50Ms), 'number'),
      cell(formatMs(latency.p99Ms), 'number'),
      cell(formatMs(latency.maxMs), 'number'),
    ];
    const latencyRows = [
      ['all', 'all ok operations'],
      ['read', 'reads'],
      ['write', 'writes'],
      ['lock', 'lock calls (acquires wait)'],
    ].map(([operationClass, label]) =>
      element(
        'tr',
        { dataset: { latency: operationClass } },
        element('th', { scope: 'row' }, label),
        ...latencyCells(inFaults.latency[operationClass]),
        ...latencyCells(outsideFaults.latency[operationClass]),
      ),
    );
    const latency = element(
      'table',
      { className: 'latency' },
      element(
        'thead',
        {},
        element(
          'tr',
          {},
          element('th', {}, ''),
          element('th', { colSpan: 4, className: 'period' }, 'invoked during faults'),
          element('th', { colSpan: 4, className: 'period' }, 'invoked outside faults'),
        ),
        headerRow('latency', 'ok', 'p50', 'p99', 'max', 'ok', 'p50', 'p99', 'max'),
      ),
      element('tbody', {}, ...latencyRows),
    );
    return section('Figures', 'figures', main, latency);
  }

  function renderFaults() {
    if (figures.faults.length === 0) {
      return section('Faults', 'faults', element('p', { className: 'empty' }, 'No fault was injected.'));
    }
    const rows = figures.faults.map((fault) =>
      element(
        'tr',
        { dataset: { fault: String(fault.faultId), kind: fault.kind } },
        cell(String(fault.faultId), 'number'),
        cell(element('span', { className: 'kind' }, swatch(fault.kind), fault.kind)),
        cell(fault.targets.map(formatTarget).join(', ')),
        cell(formatSeconds(fault.startSecond), 'number'),
        cell(fault.lengthMs === null ? 'never healed' : formatMs(fault.lengthMs), 'number'),
        cell(
          fault.onPrimary ? (fault.failoverMs === null ? 'no write acknowledged' : formatMs(fault.failoverMs)) : dash,
          fault.onPrimary && fault.failoverMs === null ? 'number bad' : 'number',
        ),
        cell(formatCount(fault.during.ok), 'number'),
        cell(formatCount(fault.during.failed), 'number'),
        cell(formatCount(fault.during.unknown), 'number'),
        cell(fault.detail, 'detail'),
      ),
    );
    return section(
      'Faults',
      'faults',
      element(
        'table',
        {},
        element(
          'thead',
          {},
          headerRow('#', 'kind', 'targets', 'start', 'length', 'failover', 'ok', 'failed', 'unknown', 'detail'),
        ),
        element('tbody', {}, ...rows),
      ),
    );
  }

  function renderAnomalies() {
    const { checks, anomalies } = figures;
    const checkerRows = checks.checkers.map((checker) =>
      element(
        'tr',
        { dataset: { checker: checker.checker } },
        cell(checker.title, 'name'),
        cell(formatCount(checker.anomalyCount), checker.anomalyCount === 0 ? 'number' : 'number bad'),
        cell(checker.anomaliesKept < checker.anomalyCount ? `first ${checker.anomaliesKept} listed below` : ''),
      ),
    );
    const titles = new Map(checks.checkers.map((checker) => [checker.checker, checker.title]));
    const details = anomalies.map((anomaly) =>
      element(
        'details',
        { className: 'anomaly', dataset: { anomaly: anomaly.checker, kind: anomaly.kind } },
        element(
          'summary',
          {},
          element('span', { className: 'bad' }, `${titles.get(anomaly.checker)} · ${anomaly.kind}`),
          ': ',
          anomaly.description,
        ),
        element('p', { className: 'note' }, 'The smallest sub-history that shows it, as history lines:'),
        element('pre', {}, anomaly.recordLines.join('\n')),
      ),
    );
    const none =
      checks.anomalyCount === 0
        ? element('p', { className: 'verdict verdict-good', dataset: { testid: 'no-anomaly' } }, 'No anomaly.')
        : null;
    return section(
      'Anomalies',
      'anomalies',
      element(
        'table',
        {},
        element('thead', {}, headerRow('checker', 'anomalies', '')),
        element('tbody', {}, ...checkerRows),
      ),
      none,
      ...details,
    );
  }

  window.addEventListener('resize', () => {
    for (const { container, chart } of charts.values()) {
      chart.setSize({ width: chartWidth(container), height: chartHeightPx });
    }
  });

  document.title = title;
  document.body.prepend(renderHeader());
  document
    .getElementById('report')
    .replaceChildren(renderVerdict(), renderCharts(), renderFigures(), renderFaults(), renderAnomalies());
  drawCharts();
  // Tests (and curious readers) can tell the page has drawn itself.
  document.body.dataset.rendered = 'true';
})();
