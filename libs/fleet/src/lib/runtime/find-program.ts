// Finding programs as spawn does: a name with a slash is a path, any other
// is looked up in each directory of PATH in order.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { ComposeFile } from '../compose/compose-model';
import { programsNeeded } from '../plan/programs-needed';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The program's path, or undefined if it is not found (or not executable). */
export function findProgram(program: string, path: string | undefined): string | undefined {
  if (program.includes('/')) return isExecutable(program) ? program : undefined;
  for (const directory of (path ?? '').split(':').filter(Boolean)) {
    const candidate = join(directory, program);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** PlanSettings.programsOnPath: which programs the file's image services need are found on path. */
export function findProgramsOnPath(compose: ComposeFile, path: string | undefined): Set<string> {
  const needed = compose.services.flatMap((service) => (service.kind === 'process' ? programsNeeded(service) : []));
  return new Set(needed.filter((program) => findProgram(program, path) !== undefined));
}
