// Which services do not run here and why, and which run differently because
// others do not. A service skipped for its skip-without counts as skipped
// for everyone else too, so skips cascade: lock-2 without Redis, and in turn
// whatever must not run without lock-2.
import type { ComposeFile, ComposeService, ProcessService } from '../compose/compose-model';
import type { ServiceNote, SkippedService, SkipReason } from './plan-model';
import { programsNeeded } from './programs-needed';

/** Why a service cannot run here by itself (before anything it needs is considered), or undefined. */
function ownSkipReason(service: ComposeService, programsOnPath: ReadonlySet<string>): SkipReason | undefined {
  if (service.kind === 'image-only') return { kind: 'image-only' };
  const missing = programsNeeded(service).find((program) => !programsOnPath.has(program));
  return missing === undefined ? undefined : { kind: 'program-not-found', program: missing };
}

/** Skipped services in compose order; one skipped for its skip-without names all its skipped ones. */
export function skippedServices(compose: ComposeFile, programsOnPath: ReadonlySet<string>): SkippedService[] {
  const ownReasons = new Map<string, SkipReason>();
  for (const service of compose.services) {
    const reason = ownSkipReason(service, programsOnPath);
    if (reason !== undefined) ownReasons.set(service.name, reason);
  }
  const skipped = new Set(ownReasons.keys());
  const skippedNeeds = (service: ProcessService) => (service.skipWithout ?? []).filter((name) => skipped.has(name));
  // Each round skips at least one more service or is the last: at most one round per service.
  let skippedMore: boolean;
  do {
    skippedMore = false;
    for (const service of compose.services) {
      if (service.kind !== 'process' || skipped.has(service.name) || skippedNeeds(service).length === 0) continue;
      skipped.add(service.name);
      skippedMore = true;
    }
  } while (skippedMore);
  return compose.services.flatMap((service) => {
    if (!skipped.has(service.name)) return [];
    // Named once all are known, so one skipped in a later round is named too.
    const because = ownReasons.get(service.name) ?? {
      kind: 'needs-skipped',
      services: skippedNeeds(service as ProcessService),
    };
    return [{ name: service.name, ...(service.image === undefined ? {} : { image: service.image }), because }];
  });
}

/** The notes of running services with a note-without service skipped. */
export function notesWithout(running: readonly ProcessService[], skipped: ReadonlySet<string>): ServiceNote[] {
  return running.flatMap((service) => {
    const without = service.noteWithout?.services.filter((name) => skipped.has(name)) ?? [];
    return without.length === 0 ? [] : [{ service: service.name, without, note: service.noteWithout?.note as string }];
  });
}
