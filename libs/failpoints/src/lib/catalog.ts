// Every failpoint in the code, declared once: a typed list, so a call site
// or a test cannot name one that does not exist, and the env variable and
// the HTTP control can list and check them. Each says which actions it takes
// (its kind), which services run it, and in one line where it is.

/** The services whose code holds failpoints. */
export type FailpointService = 'coordinator' | 'replica' | 'monitor';

/**
 * io: just before a file operation; takes crash, crash-lose-unsynced,
 * sleep(ms) and error(EIO|ENOSPC), which makes that operation fail.
 * step: a point between steps; crash, crash-lose-unsynced and sleep(ms).
 * bug: switches a planted bug on or off.
 */
export type FailpointKind = 'io' | 'step' | 'bug';

/** The system call an io point's error(...) action fails, named as Node's fs errors name it. */
export type FailedSyscall = 'write' | 'fsync' | 'fdatasync' | 'rename';

export interface FailpointDeclaration {
  readonly kind: FailpointKind;
  /** For io points: the operation that follows, which error(...) makes fail. */
  readonly syscall?: FailedSyscall;
  readonly services: readonly FailpointService[];
  readonly doc: string;
}

/** Every service with durable files: they all replace files through libs/durable-log. */
const durableServices: readonly FailpointService[] = ['coordinator', 'replica', 'monitor'];

export const failpointCatalog = {
  // libs/durable-log: atomic replacement (temp file, fsync, rename, directory fsync) of
  // either store's WAL when it is rewritten, the coordinator's snapshot file and the monitor's ledger.
  'file.replace.beforeWrite': {
    kind: 'io',
    syscall: 'write',
    services: durableServices,
    doc: 'a file about to be replaced atomically (a WAL rewrite, a coordinator snapshot, the monitor ledger): its temp file is open, nothing written',
  },
  'file.replace.beforeFsync': {
    kind: 'io',
    syscall: 'fsync',
    services: durableServices,
    doc: 'a file being replaced atomically: its temp file is written, not yet fsynced',
  },
  'file.replace.beforeRename': {
    kind: 'io',
    syscall: 'rename',
    services: durableServices,
    doc: 'a file being replaced atomically: its temp file is durable, not yet renamed over the old file',
  },

  // libs/replica-storage: the group log (one record and one fdatasync per group commit) and snapshots.
  'replica.wal.beforeWrite': {
    kind: 'io',
    syscall: 'write',
    services: ['replica'],
    doc: 'a group commit about to append its record to the WAL',
  },
  'replica.wal.beforeFsync': {
    kind: 'io',
    syscall: 'fdatasync',
    services: ['replica'],
    doc: 'a group commit: its record is written to the WAL, not yet fdatasynced',
  },
  'replica.wal.afterFsync': {
    kind: 'step',
    services: ['replica'],
    doc: 'a group commit: its record is durable, its appends not yet told',
  },
  'replica.snapshot.beforeWrite': {
    kind: 'io',
    syscall: 'write',
    services: ['replica'],
    doc: 'a snapshot (periodic or fetched from the primary) about to be streamed to snapshot.tmp',
  },
  'replica.snapshot.beforeFsync': {
    kind: 'io',
    syscall: 'fsync',
    services: ['replica'],
    doc: 'a snapshot: snapshot.tmp is written, not yet fsynced',
  },
  'replica.snapshot.beforeRename': {
    kind: 'io',
    syscall: 'rename',
    services: ['replica'],
    doc: 'a snapshot: snapshot.tmp is durable and every append before it too, not yet renamed over the snapshot',
  },
  'replica.snapshot.afterRename': {
    kind: 'step',
    services: ['replica'],
    doc: 'a snapshot is in place (directory fsynced), the WAL not yet rewritten without what it covers',
  },

  // libs/paxos-storage: the coordinator's acceptor log.
  'paxos.wal.beforeWrite': {
    kind: 'io',
    syscall: 'write',
    services: ['coordinator'],
    doc: "a persist batch about to be appended to the coordinator's WAL",
  },
  'paxos.wal.beforeFsync': {
    kind: 'io',
    syscall: 'fdatasync',
    services: ['coordinator'],
    doc: "a persist batch is written to the coordinator's WAL, not yet fdatasynced",
  },
  'paxos.wal.afterFsync': {
    kind: 'step',
    services: ['coordinator'],
    doc: 'a persist batch is durable (and the WAL rewritten if it had doubled), the runner not yet told',
  },
  'paxos.snapshot.afterReplace': {
    kind: 'step',
    services: ['coordinator'],
    doc: "the coordinator's new snapshot file is in place, the WAL not yet rewritten without what it covers",
  },

  // libs/replica-server: the replica runner's Ready loop and snapshot installs.
  'replica.ready.beforeApply': {
    kind: 'step',
    services: ['replica'],
    doc: "a Ready: what needs no write first is sent (a primary's new entries), its committed entries not yet applied (only when it has some)",
  },
  'replica.ready.beforePersist': {
    kind: 'step',
    services: ['replica'],
    doc: 'a Ready: committed entries applied and their writers answered, its batch not yet written (only when it has one)',
  },
  'replica.ready.beforeSend': {
    kind: 'step',
    services: ['replica'],
    doc: "a Ready: its batch is durable, the messages that depend on it (a backup's acks) not yet sent (only when it has a batch)",
  },
  'replica.install.beforeSave': {
    kind: 'step',
    services: ['replica'],
    doc: "a backup holds the primary's snapshot in memory, not yet saved over its own log",
  },
  'replica.install.beforeRestore': {
    kind: 'step',
    services: ['replica'],
    doc: "a backup saved the primary's snapshot, its state not yet replaced by it",
  },

  // libs/coordinator-server: the Paxos runner's Ready loop.
  'paxos.ready.beforeApply': {
    kind: 'step',
    services: ['coordinator'],
    doc: 'a Ready: proposals that promise nothing are sent, its snapshot and committed entries not yet applied (only when it has some)',
  },
  'paxos.ready.beforePersist': {
    kind: 'step',
    services: ['coordinator'],
    doc: 'a Ready: committed entries applied and their proposers answered, its batch not yet written (only when it has one)',
  },
  'paxos.ready.beforeSend': {
    kind: 'step',
    services: ['coordinator'],
    doc: 'a Ready: its batch is durable, the promises and accepts that depend on it not yet sent (only when it has a batch)',
  },

  // A planted bug, so a chaos run can show it would catch one.
  'replica.acknowledgeBeforeReplicated': {
    kind: 'bug',
    services: ['replica'],
    doc: 'on: a primary takes each sync write as async, so it answers once its own fsync is done, under its lease, without waiting for the in-sync backups',
  },
} as const satisfies Record<string, FailpointDeclaration>;

export type FailpointName = keyof typeof failpointCatalog;

/** The failpoints that switch a planted bug. */
export type BugFailpointName = {
  [Name in FailpointName]: (typeof failpointCatalog)[Name]['kind'] extends 'bug' ? Name : never;
}[FailpointName];

/** The failpoints a process passes through: io and step points. */
export type PassFailpointName = Exclude<FailpointName, BugFailpointName>;

export const failpointNames = Object.keys(failpointCatalog) as FailpointName[];

export function isFailpointName(name: string): name is FailpointName {
  return Object.hasOwn(failpointCatalog, name);
}

export function declarationOf(name: FailpointName): FailpointDeclaration {
  return failpointCatalog[name];
}

/** The failpoints in `service`'s code, in catalog order. */
export function failpointsOf(service: string): FailpointName[] {
  return failpointNames.filter((name) => (declarationOf(name).services as readonly string[]).includes(service));
}
