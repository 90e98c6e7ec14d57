// The monitor's dashboard page: listens to api/events (server-sent events,
// one whole DashboardSnapshot per message) and redraws everything from the
// latest snapshot. Plain browser JS, no build step; the DOM is built with
// textContent only, so ids and error texts from the fleet cannot inject markup.
(function () {
  'use strict';

  const roleOrder = ['coordinator', 'replica', 'router', 'lock', 'monitor'];
  const chartHeightPx = 220;
  // An EventSource reconnects by itself after a dropped connection, but gives
  // up for good on an error answer (a 503 when the monitor has too many
  // viewers, a restart behind a proxy): then this page retries, backing off.
  const reconnectDelayMsMin = 1_000;
  const reconnectDelayMsMax = 30_000;

  let reconnectDelayMs = reconnectDelayMsMin;
  let lastSnapshotReceivedMs = null;
  const charts = new Map();

  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  // ---- formatting --------------------------------------------------------

  const dash = '–';

  function formatDuration(ms) {
    if (ms === null || ms === undefined) return dash;
    if (ms < 1_000) return `${Math.round(ms)} ms`;
    const seconds = ms / 1_000;
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes}m ${Math.floor(seconds % 60)}s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h ${minutes % 60}m`;
    return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }

  function formatClock(unixMs) {
    if (unixMs === null) return dash;
    return new Date(unixMs).toLocaleTimeString([], { hour12: false });
  }

  function formatPercent(fraction) {
    if (fraction >= 1) return '100 %';
    // Availability lives in the last digits: 99.95 and 99.999 must differ.
    return `${(fraction * 100).toFixed(3)} %`;
  }

  function compareIds(a, b) {
    return a.localeCompare(b, undefined, { numeric: true });
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

  function stateBadge(state) {
    return element('span', { className: `badge state-${state}` }, state);
  }

  function memberChip(id, membersById, note) {
    const state = membersById.get(id)?.state ?? 'UNKNOWN';
    return element(
      'span',
      { className: 'chip', title: `${id}: ${state}` },
      element('span', { className: `dot state-${state}` }),
      id,
      note ? element('span', { className: 'chip-note' }, note) : null,
    );
  }

  // ---- sections ----------------------------------------------------------

  function renderHeader(snapshot) {
    byTestId('monitor-id').textContent = snapshot.monitorId;
    const updated = byTestId('updated');
    updated.dateTime = new Date(snapshot.atUnixMs).toISOString();
    updated.title = updated.dateTime;
    renderAge();
  }

  /** "hh:mm:ss (3 s ago)": the age counts from when this page received the snapshot, immune to clock skew. */
  function renderAge() {
    if (lastSnapshotReceivedMs === null) return;
    const updated = byTestId('updated');
    const ageMs = performance.now() - lastSnapshotReceivedMs;
    updated.textContent = `${formatClock(Date.parse(updated.dateTime))} (${formatDuration(ageMs)} ago)`;
    updated.classList.toggle('stale', ageMs > 10_000);
  }

  function renderSummary(snapshot) {
    byTestId('leader').textContent = snapshot.leaderId ?? 'none known';
    byTestId('topology-revision').textContent = snapshot.topologyRevision;
    const counts = { UP: 0, SUSPECT: 0, DOWN: 0, UNKNOWN: 0 };
    for (const member of snapshot.members) counts[member.state] += 1;
    byTestId('member-counts').replaceChildren(
      ...Object.entries(counts)
        .filter(([state, count]) => count > 0 || state !== 'UNKNOWN')
        .map(([state, count]) => element('span', { className: `count state-${state}` }, `${count} ${state}`)),
    );
    const passing = snapshot.canaries.filter((canary) => canary.ok).length;
    const canaryCounts = byTestId('canary-counts');
    canaryCounts.textContent = `${passing} / ${snapshot.canaries.length}`;
    canaryCounts.classList.toggle('bad', passing < snapshot.canaries.length);
  }

  function renderGroups(snapshot, membersById) {
    const rows = [...snapshot.groups]
      .sort((a, b) => compareIds(a.id, b.id))
      .map((group) => {
        const inSync = new Set(group.inSync);
        const backups = group.members
          .filter((id) => id !== group.primaryId)
          .map((id) => {
            const lag = `${group.lagEntries[id] ?? '?'} entries · ${formatDuration(group.lagMs[id])}`;
            const chip = memberChip(id, membersById, inSync.has(id) ? lag : `not in sync · ${lag}`);
            chip.classList.toggle('out-of-sync', !inSync.has(id));
            return chip;
          });
        return element(
          'tr',
          { dataset: { group: group.id, primary: group.primaryId ?? '' } },
          cell(group.id, 'name'),
          cell(group.epoch, 'number'),
          cell(group.mode),
          cell(
            group.primaryId
              ? memberChip(group.primaryId, membersById, '★ primary')
              : element('span', { className: 'bad' }, 'no primary'),
          ),
          cell(element('div', { className: 'chips' }, ...backups)),
        );
      });
    byTestId('groups').replaceChildren(...rows);
  }

  function renderMembers(snapshot) {
    const rows = [...snapshot.members]
      .sort(
        (a, b) =>
          roleOrder.indexOf(a.role) - roleOrder.indexOf(b.role) ||
          compareIds(a.groupId ?? '', b.groupId ?? '') ||
          compareIds(a.id, b.id),
      )
      .map((member) =>
        element(
          'tr',
          { dataset: { member: member.id, state: member.state } },
          cell(member.id, 'name'),
          cell(member.role),
          cell(member.groupId ?? dash),
          cell(member.address, 'address'),
          cell(stateBadge(member.state)),
          cell(member.phi.toFixed(2), 'number'),
          cell(
            member.lastHeartbeatUnixMs === null
              ? dash
              : `${formatDuration(snapshot.atUnixMs - member.lastHeartbeatUnixMs)} ago`,
            'number',
          ),
        ),
      );
    byTestId('members').replaceChildren(...rows);
  }

  function availabilityCells(entry) {
    if (!entry) return Array.from({ length: 5 }, () => cell(dash, 'number'));
    return [
      cell(formatPercent(entry.availability), entry.availability < 0.99 ? 'number bad' : 'number'),
      cell(entry.nines.toFixed(1), 'number'),
      cell(String(entry.failures), 'number'),
      cell(formatDuration(entry.mtbfMs), 'number'),
      cell(formatDuration(entry.mttrMs), 'number'),
    ];
  }

  function renderAvailability(snapshot) {
    const kindOrder = ['member', 'group', 'canary'];
    const subjects = new Map();
    for (const entry of snapshot.availability) {
      const key = `${entry.kind}\u0000${entry.id}`;
      const subject = subjects.get(key) ?? { kind: entry.kind, id: entry.id };
      subject[entry.window] = entry;
      subjects.set(key, subject);
    }
    const rows = [...subjects.values()]
      .sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) || compareIds(a.id, b.id))
      .map((subject) => {
        const downSinceMs = (subject.hour ?? subject.day).downSinceUnixMs;
        return element(
          'tr',
          { dataset: { availability: `${subject.kind}:${subject.id}` } },
          cell(subject.kind),
          cell(subject.id, 'name'),
          ...availabilityCells(subject.hour),
          ...availabilityCells(subject.day),
          downSinceMs === null
            ? cell(dash)
            : cell(`${formatClock(downSinceMs)} (${formatDuration(snapshot.atUnixMs - downSinceMs)})`, 'bad'),
        );
      });
    byTestId('availability').replaceChildren(...rows);
  }

  function renderCanaries(snapshot) {
    const rows = [...snapshot.canaries]
      .sort((a, b) => compareIds(a.id, b.id))
      .map((canary) =>
        element(
          'tr',
          { dataset: { canary: canary.id, ok: String(canary.ok) } },
          cell(canary.id, 'name'),
          cell(canary.kind),
          cell(canary.groupId ? `${canary.target} (${canary.groupId})` : canary.target),
          cell(
            element('span', { className: `badge ${canary.ok ? 'state-UP' : 'state-DOWN'}` }, canary.ok ? 'OK' : 'FAIL'),
          ),
          cell(formatDuration(canary.latencyMs), 'number'),
          cell(formatPercent(canary.successRate), canary.successRate < 0.99 ? 'number bad' : 'number'),
          cell(element('span', { className: 'error', title: canary.lastError ?? '' }, canary.lastError ?? dash)),
        ),
      );
    byTestId('canaries').replaceChildren(...rows);
  }

  function renderFailovers(snapshot) {
    const rows = snapshot.failovers.map((failover) =>
      element(
        'tr',
        {
          dataset: { failover: `${failover.groupId}:${failover.epoch}` },
          title: failover.detectedUnixMs === null ? '' : `detected ${new Date(failover.detectedUnixMs).toISOString()}`,
        },
        cell(formatClock(failover.completedUnixMs)),
        cell(failover.groupId, 'name'),
        cell(failover.epoch, 'number'),
        cell(failover.fromPrimary ?? dash),
        cell(failover.toPrimary),
        cell(formatDuration(failover.durationMs), 'number'),
      ),
    );
    byTestId('failovers').replaceChildren(
      ...(rows.length > 0 ? rows : [element('tr', {}, element('td', { colSpan: 6, className: 'empty' }, 'none'))]),
    );
  }

  // ---- charts ------------------------------------------------------------

  const chartSpecs = {
    throughput: {
      series: [
        { label: 'kv', stroke: '#2563eb', value: (point) => point.kvRequestsPerSec },
        { label: 'lock', stroke: '#9333ea', value: (point) => point.lockRequestsPerSec },
      ],
      axes: [{}, { label: 'req/s' }],
    },
    latency: {
      series: [
        { label: 'p50', stroke: '#0d9488', value: (point) => point.kvLatencyP50Ms },
        { label: 'p99', stroke: '#ea580c', value: (point) => point.kvLatencyP99Ms },
      ],
      axes: [{}, { label: 'ms' }],
    },
    lag: {
      series: [
        { label: 'ms', stroke: '#dc2626', scale: 'ms', value: (point) => point.replicationLagMsMax },
        { label: 'entries', stroke: '#64748b', scale: 'entries', value: (point) => point.replicationLagEntriesMax },
      ],
      // Lag in milliseconds on the left axis, in entries on the right.
      axes: [{}, { scale: 'ms', label: 'ms' }, { scale: 'entries', label: 'entries', side: 1, grid: { show: false } }],
    },
  };

  function chartData(spec, series) {
    // uPlot's time axis counts seconds.
    return [series.map((point) => point.atUnixMs / 1_000), ...spec.series.map((line) => series.map(line.value))];
  }

  function chartWidth(container) {
    return Math.max(container.clientWidth, 200);
  }

  function renderCharts(snapshot) {
    for (const [name, spec] of Object.entries(chartSpecs)) {
      const data = chartData(spec, snapshot.series);
      const existing = charts.get(name);
      if (existing) {
        existing.setData(data);
        continue;
      }
      const container = document.querySelector(`[data-chart="${name}"]`);
      const options = {
        width: chartWidth(container),
        height: chartHeightPx,
        // Room on the right for the last time label.
        padding: [null, 32, null, null],
        series: [{}, ...spec.series.map(({ label, stroke, scale = 'y' }) => ({ label, stroke, scale, width: 2 }))],
        axes: spec.axes,
      };
      charts.set(name, new uPlot(options, data, container));
    }
  }

  window.addEventListener('resize', () => {
    for (const [name, chart] of charts) {
      const container = document.querySelector(`[data-chart="${name}"]`);
      chart.setSize({ width: chartWidth(container), height: chartHeightPx });
    }
  });

  // ---- live updates ------------------------------------------------------

  function render(snapshot) {
    const membersById = new Map(snapshot.members.map((member) => [member.id, member]));
    renderHeader(snapshot);
    renderSummary(snapshot);
    renderGroups(snapshot, membersById);
    renderMembers(snapshot);
    renderAvailability(snapshot);
    renderCanaries(snapshot);
    renderFailovers(snapshot);
    renderCharts(snapshot);
    // Tests (and curious readers) can tell which snapshot is on screen.
    document.body.dataset.snapshotAt = String(snapshot.atUnixMs);
  }

  function setConnection(state) {
    const indicator = byTestId('connection');
    indicator.dataset.connection = state;
    indicator.textContent = state;
  }

  function connect() {
    const events = new EventSource('api/events');
    events.addEventListener('snapshot', (message) => {
      lastSnapshotReceivedMs = performance.now();
      reconnectDelayMs = reconnectDelayMsMin;
      setConnection('live');
      render(JSON.parse(message.data));
    });
    events.addEventListener('error', () => {
      setConnection('reconnecting');
      if (events.readyState !== EventSource.CLOSED) return;
      setTimeout(connect, reconnectDelayMs);
      reconnectDelayMs = Math.min(reconnectDelayMs * 2, reconnectDelayMsMax);
    });
  }

  setInterval(renderAge, 1_000);
  connect();
})();
