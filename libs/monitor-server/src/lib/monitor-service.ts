// monitor.v1.Monitor over the Monitor's view and availability ledger.
// WatchStatus sends the whole status at once and after every change; the
// monitor coalesces changes, and a stream that cannot keep up gets the
// latest status once it drains, never a backlog.
import { monitorV1, type commonV1 } from '@bulwark/contracts';
import { memberRoleOf } from '@bulwark/coordinator-client';
import { InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import {
  availabilityWindowsMs,
  subjectKinds,
  type AvailabilityFigures,
  type AvailabilityWindow,
  type SubjectKind,
  type SubjectRef,
} from '@bulwark/monitor-core';
import { untilCallEnds, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';
import type { CanaryView, Monitor, MonitorView, WatchedMemberView } from './monitor';

const { AvailabilityWindow: ProtoWindow, CanaryKind, MemberState, SubjectKind: ProtoKind } = monitorV1;

const stateToProto: Record<WatchedMemberView['state'], monitorV1.MemberState> = {
  UP: MemberState.MEMBER_STATE_UP,
  SUSPECT: MemberState.MEMBER_STATE_SUSPECT,
  DOWN: MemberState.MEMBER_STATE_DOWN,
};

const kindToProto: Record<SubjectKind, monitorV1.SubjectKind> = {
  member: ProtoKind.SUBJECT_KIND_MEMBER,
  group: ProtoKind.SUBJECT_KIND_GROUP,
  canary: ProtoKind.SUBJECT_KIND_CANARY,
};

const windowToProto: Record<AvailabilityWindow, monitorV1.AvailabilityWindow> = {
  hour: ProtoWindow.AVAILABILITY_WINDOW_HOUR,
  day: ProtoWindow.AVAILABILITY_WINDOW_DAY,
};

const windows = Object.keys(availabilityWindowsMs) as AvailabilityWindow[];
/** Member and group ids are 1 to 64 of [a-z0-9-]; canary ids join a kind and two of them with '/'. */
const subjectIdLengthMax = 256;
const subjectIdPattern = /^[a-z0-9][a-z0-9/_.-]*$/;

export function statusToProto(view: MonitorView): monitorV1.Status {
  return {
    members: view.members.map((member) => ({
      memberId: member.id,
      address: member.address,
      state: stateToProto[member.state],
      phi: Number.isFinite(member.phi) ? member.phi : Number.MAX_VALUE,
      lastHeartbeatUnixMs: BigInt(Math.round(member.lastHeartbeatUnixMs ?? 0)),
      role: memberRoleOf(member.role),
      groupId: member.groupId,
      leading: member.leading,
      stateSinceUnixMs: BigInt(Math.round(member.stateSinceUnixMs)),
    })),
    groups: view.groups.map((group) => ({
      groupId: group.id,
      epoch: group.epoch,
      primary: group.primary,
      members: [...group.members],
      inSync: [...group.inSync],
      available: group.available,
    })),
    canaries: view.canaries.map(canaryToProto),
    coordinatorLeaderId: view.leaderId,
    topologyRevision: view.topologyRevision,
  };
}

function canaryToProto(canary: CanaryView): monitorV1.CanaryStatus {
  return {
    canaryId: canary.canaryId,
    kind: canary.kind === 'kv' ? CanaryKind.CANARY_KIND_KV : CanaryKind.CANARY_KIND_LOCK,
    targetId: canary.targetId,
    groupId: canary.groupId ?? '',
    ok: canary.ok,
    lastLatencyMs: canary.latencyMs,
    lastRunUnixMs: BigInt(Math.round(canary.endUnixMs)),
    lastError: canary.error ?? '',
    runs: BigInt(canary.runs),
    failures: BigInt(canary.failures),
  };
}

export function figuresToProto(figures: AvailabilityFigures): monitorV1.Availability {
  const whole = (ms: number) => BigInt(Math.round(ms));
  return {
    kind: kindToProto[figures.kind],
    subjectId: figures.id,
    window: windowToProto[figures.window],
    observedMs: whole(figures.observedMs),
    downMs: whole(figures.downMs),
    failures: figures.failures,
    ...(figures.mtbfMs === null ? {} : { mtbfMs: whole(figures.mtbfMs) }),
    ...(figures.mttrMs === null ? {} : { mttrMs: whole(figures.mttrMs) }),
    availability: figures.availability,
    nines: figures.nines,
    outages: figures.outages.map((outage) => ({
      startUnixMs: whole(outage.startUnixMs),
      endUnixMs: whole(outage.endUnixMs ?? 0),
    })),
  };
}

/** The subjects and windows a GetAvailability request selects; bad or unknown ones are refused naming the field. */
export function selectFigures(
  request: monitorV1.GetAvailabilityRequest,
  ledger: Monitor['availability'],
  nowUnixMs: number,
): AvailabilityFigures[] {
  const kind = kindFromProto(request.kind);
  const window = windowFromProto(request.window);
  let subjects = ledger.tracked().filter((subject) => kind === undefined || subject.kind === kind);
  if (request.subjectId !== '') {
    if (request.subjectId.length > subjectIdLengthMax || !subjectIdPattern.test(request.subjectId)) {
      throw new InvalidArgumentError(
        'subject_id',
        `must be a member, group or canary id: 1 to ${subjectIdLengthMax} of a-z 0-9 - / _ .`,
      );
    }
    if (kind === undefined) throw new InvalidArgumentError('kind', 'is required with a subject_id');
    const wanted: SubjectRef = { kind, id: request.subjectId };
    if (!ledger.has(wanted)) throw new NotFoundError('subject_id', `no ${kind} '${request.subjectId}' is tracked`);
    subjects = [wanted];
  }
  const selectedWindows = window === undefined ? windows : [window];
  return subjects.flatMap((subject) => selectedWindows.map((each) => ledger.figures(subject, each, nowUnixMs)));
}

function kindFromProto(kind: monitorV1.SubjectKind): SubjectKind | undefined {
  if (kind === ProtoKind.SUBJECT_KIND_UNSPECIFIED) return undefined;
  const name = subjectKinds.find((candidate) => kindToProto[candidate] === kind);
  if (!name) throw new InvalidArgumentError('kind', `must be a known SUBJECT_KIND_*, got ${kind}`);
  return name;
}

function windowFromProto(window: monitorV1.AvailabilityWindow): AvailabilityWindow | undefined {
  if (window === ProtoWindow.AVAILABILITY_WINDOW_UNSPECIFIED) return undefined;
  const name = windows.find((candidate) => windowToProto[candidate] === window);
  if (!name) throw new InvalidArgumentError('window', `must be a known AVAILABILITY_WINDOW_*, got ${window}`);
  return name;
}

export function monitorService(kit: HandlerKit, monitor: Monitor, memberId: string): ServiceBinding {
  const header = (revision: bigint): commonV1.ResponseHeader => ({
    memberId,
    epoch: 0n,
    ballot: undefined,
    revision,
    sequence: 0n,
    groupId: '',
  });

  const implementation: monitorV1.MonitorServer = {
    getStatus: kit.unary(() => {
      const view = monitor.view();
      return { header: header(view.topologyRevision), status: statusToProto(view) };
    }),

    watchStatus: kit.serverStream(async (_request, call, { shutdown }) => {
      let pending = false;
      const send = () => {
        // One status waits for a full buffer to drain, then the latest one goes.
        if (call.writableNeedDrain) {
          if (!pending) call.once('drain', () => ((pending = false), send()));
          pending = true;
          return;
        }
        const view = monitor.view();
        call.write({ header: header(view.topologyRevision), status: statusToProto(view) });
      };
      const unsubscribe = monitor.onChange(send);
      try {
        send();
        await untilCallEnds(call, shutdown);
      } finally {
        unsubscribe();
      }
    }),

    getAvailability: kit.unary((request) => {
      const view = monitor.view();
      const figures = selectFigures(request, monitor.availability, view.atUnixMs);
      return { header: header(view.topologyRevision), figures: figures.map(figuresToProto) };
    }),
  };
  return { definition: monitorV1.MonitorService, implementation };
}
