import type { ProcessService } from '../compose/compose-model';

/**
 * What an image service run locally needs on PATH: its command's program and
 * its healthcheck's (redis-cli for Redis: without it the service could never
 * become healthy, so it is skipped instead). A build service needs nothing
 * checked: its programs are the Bulwark image's, which `npm start` builds here.
 */
export function programsNeeded(service: ProcessService): string[] {
  if (service.image === undefined) return [];
  const programs = [service.command[0] as string];
  const probeProgram = service.healthcheck?.argv[0];
  if (probeProgram !== undefined && !programs.includes(probeProgram)) programs.push(probeProgram);
  return programs;
}
