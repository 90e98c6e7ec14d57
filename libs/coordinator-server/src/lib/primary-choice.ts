// Which in-sync member leads a group's next epoch. Every in-sync member has
// every acknowledged write, but a member may hold more than another (entries
// written and not yet acknowledged, or a later epoch's entries): the one with
// the most up-to-date log loses the least, and the others' logs agree with a
// prefix of its own. "Most up-to-date" is Raft's order: the highest epoch of
// the last entry, then the highest sequence; ties go to the member listed
// first, so the choice does not depend on which answer came first.
import { UnavailableError } from '@bulwark/errors';
import type { ReplicaGroup } from '@bulwark/metadata';
import type { DurableState } from './durable-states';

/** The answering in-sync member with the most up-to-date log, other than `excluded`; undefined when none answered. */
export function mostUpToDate(
  group: ReplicaGroup,
  answers: readonly DurableState[],
  excluded?: string,
): string | undefined {
  const byMember = new Map(answers.map((answer) => [answer.memberId, answer]));
  let best: DurableState | undefined;
  // inSync is in member order: a strictly better answer is needed to pass an earlier member.
  for (const memberId of group.inSync) {
    const answer = byMember.get(memberId);
    if (!answer || memberId === excluded) continue;
    const better =
      !best ||
      answer.lastEpoch > best.lastEpoch ||
      (answer.lastEpoch === best.lastEpoch && answer.durableSequence > best.durableSequence);
    if (better) best = answer;
  }
  return best?.memberId;
}

/**
 * The next primary once the lease has ended: the handover target when it
 * answered and is still in sync, else the most up-to-date in-sync member
 * that answered (the old primary included: restarted, it leads a new epoch).
 */
export function nextPrimary(group: ReplicaGroup, answers: readonly DurableState[]): string | undefined {
  const target = group.handoverTarget;
  const targetAnswered = answers.some((answer) => answer.memberId === target);
  if (target !== '' && targetAnswered && group.inSync.includes(target)) return target;
  return mostUpToDate(group, answers);
}

/** UNAVAILABLE (retryable): no member that could lead answered GetDurableState. */
export class NoDurableStateError extends UnavailableError {
  constructor(group: ReplicaGroup, asked: readonly string[], deadlineMs: number) {
    super(
      `no in-sync member of group '${group.id}' that could lead (asked ${asked.join(', ') || 'none'}) answered GetDurableState within ${deadlineMs} ms; the leader keeps trying on its own`,
    );
  }
}
