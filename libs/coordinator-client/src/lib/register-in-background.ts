// Registration as a background task of a service's start: it must not hold up
// serving, and its outcome is logged rather than thrown.
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
