// Parses and validates a compose file into the launcher's model. Every
// problem is one ComposeError naming the service and field.
import { parse as parseYaml } from 'yaml';
import { ComposeError, fieldFailure, type FieldFailure } from './compose-error';
import type { ComposeFile, ComposeService, Dependency, RestartPolicy } from './compose-model';
import { localPrograms } from './local-programs';
import { parseDurationField } from './parse-duration';
import { parseEnvironment } from './parse-environment';
import { parseHealthcheck } from './parse-healthcheck';
import { checkLauncherReferences, launcherExtensionField, parseLauncherExtension } from './parse-launcher-extension';
import { parsePorts } from './parse-ports';
import { parseVolumes, volumeNamePattern } from './parse-volumes';
import { isStringList, isYamlMap, type YamlMap } from './yaml-values';

const serviceNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const defaultStopGracePeriodMs = 10_000;

function parseRestart(raw: unknown, fail: FieldFailure): RestartPolicy {
  if (raw === undefined || raw === null || raw === 'no') return { kind: 'no' };
  if (raw === 'always' || raw === 'unless-stopped' || raw === 'on-failure') return { kind: raw };
  const retries = typeof raw === 'string' ? /^on-failure:(\d{1,4})$/.exec(raw)?.[1] : undefined;
  if (retries !== undefined) return { kind: 'on-failure', retriesMax: Number(retries) };
  return fail('restart', `must be no, always, on-failure[:max-retries] or unless-stopped, got ${JSON.stringify(raw)}`);
}

/** Names in `depends_on` are kept as written: one that is not a service is ignored when planning. */
function parseDependsOn(raw: unknown, fail: FieldFailure): Dependency[] {
  if (raw === undefined || raw === null) return [];
  if (isStringList(raw)) return raw.map((service) => ({ service, condition: 'service_started' }));
  if (!isYamlMap(raw)) return fail('depends_on', 'must be a list of services or a map of service: {condition}');
  return Object.entries(raw).map(([service, options]) => {
    const condition = isYamlMap(options) ? (options.condition ?? 'service_started') : undefined;
    if (condition !== 'service_started' && condition !== 'service_healthy') {
      fail(
        `depends_on.${service}.condition`,
        `must be service_started or service_healthy, got ${JSON.stringify(condition)}`,
      );
    }
    return { service, condition: condition as Dependency['condition'] };
  });
}

function parseService(name: string, raw: unknown, declaredVolumes: ReadonlySet<string>): ComposeService {
  const fail = fieldFailure(name);
  if (!serviceNamePattern.test(name)) throw new ComposeError(name, undefined, 'is not a valid service name');
  if (!isYamlMap(raw)) return fail('definition', 'must be a map');
  let image: string | undefined;
  if (raw.build === undefined) {
    if (typeof raw.image !== 'string' || raw.image === '') {
      return fail('build/image', 'needs build (run as a local process) or image (skipped without Docker)');
    }
    // Without Docker the image's own CMD is unknown: only a command written in the file can run locally.
    const program = isStringList(raw.command) ? raw.command[0] : undefined;
    if (program === undefined || !localPrograms.has(program)) {
      if (raw[launcherExtensionField] !== undefined) {
        fail(launcherExtensionField, 'an image-only service never runs without Docker: nothing to skip or note');
      }
      return { kind: 'image-only', name, image: raw.image };
    }
    image = raw.image;
  }
  const ports = parsePorts(raw.ports, fail);
  return {
    kind: 'process',
    name,
    ...(image === undefined ? {} : { image }),
    command: parseCommand(raw, fail),
    environment: parseEnvironment(raw.environment, fail),
    ports,
    volumes: parseVolumes(raw.volumes, declaredVolumes, fail),
    ...optionalHealthcheck(raw, fail),
    restart: parseRestart(raw.restart, fail),
    stopGracePeriodMs: parseDurationField(raw.stop_grace_period, 'stop_grace_period', fail) ?? defaultStopGracePeriodMs,
    dependsOn: parseDependsOn(raw.depends_on, fail),
    ...parseLauncherExtension(
      raw[launcherExtensionField],
      name,
      ports.map((port) => port.containerPort),
      fail,
    ),
  };
}

/** The exec form only: the image has no CMD to fall back on and a shell string would hide the real process. */
function parseCommand(raw: YamlMap, fail: FieldFailure): string[] {
  if (!isStringList(raw.command) || !raw.command[0]) {
    return fail('command', `must be a non-empty list of strings (exec form), got ${JSON.stringify(raw.command)}`);
  }
  return raw.command;
}

function optionalHealthcheck(raw: YamlMap, fail: FieldFailure) {
  const healthcheck = parseHealthcheck(raw.healthcheck, fail);
  return healthcheck === undefined ? {} : { healthcheck };
}

function parseDeclaredVolumes(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!isYamlMap(raw)) throw new ComposeError(undefined, 'volumes', 'must be a map of volume names');
  const names = Object.keys(raw);
  const bad = names.find((volume) => !volumeNamePattern.test(volume));
  if (bad !== undefined) throw new ComposeError(undefined, 'volumes', `"${bad}" is not a valid volume name`);
  return names;
}

/** Parses compose YAML (merge keys `<<:` enabled, for the `x-bulwark-service` anchor). */
export function parseCompose(text: string, projectDir: string): ComposeFile {
  let document: unknown;
  try {
    document = parseYaml(text, { merge: true });
  } catch (error) {
    throw new ComposeError(undefined, undefined, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isYamlMap(document)) throw new ComposeError(undefined, undefined, 'must be a YAML map with services');
  if (!isYamlMap(document.services) || Object.keys(document.services).length === 0) {
    throw new ComposeError(undefined, 'services', 'must be a map with at least one service');
  }
  const volumes = parseDeclaredVolumes(document.volumes);
  const declared = new Set(volumes);
  const services = Object.entries(document.services).map(([name, raw]) => parseService(name, raw, declared));
  checkLauncherReferences(services);
  return { projectDir, services, volumes };
}
