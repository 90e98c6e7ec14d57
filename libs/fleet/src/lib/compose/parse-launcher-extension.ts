// `x-bulwark-launcher` on a service: what `npm start` does with the service
// when services it uses are skipped here. Docker Compose ignores `x-` fields,
// so the file stays valid for `docker compose`. Service names are checked
// against the whole file once every service is read (checkLauncherReferences).
import { ComposeError, type FieldFailure } from './compose-error';
import type { BrowsePage, ComposeService, ProcessService } from './compose-model';
import { isStringList, isYamlMap } from './yaml-values';

export const launcherExtensionField = 'x-bulwark-launcher';
const knownKeys = ['skip-without', 'note-without', 'note', 'browse'];

export type LauncherExtension = Pick<ProcessService, 'skipWithout' | 'noteWithout' | 'browse'>;

function serviceList(raw: unknown, key: string, ownName: string, fail: FieldFailure): string[] {
  const field = `${launcherExtensionField}.${key}`;
  if (!isStringList(raw) || raw.length === 0) {
    return fail(field, `must be a non-empty list of service names, got ${JSON.stringify(raw)}`);
  }
  raw.forEach((name, index) => {
    if (name === ownName) fail(`${field}[${index}]`, 'names the service itself');
    if (raw.indexOf(name) !== index) fail(`${field}[${index}]`, `${name} is listed twice`);
  });
  return raw;
}

function parseNote(raw: unknown, fail: FieldFailure): string {
  // One line: it ends a log message and a line under the status table.
  if (typeof raw !== 'string' || raw.trim() === '' || /[\r\n]/.test(raw)) {
    return fail(`${launcherExtensionField}.note`, `must be one non-empty line of text, got ${JSON.stringify(raw)}`);
  }
  return raw.trim();
}

/** `browse: {dashboard: 8080}`: page names and the published container ports they are served at. */
function parseBrowse(raw: unknown, publishedPorts: readonly number[], fail: FieldFailure): BrowsePage[] {
  const field = `${launcherExtensionField}.browse`;
  if (!isYamlMap(raw) || Object.keys(raw).length === 0) {
    return fail(field, `must be a map of page names to published container ports, got ${JSON.stringify(raw)}`);
  }
  return Object.entries(raw).map(([page, port]) => {
    if (typeof port !== 'number' || !publishedPorts.includes(port)) {
      fail(`${field}.${page}`, `must be a container port the service publishes, got ${JSON.stringify(port)}`);
    }
    return { page, containerPort: port as number };
  });
}

/** The service's `x-bulwark-launcher`, or nothing when it has none; publishedPorts are its container ports in `ports`. */
export function parseLauncherExtension(
  raw: unknown,
  ownName: string,
  publishedPorts: readonly number[],
  fail: FieldFailure,
): LauncherExtension {
  if (raw === undefined) return {};
  if (!isYamlMap(raw)) {
    return fail(launcherExtensionField, 'must be a map of skip-without, note-without, note and browse');
  }
  const unknown = Object.keys(raw).find((key) => !knownKeys.includes(key));
  if (unknown !== undefined) {
    fail(`${launcherExtensionField}.${unknown}`, `is not a launcher setting (known: ${knownKeys.join(', ')})`);
  }
  if (raw['skip-without'] === undefined && raw['note-without'] === undefined && raw.browse === undefined) {
    return fail(launcherExtensionField, 'must set skip-without, note-without or browse');
  }
  if ((raw['note-without'] === undefined) !== (raw.note === undefined)) {
    return fail(launcherExtensionField, 'note-without and note go together: the note is shown without those services');
  }
  const extension: LauncherExtension = {};
  if (raw['skip-without'] !== undefined) {
    extension.skipWithout = serviceList(raw['skip-without'], 'skip-without', ownName, fail);
  }
  if (raw['note-without'] !== undefined) {
    const services = serviceList(raw['note-without'], 'note-without', ownName, fail);
    const alsoSkipped = services.findIndex((name) => extension.skipWithout?.includes(name));
    if (alsoSkipped !== -1) {
      fail(
        `${launcherExtensionField}.note-without[${alsoSkipped}]`,
        `${services[alsoSkipped]} is in skip-without too, so the service never runs without it to show the note`,
      );
    }
    extension.noteWithout = { services, note: parseNote(raw.note, fail) };
  }
  if (raw.browse !== undefined) extension.browse = parseBrowse(raw.browse, publishedPorts, fail);
  return extension;
}

/** Every name under `x-bulwark-launcher` is a service of the file: a typo would otherwise never skip anything. */
export function checkLauncherReferences(services: readonly ComposeService[]): void {
  const names = new Set(services.map((service) => service.name));
  for (const service of services) {
    if (service.kind !== 'process') continue;
    const lists: [string, string[] | undefined][] = [
      ['skip-without', service.skipWithout],
      ['note-without', service.noteWithout?.services],
    ];
    for (const [key, list] of lists) {
      const unknown = list?.findIndex((name) => !names.has(name)) ?? -1;
      if (unknown === -1) continue;
      throw new ComposeError(
        service.name,
        `${launcherExtensionField}.${key}[${unknown}]`,
        `${list?.[unknown]} is not a service of this file`,
      );
    }
  }
}
