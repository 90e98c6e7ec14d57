// Ballots order proposals: (round, node id), compared round first. Rounds are
// bigint because they are 64-bit on the wire and must never lose precision.

export interface Ballot {
  readonly round: bigint;
  readonly nodeId: string;
}

export const zeroBallot: Ballot = Object.freeze({ round: 0n, nodeId: '' });

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

export function ballotsEqual(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.nodeId === b.nodeId;
}

export function formatBallot(ballot: Ballot): string {
  return `${ballot.round}.${ballot.nodeId}`;
}

/** The smallest number of members that forms a majority of `members`. */
export function quorum(members: number): number {
  if (!Number.isInteger(members) || members < 1)
    throw new RangeError(`members must be a positive integer, got ${members}`);
  return Math.floor(members / 2) + 1;
}
