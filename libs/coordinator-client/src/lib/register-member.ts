// Registers a member with the coordinator group, as every replica, router,
// lock and monitor does at start (PacificA: members are known to the
// configuration manager), through a CoordinatorCaller: it finds the leader,
// follows hints and retries transient failures with backoff inside a
// deadline. Every attempt carries the same request_id, so a registration
// whose answer was lost is answered, not applied again, when retried.
import { randomUUID } from 'node:crypto';
import type { coordinatorV1 } from '@bulwark/contracts';
import type { Logger } from '@bulwark/logging';
import type { RetryPolicy } from '@bulwark/rpc';
import { CoordinatorCaller } from './coordinator-caller';

export interface RegistrationOptions {
  coordinators: string[];
  member: coordinatorV1.Member;
  logger: Logger;
  /** Per-call deadline: the longest one attempt at one coordinator may take. */
  callDeadlineMs: number;
  /** Deadline for the whole registration, retries included. */
  totalDeadlineMs: number;
  /** Rounds over the coordinators and the backoff between them. */
  policy?: Partial<RetryPolicy>;
  /** A caller to reuse (its channels and leader knowledge); one is made and closed for this call otherwise. */
  caller?: CoordinatorCaller;
  /** Once aborted, no further attempt: see CoordinatorCallOptions.stopRetrying. */
  stopRetrying?: AbortSignal;
}

/** Registration is worth more patience than an ordinary call: a service cannot be found without it. */
const registrationRetryPolicy: Partial<RetryPolicy> = { attemptsMax: 20, backoffMsMax: 5_000 };

export async function registerMember(options: RegistrationOptions): Promise<coordinatorV1.RegisterMemberResponse> {
  const caller =
    options.caller ?? new CoordinatorCaller({ coordinators: options.coordinators, logger: options.logger });
  try {
    return await caller.call(
      'registerMember',
      { member: options.member, requestId: randomUUID() },
      {
        deadlineMs: options.totalDeadlineMs,
        attemptDeadlineMs: options.callDeadlineMs,
        retry: { ...registrationRetryPolicy, ...options.policy },
        ...(options.stopRetrying ? { stopRetrying: options.stopRetrying } : {}),
      },
    );
  } finally {
    if (!options.caller) caller.close();
  }
}
