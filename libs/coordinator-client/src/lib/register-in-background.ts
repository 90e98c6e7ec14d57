// Registration as a background task of a service's start: it must not hold up
// serving, and its outcome is logged rather than thrown.
import { formatHostPort, type HostPort } from '@bulwark/config';
import type { coordinatorV1 } from '@bulwark/contracts';
import { UnimplementedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { registerMember } from './register-member';

export function registerInBackground(coordinators: string[], member: coordinatorV1.Member, logger: Logger): void {
  registerMember({ coordinators, member, logger, callDeadlineMs: 2_000, totalDeadlineMs: 60_000 }).then(
    (response) => logger.info({ revision: String(response.header?.revision ?? 0n) }, 'registered with coordinators'),
    (error: unknown) => {
      if (error instanceof UnimplementedError) {
        logger.warn('coordinators do not serve RegisterMember yet; running unregistered');
      } else {
        logger.error({ err: error }, 'registration with coordinators failed');
      }
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

/** A service's `started` hook that registers it with the coordinators in the given role, with its metrics address. */
export function registerOnStart(role: coordinatorV1.MemberRole) {
  return (config: MemberConfig, logger: Logger, server: StartedServerView): void =>
    registerInBackground(
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
