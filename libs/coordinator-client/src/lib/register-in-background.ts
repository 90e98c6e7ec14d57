// Registration as a background task of a service's start: it must not hold up
// serving, and its outcome is logged rather than thrown. A stateless member
// (router, lock, monitor) also leaves the topology when it stops: a pod
// scaled down or replaced is gone, not DOWN, and its address is free for the
// next pod. One that crashes stays listed (DOWN) until an operator runs
// `bulwark deregister`.
import { randomUUID } from 'node:crypto';
import { formatHostPort, type HostPort } from '@bulwark/config';
import type { coordinatorV1 } from '@bulwark/contracts';
import { NotFoundError, UnimplementedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { CoordinatorCaller } from './coordinator-caller';
import { registerMember } from './register-member';

/** How long a stopping member tries to leave: it delays the exit, and a member left listed is only shown DOWN. */
export const deregistrationDeadlineMs = 1_500;

/** Registers member in the background; resolves true once registered, false when it gave up (logged either way). */
export function registerInBackground(
  coordinators: string[],
  member: coordinatorV1.Member,
  logger: Logger,
): Promise<boolean> {
  return registerMember({ coordinators, member, logger, callDeadlineMs: 2_000, totalDeadlineMs: 60_000 }).then(
    (response) => {
      logger.info({ revision: String(response.header?.revision ?? 0n) }, 'registered with coordinators');
      return true;
    },
    (error: unknown) => {
      if (error instanceof UnimplementedError) {
        logger.warn('coordinators do not serve RegisterMember yet; running unregistered');
      } else {
        logger.error({ err: error }, 'registration with coordinators failed');
      }
      return false;
    },
  );
}

interface MemberConfig {
  memberId: string;
  advertiseAddress: HostPort;
  coordinators: HostPort[];
  /** Replicas only. */
  groupId?: string;
}

/** What registration needs of the started server: where it serves metrics, if anywhere. */
interface StartedServerView {
  readonly metricsAddress: string | undefined;
}

type StartedHook = (config: MemberConfig, logger: Logger, server: StartedServerView) => void;

/** A service's `started` hook that registers it with the coordinators in the given role, with its metrics address. */
export function registerOnStart(role: coordinatorV1.MemberRole): StartedHook {
  return (config, logger, server) => void startRegistration(role, config, logger, server);
}

function startRegistration(
  role: coordinatorV1.MemberRole,
  config: MemberConfig,
  logger: Logger,
  server: StartedServerView,
): Promise<boolean> {
  return registerInBackground(
    config.coordinators.map(formatHostPort),
    {
      id: config.memberId,
      address: formatHostPort(config.advertiseAddress),
      role,
      groupId: config.groupId ?? '',
      metricsAddress: server.metricsAddress ?? '',
    },
    logger,
  );
}

/**
 * A stateless service's hooks: `started` registers it as registerOnStart
 * does, `stopped` (one of its onStopped hooks) takes it out of the topology
 * again, if it got in, within a second and a half; logged, never thrown.
 */
export function registerUntilStopped(role: coordinatorV1.MemberRole): {
  started: StartedHook;
  stopped: () => Promise<void>;
} {
  let leave: (() => Promise<void>) | undefined;
  return {
    started: (config, logger, server) => {
      void startRegistration(role, config, logger, server).then((registered) => {
        if (registered) leave = () => deregister(config, logger);
      });
    },
    // Not registered (yet): nothing to undo, and waiting for a registration still retrying would hold up the exit.
    stopped: async () => leave?.(),
  };
}

async function deregister(config: MemberConfig, logger: Logger): Promise<void> {
  const caller = new CoordinatorCaller({ coordinators: config.coordinators.map(formatHostPort), logger });
  try {
    const answer = await caller.call(
      'deregisterMember',
      { memberId: config.memberId, requestId: randomUUID() },
      { deadlineMs: deregistrationDeadlineMs, attemptDeadlineMs: deregistrationDeadlineMs / 3 },
    );
    logger.info({ revision: String(answer.header?.revision ?? 0n) }, 'deregistered from coordinators');
  } catch (error) {
    if (error instanceof NotFoundError) return;
    logger.warn({ err: error }, 'could not deregister from coordinators; the member stays listed (DOWN)');
  } finally {
    caller.close();
  }
}
