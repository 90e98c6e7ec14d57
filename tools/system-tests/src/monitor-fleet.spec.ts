// The monitor issue's acceptance on the fleet users run (docker-compose.yml
// through the launcher, two monitors): every member is watched and judged,
// a killed replica goes DOWN and comes back UP, the dashboard shows it in a
// headless chromium (and the README's screenshot is taken), an outage schedule of known
// kills and restarts is measured within 5%, a 300 ms pause of a primary
// moves nothing and a 5 s pause, which both monitors find DOWN, fails its
// group over exactly once (its lease usually lapses before their verdict;
// the coordinator's ReportSuspect specs cover reports that come first).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coordinatorV1, healthV1, monitorV1 } from '@bulwark/contracts';
import { launchChromium, openDashboard } from '@bulwark/dashboard/testing';
import { CoordinatorCaller } from '@bulwark/coordinator-client';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { createLogger } from '@bulwark/logging';
import { callUnary, createClient } from '@bulwark/rpc';
import { repoPath, repoRoot } from '@bulwark/testing';
import { eventually } from './support/eventually';

const subnet = '127.77.84';
// Below the kernel's ephemeral range (32768-60999): no outgoing connection holds these ports.
const portOffset = 17_000;
const { MemberState, SubjectKind, AvailabilityWindow } = monitorV1;
const monitorNames = ['monitor-1', 'monitor-2'] as const;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe('the monitor on the compose fleet', () => {
  let launched: ComposeFleet;
  let monitors: monitorV1.MonitorClient[];
  let coordinator: coordinatorV1.CoordinatorClient;
  let coordinators: CoordinatorCaller;

  beforeAll(async () => {
    launched = await launchComposeFleet(repoPath('docker-compose.yml'), {
      subnet,
      projectDir: repoRoot,
      portOffset,
      readyTimeoutMs: 120_000,
    });
    monitors = monitorNames.map((name) => createClient(monitorV1.MonitorClient, launched.address(name, 7400)));
    coordinator = createClient(coordinatorV1.CoordinatorClient, launched.address('coordinator-1', 7001));
    coordinators = new CoordinatorCaller({
      coordinators: ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((name) => launched.address(name, 7001)),
      logger: createLogger({ service: 'test', memberId: 'monitor-fleet', level: 'fatal' }),
    });
  }, 180_000);

  afterAll(async () => {
    for (const client of [...monitors, coordinator]) client.close();
    coordinators?.close();
    await launched?.stop();
  }, 60_000);

  const status = async (monitor: monitorV1.MonitorClient) =>
    (await callUnary(monitor, monitor.getStatus, {}, { deadlineMs: 5_000 })).status as monitorV1.Status;
  const stateOf = (view: monitorV1.Status, memberId: string) =>
    view.members.find((member) => member.memberId === memberId)?.state;
  /** The leader's topology; a leader just elected asks to wait, which counts as not yet. */
  const topology = () =>
    eventually('the topology', 30_000, async () => {
      const answer = await coordinators.call('getTopology', {}, { deadlineMs: 10_000 });
      return answer.topology as coordinatorV1.Topology;
    });
  const groupOf = async (groupId: string) =>
    (await topology()).groups.find((group) => group.id === groupId) as coordinatorV1.ReplicaGroup;
  /** Resolves once every monitor sees the member in the state. */
  const seenBothAs = (memberId: string, state: monitorV1.MemberState, timeoutMs = 30_000) =>
    eventually(`${memberId} ${monitorV1.memberStateToJSON(state)} on both monitors`, timeoutMs, async () => {
      const views = await Promise.all(monitors.map(status));
      return views.every((view) => stateOf(view, memberId) === state) ? true : undefined;
    });
  /** A backup of the group: killing it moves no primary. */
  const backupOf = async (groupId: string) => {
    const group = await groupOf(groupId);
    return group.members.find((member) => member !== group.primary) as string;
  };
  /** Resolves once the member's gRPC health answers SERVING, with when it did (ms since the epoch). */
  const servingAgain = async (memberId: string) => {
    const health = createClient(healthV1.HealthClient, launched.address(memberId, 7100), {
      'grpc.initial_reconnect_backoff_ms': 10,
      'grpc.max_reconnect_backoff_ms': 20,
    });
    try {
      return await eventually(
        `${memberId} serving`,
        60_000,
        async () => {
          const { status: serving } = await callUnary(health, health.check, { service: '' }, { deadlineMs: 500 });
          return serving === healthV1.HealthCheckResponse_ServingStatus.SERVING ? Date.now() : undefined;
        },
        10,
      );
    } finally {
      health.close();
    }
  };

  it('watches every member, knows the coordinator leader and marks each group primary as leading', async () => {
    const registered = (await topology()).members.map((member) => member.id);
    await eventually('every member UP on both monitors', 60_000, async () => {
      const views = await Promise.all(monitors.map(status));
      const complete = views.every((view, index) => {
        const seen = new Set(view.members.map((member) => member.memberId));
        return registered.every((id) => id === monitorNames[index] || seen.has(id));
      });
      const allUp = views.every((view) => view.members.every((member) => member.state === MemberState.MEMBER_STATE_UP));
      return complete && allUp ? true : undefined;
    });
    const view = await status(monitors[0] as monitorV1.MonitorClient);
    const { leaderId } = await callUnary(coordinator, coordinator.getLeader, {}, { deadlineMs: 5_000 });
    expect(view.coordinatorLeaderId).toBe(leaderId);
    const leading = view.members.filter((member) => member.leading).map((member) => member.memberId);
    const current = await topology();
    expect(leading.sort()).toEqual([leaderId, ...current.groups.map((group) => group.primary)].sort());
    // Each monitor watches the other, never itself.
    expect(view.members.map((member) => member.memberId)).toContain('monitor-2');
    expect(view.members.map((member) => member.memberId)).not.toContain('monitor-1');
    expect(view.groups.map((group) => [group.groupId, group.available])).toEqual(
      current.groups.map((group) => [group.id, true]),
    );
  });

  it('shows the leader, each group primary and a killed replica DOWN on the live dashboard', async () => {
    const memberId = await backupOf('group-a');
    await launched.fleet.kill(memberId, 'SIGKILL');
    await seenBothAs(memberId, MemberState.MEMBER_STATE_DOWN);
    const { leaderId } = await callUnary(coordinator, coordinator.getLeader, {}, { deadlineMs: 5_000 });
    const { groups } = await topology();
    const scratch = mkdtempSync(join(tmpdir(), 'bulwark-dashboard-'));
    // BULWARK_DASHBOARD_SCREENSHOT=docs/images/dashboard.png refreshes the README's picture.
    const screenshot = process.env['BULWARK_DASHBOARD_SCREENSHOT'] ?? join(scratch, 'dashboard.png');
    const browser = await launchChromium();
    try {
      const page = await openDashboard(browser, `http://${launched.address('monitor-1', 8080)}/`);
      await page.locator(`[data-member="${memberId}"][data-state="DOWN"]`).waitFor();
      for (const group of groups)
        await page.locator(`[data-group="${group.id}"][data-primary="${group.primary}"]`).waitFor();
      expect(await page.locator('[data-testid="leader"]').textContent()).toContain(leaderId);
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
      rmSync(scratch, { recursive: true, force: true });
    }
    launched.fleet.start(memberId);
    await seenBothAs(memberId, MemberState.MEMBER_STATE_UP, 60_000);
  }, 120_000);

  it('measures MTBF, MTTR and availability of a scripted outage schedule within 5%', async () => {
    const memberId = await backupOf('group-b');
    const subject = { kind: SubjectKind.SUBJECT_KIND_MEMBER, subjectId: memberId };
    const figures = async () => {
      const answer = await callUnary(
        monitors[0] as monitorV1.MonitorClient,
        (monitors[0] as monitorV1.MonitorClient).getAvailability,
        { ...subject, window: AvailabilityWindow.AVAILABILITY_WINDOW_HOUR },
        { deadlineMs: 5_000 },
      );
      return answer.figures[0] as monitorV1.Availability;
    };
    await seenBothAs(memberId, MemberState.MEMBER_STATE_UP);
    const before = await figures();
    const scheduleStartMs = Date.now();
    let downMs = 0;
    const outages = 3;
    const scheduledDownMs = 3_000;
    const scheduledUpMs = 3_000;
    for (let outage = 0; outage < outages; outage++) {
      const killedAtMs = Date.now();
      await launched.fleet.kill(memberId, 'SIGKILL');
      await seenBothAs(memberId, MemberState.MEMBER_STATE_DOWN);
      // The schedule: down for about 3 s (plus its restart), then up for about 3 s.
      await delay(killedAtMs + scheduledDownMs - Date.now());
      launched.fleet.start(memberId);
      const servingAtMs = await servingAgain(memberId);
      downMs += servingAtMs - killedAtMs;
      await seenBothAs(memberId, MemberState.MEMBER_STATE_UP);
      await delay(servingAtMs + scheduledUpMs - Date.now());
    }
    await eventually('the last outage ended in the ledger', 10_000, async () =>
      (await figures()).outages.every((each) => each.endUnixMs !== 0n) ? true : undefined,
    );
    const after = await figures();
    const observedMs = Number(after.observedMs - before.observedMs);
    const reportedDownMs = Number(after.downMs - before.downMs);
    const failures = after.failures - before.failures;
    const scheduleMs = Date.now() - scheduleStartMs;
    expect(failures).toBe(outages);
    // Watched all along: the ledger's observed time is the schedule's.
    const withinFivePercent = (what: string, reported: number, scheduled: number) =>
      // The figures stay in the object so a failure shows them.
      expect({
        what,
        reported,
        scheduled,
        withinFivePercent: Math.abs(reported - scheduled) / scheduled < 0.05,
      }).toEqual({
        what,
        reported,
        scheduled,
        withinFivePercent: true,
      });
    // Watched all along: the ledger's observed time is the schedule's.
    withinFivePercent('observed', observedMs, scheduleMs);
    withinFivePercent('MTTR', reportedDownMs / failures, downMs / outages);
    withinFivePercent('MTBF', (observedMs - reportedDownMs) / failures, (scheduleMs - downMs) / outages);
    withinFivePercent('availability', (observedMs - reportedDownMs) / observedMs, (scheduleMs - downMs) / scheduleMs);
  }, 180_000);

  it('keeps a primary through a 300 ms pause, and fails it over exactly once through a 5 s pause both monitors see', async () => {
    const groupId = 'group-c';
    const pause = async (memberId: string, pausedMs: number) => {
      const pid = launched.fleet.service(memberId).pid as number;
      process.kill(pid, 'SIGSTOP');
      try {
        await delay(pausedMs);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    };
    const start = await groupOf(groupId);
    await seenBothAs(start.primary, MemberState.MEMBER_STATE_UP);
    await pause(start.primary, 300);
    // Nothing to await but the absence of a failover: watch long enough for a report and a lease to have acted.
    await delay(3_000);
    expect(await groupOf(groupId)).toMatchObject({ epoch: start.epoch, primary: start.primary });

    // Both monitors find the paused primary DOWN (by silence alone: it refuses nothing) while it is paused.
    await Promise.all([pause(start.primary, 5_000), seenBothAs(start.primary, MemberState.MEMBER_STATE_DOWN, 5_000)]);
    const moved = await eventually('the group failed over', 30_000, async () => {
      const group = await groupOf(groupId);
      return group.epoch > start.epoch ? group : undefined;
    });
    expect(moved.primary).not.toBe(start.primary);
    await seenBothAs(start.primary, MemberState.MEMBER_STATE_UP, 60_000);
    // Both monitors reported the paused primary; the old one is back as a backup: no second failover.
    await delay(3_000);
    expect(await groupOf(groupId)).toMatchObject({ epoch: start.epoch + 1n, primary: moved.primary });
  }, 180_000);
});
