// Registers a member with the coordinator group, as every replica, router,
// lock and monitor does at start (PacificA: members are known to the
// configuration manager). Tries the coordinators in turn, follows a leader
// hint, and retries transient failures with backoff inside a deadline. Every
// attempt carries the same request_id, so a registration whose answer was
// lost is answered, not applied again, when retried.
import { randomUUID } from 'node:crypto';
import { coordinatorV1 } from '@bulwark/contracts';
import { NotLeaderError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import {
  callUnary,
  createClient,
  defaultRetryPolicy,
  realRetryEnvironment,
  withRetry,
  type RetryPolicy,
} from '@bulwark/rpc';

export interface RegistrationOptions {
  coordinators: string[];
  member: coordinatorV1.Member;
  logger: Logger;
  /** Per-call deadline. */
  callDeadlineMs: number;
  /** Deadline for the whole registration, retries included. */
  totalDeadlineMs: number;
  policy?: RetryPolicy;
}

export async function registerMember(options: RegistrationOptions): Promise<coordinatorV1.RegisterMemberResponse> {
  const clients = new Map<string, coordinatorV1.CoordinatorClient>();
  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (!client) {
      client = createClient(coordinatorV1.CoordinatorClient, address);
      clients.set(address, client);
    }
    return client;
  };
  let target = 0;
  let hinted: string | undefined;
  const request: coordinatorV1.RegisterMemberRequest = { member: options.member, requestId: randomUUID() };
  try {
    return await withRetry(
      () => {
        const address = hinted ?? (options.coordinators[target % options.coordinators.length] as string);
        hinted = undefined;
        const client = clientFor(address);
        return callUnary(client, client.registerMember, request, {
          deadlineMs: options.callDeadlineMs,
          waitForReady: true,
        });
      },
      { ...defaultRetryPolicy, attemptsMax: 20, backoffMsMax: 5_000, ...options.policy },
      {
        ...realRetryEnvironment(options.totalDeadlineMs),
        onRetry: (error, attempt, delayMs) => {
          if (error instanceof NotLeaderError && error.details.leaderAddress) hinted = error.details.leaderAddress;
          else target++;
          options.logger.debug({ err: error, attempt, delayMs }, 'registration failed; retrying');
        },
      },
    );
  } finally {
    for (const client of clients.values()) client.close();
  }
}
