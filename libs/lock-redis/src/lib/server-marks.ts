// What to do about the servers that lack their mark (lock-keys.ts,
// serverMarkKey), decided from what each connection's check found. Pure, so
// each rule is tested on its own.
//
// Why a server must be restored before it counts. Tokens stay unique and
// increasing because every grant raises the fence of a majority and every
// later grant reads a majority, which meets it (lock-core, lock-quorum.ts).
// A server that comes back without its data (a lost volume, FLUSHALL, or
// the last second of writes after a crash without appendfsync always) would
// let a later majority be made of it and servers the earlier grant missed:
// the same token twice. So a server without its mark runs no lock script
// (the scripts check it) until it has been given every fence, ticket counter
// and lease found on a majority of marked servers, then marked:
// - A grant that completed before the restore read raised the fence of a
//   majority, which meets the majority the restore read.
// - A grant that completed meanwhile raised a majority M of the servers
//   other than this one (it ran no script). A later majority holds, besides
//   this server, at least floor(N/2) others; with M's floor(N/2) + 1 that is
//   more than the N - 1 others, so the two meet.
// The same holds for leases (no two holders) and ticket counters (arrival
// order); queue entries are not copied: their waiters renew them within a
// second, and until then a waiter queued on this server alone may be passed.
//
// A new cluster: servers are marked afresh only when every one of them
// answers without a mark, none was taken away as suspect and this process
// never saw any of them marked. A majority is not enough: a marked server
// that is away while the others lost their data would make a new cluster
// of them, and the tokens start again. When so many servers lost their mark
// that the rest cannot make a majority, they stay out (lost) until an
// operator acts. A cluster whose every server lost its data looks new: no
// one can know the tokens it gave.
export interface ServerMarkView {
  readonly id: string;
  /** Connected, and the connection's check answered. */
  readonly checked: boolean;
  /** The check found the mark (or this process marked it since). */
  readonly marked: boolean;
  /** The mark was taken away after a restart without appendfsync always. */
  readonly suspect: boolean;
  /** This process saw the server marked at some time. */
  readonly everMarked: boolean;
}

export type MarkPlan =
  /** Every server that answers has its mark. */
  | { readonly kind: 'none' }
  /** A new cluster: mark these. */
  | { readonly kind: 'new-cluster'; readonly servers: readonly string[] }
  /** Restore targets from sources (every marked server that answers, a majority), then mark them. */
  | { readonly kind: 'restore'; readonly targets: readonly string[]; readonly sources: readonly string[] }
  /** Servers without their mark that cannot be restored yet, and why; lost when a majority lost its data. */
  | { readonly kind: 'wait'; readonly targets: readonly string[]; readonly reason: string; readonly lost: boolean };

export function planMarks(views: readonly ServerMarkView[]): MarkPlan {
  const majority = Math.floor(views.length / 2) + 1;
  const checked = views.filter((view) => view.checked);
  const targets = checked.filter((view) => !view.marked).map((view) => view.id);
  if (targets.length === 0) return { kind: 'none' };
  const sources = checked.filter((view) => view.marked).map((view) => view.id);
  if (sources.length >= majority) return { kind: 'restore', targets, sources };
  const lost = checked.filter((view) => !view.marked && (view.suspect || view.everMarked)).map((view) => view.id);
  if (views.length - lost.length < majority) {
    return {
      kind: 'wait',
      targets,
      reason:
        `${lost.join(', ')} lost their mark, so no majority of servers keeps its data and tokens could repeat:` +
        ' waiting for marked servers to answer (an operator who accepts the risk sets the mark by hand)',
      lost: true,
    };
  }
  if (sources.length > 0 || lost.length > 0) {
    return {
      kind: 'wait',
      targets,
      reason:
        `only ${sources.length} of ${views.length} servers answer with their mark, and a restore reads a majority` +
        ` (${majority}): waiting for more to answer`,
      lost: false,
    };
  }
  if (checked.length < views.length) {
    return {
      kind: 'wait',
      targets,
      reason: `${checked.length} of ${views.length} servers answer: a new cluster starts once all of them do`,
      lost: false,
    };
  }
  return { kind: 'new-cluster', servers: targets };
}
