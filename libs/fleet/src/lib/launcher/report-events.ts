// How the launcher shows what happens: services' output relayed with a name
// prefix, everything else as its own JSON log lines. Log fields say `child`
// for the service, since `service` is the launcher's own base field.
import type { Logger } from '@bulwark/logging';
import type { FleetPlan } from '../plan/plan-model';
import type { FleetEvent } from '../runtime/fleet-events';
import { outputPrefix, skipCause, whichAreSkipped } from './status-table';

export function eventReporter(plan: FleetPlan, logger: Logger, output: NodeJS.WritableStream) {
  const nameWidth = Math.max(...plan.services.map((service) => service.name.length));
  return (event: FleetEvent): void => {
    const child = event.service;
    switch (event.type) {
      case 'output':
        output.write(`${outputPrefix(child, nameWidth)}${event.line}\n`);
        return;
      case 'started':
        logger.info({ child, pid: event.pid }, 'service started');
        return;
      case 'probe-failed':
        logger.debug({ child, detail: event.detail }, 'probe failed');
        return;
      case 'healthy':
        logger.info({ child }, 'service healthy');
        return;
      case 'exited':
        if (event.requested) logger.info({ child, ...event.status }, 'service stopped');
        else logger.warn({ child, ...event.status }, 'service exited');
        return;
      case 'restarting':
        logger.info({ child, delayMs: event.delayMs }, 'restarting service');
        return;
      case 'left-down':
        logger.error({ child, reason: event.reason }, `leaving ${child} down: ${event.reason}`);
        return;
    }
  };
}

/**
 * Once per run: what is skipped, what runs differently for it, and each
 * setting naming a skipped service (one line for all services alike).
 */
export function reportPlan(plan: FleetPlan, logger: Logger): void {
  for (const skipped of plan.skipped) {
    const { name: child, image, because } = skipped;
    // Warnings but for image-only services: the others would run here once a program is installed.
    if (because.kind === 'image-only') logger.info({ child, image }, `${child} skipped: image only, needs Docker`);
    else if (because.kind === 'program-not-found') {
      logger.warn({ child, image, program: because.program }, `${child}: ${skipCause(skipped)}; skipped`);
    } else logger.warn({ child, needs: because.services }, `${child} skipped: ${skipCause(skipped)}`);
  }
  for (const { service: child, without, note } of plan.notes) {
    logger.warn({ child, without, note }, `${child} runs without ${whichAreSkipped(without)}: ${note}`);
  }
  const groups = new Map<string, { field: string; skippedService: string; outcome: string; services: string[] }>();
  for (const { service, field, skippedService, outcome } of plan.references) {
    const key = JSON.stringify([field, skippedService, outcome]);
    const group = groups.get(key) ?? { field, skippedService, outcome, services: [] };
    group.services.push(service);
    groups.set(key, group);
  }
  for (const { field, skippedService, outcome, services } of groups.values()) {
    logger.warn(
      { field, skipped: skippedService, children: services },
      `${field} names ${skippedService}, which is skipped: ${outcome}`,
    );
  }
}
