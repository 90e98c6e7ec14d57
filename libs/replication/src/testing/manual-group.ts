// A hand-driven replica group for scenario tests: messages are held until a
// test delivers (or drops) them, Readies are handled like the real runner
// would (the write completes at once), and the coordinator is the test.
import type { CoordinatorRequest, GroupView, LogEntry, ReplicationMessage } from '../lib/messages';
import { ReplicaNode, type ProposeResult } from '../lib/node';
import { defaultReplicationSettings, type ReplicationSettings } from '../lib/settings';
import { encodeRegisterCommand, RegisterMachine } from './register-machine';
import { SimStorage } from './sim-storage';

export interface ManualMember {
  readonly id: string;
  readonly storage: SimStorage;
  node: ReplicaNode;
  machine: RegisterMachine;
  /** Sequences whose writers were answered (applied on this member while it was primary). */
  readonly acknowledged: bigint[];
  readonly coordinatorRequests: CoordinatorRequest[];
  /** How far the group's time is ahead of this member's clock: a restarted process's clock starts anew. */
  clockOffsetMs: number;
}

export type NodeFactory = (
  id: string,
  settings: ReplicationSettings,
  storage: SimStorage,
  nowMs: number,
) => ReplicaNode;

const realNode: NodeFactory = (id, settings, storage, nowMs) => new ReplicaNode(id, settings, storage.recover(), nowMs);

export class ManualGroup {
  readonly members = new Map<string, ManualMember>();
  /** Messages sent and not yet delivered, in send order. */
  pending: ReplicationMessage[] = [];
  nowMs = 0;
  private view: GroupView;

  constructor(
    ids: readonly string[],
    private readonly settings: ReplicationSettings = defaultReplicationSettings,
    private readonly factory: NodeFactory = realNode,
  ) {
    this.view = {
      epoch: 1n,
      primary: ids[0] as string,
      members: [...ids],
      inSync: [...ids],
      mode: 'sync',
      revision: 1n,
    };
    for (const id of ids) {
      const storage = new SimStorage();
      this.members.set(id, {
        id,
        storage,
        node: factory(id, settings, storage, this.nowMs),
        machine: new RegisterMachine(),
        acknowledged: [],
        coordinatorRequests: [],
        clockOffsetMs: 0,
      });
    }
  }

  member(id: string): ManualMember {
    const member = this.members.get(id);
    if (!member) throw new Error(`no member ${id}`);
    return member;
  }

  node(id: string): ReplicaNode {
    return this.member(id).node;
  }

  /** What the member's own clock reads now. */
  clockOf(id: string): number {
    return this.nowMs - this.member(id).clockOffsetMs;
  }

  get currentView(): GroupView {
    return this.view;
  }

  /** The coordinator commits a new record (the next revision) and every listed member learns it. */
  setView(change: Partial<GroupView>, tell: readonly string[] = [...this.members.keys()]): void {
    this.view = { ...this.view, revision: this.view.revision + 1n, ...change };
    for (const id of tell) this.node(id).observeView(this.view);
    this.flush();
  }

  /** The coordinator grants the primary a lease from now. */
  grantLease(id: string, leaseMs = 10_000): void {
    this.node(id).leaseGranted(this.node(id).epoch, this.clockOf(id), leaseMs);
    this.flush();
  }

  advanceTime(ms: number): void {
    this.nowMs += ms;
    for (const member of this.members.values()) member.node.tick(this.nowMs - member.clockOffsetMs);
    this.flush();
  }

  put(id: string, key: string, value: string): ProposeResult {
    const result = this.node(id).propose(encodeRegisterCommand({ op: 'put', key, value, expect: null }));
    this.flush();
    return result;
  }

  /** Handles every member's Ready until none has one (messages stay pending). */
  flush(): void {
    for (let round = 0; round < 1_000; round++) {
      let any = false;
      for (const member of this.members.values()) {
        member.coordinatorRequests.push(...member.node.takeCoordinatorRequests());
        if (!member.node.hasReady()) continue;
        any = true;
        this.handleReady(member);
      }
      if (!any) return;
    }
    throw new Error('Readies did not settle');
  }

  /** Delivers pending messages that `select` picks (all by default), until none is left; drops those `drop` picks. */
  deliver(
    select: (message: ReplicationMessage) => boolean = () => true,
    drop: (message: ReplicationMessage) => boolean = () => false,
  ): void {
    for (let round = 0; round < 1_000; round++) {
      const chosen = this.pending.filter((message) => select(message) || drop(message));
      if (chosen.length === 0) return;
      this.pending = this.pending.filter((message) => !chosen.includes(message));
      for (const message of chosen) {
        if (!drop(message)) this.members.get(message.to)?.node.step(message);
      }
      this.flush();
    }
    throw new Error('messages did not settle');
  }

  /** Crash and restart from disk: what was in memory is gone, and the new process's clock reads clockNowMs. */
  restart(id: string, clockNowMs = this.clockOf(id)): void {
    const member = this.member(id);
    member.clockOffsetMs = this.nowMs - clockNowMs;
    member.node = this.factory(id, this.settings, member.storage, clockNowMs);
    const { point, state } = member.storage.snapshot;
    member.machine = RegisterMachine.restore(state, point.lastSequence);
    this.pending = this.pending.filter((message) => message.to !== id && message.from !== id);
  }

  log(id: string): LogEntry[] {
    const node = this.node(id);
    const entries: LogEntry[] = [];
    for (let sequence = node.logSnapshot.lastSequence + 1n; sequence <= node.lastSequence; sequence++) {
      entries.push(node.entry(sequence) as LogEntry);
    }
    return entries;
  }

  private handleReady(member: ManualMember): void {
    const ready = member.node.takeReady();
    if (ready.discardState) member.machine = new RegisterMachine();
    this.pending.push(...ready.sendBeforePersist);
    for (const entry of ready.committed) {
      member.machine.apply(entry);
      if (member.node.role !== 'backup' && entry.command.length > 0) member.acknowledged.push(entry.sequence);
    }
    if (ready.persist) member.storage.append(ready.persist);
    this.pending.push(...ready.messages);
    member.node.advance();
  }
}
