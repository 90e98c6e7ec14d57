import type { FieldFailure } from './compose-error';
import type { PublishedPort } from './compose-model';

const portNumber = /^\d{1,5}$/;
const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const expectedForm = 'expected "[host_ip:]host_port:container_port" or "container_port"';

function port(raw: string): number | undefined {
  if (!portNumber.test(raw)) return undefined;
  const value = Number(raw);
  return value >= 1 && value <= 65535 ? value : undefined;
}

/** One `ports` entry in the short syntax, TCP only (the launcher forwards TCP). */
export function parsePort(raw: unknown, field: string, fail: FieldFailure): PublishedPort {
  if (typeof raw === 'number') raw = String(raw);
  if (typeof raw !== 'string') return fail(field, `${expectedForm}, got ${JSON.stringify(raw)}`);
  const [mapping = '', protocol = 'tcp', ...extra] = raw.split('/');
  if (protocol !== 'tcp' || extra.length > 0) fail(field, `only TCP ports can be forwarded, got "${raw}"`);
  if (mapping.includes('-')) fail(field, `port ranges are not supported, got "${raw}"`);
  const parts = mapping.split(':');
  const containerPort = port(parts.at(-1) as string);
  if (containerPort === undefined || parts.length > 3) fail(field, `${expectedForm}, got "${raw}"`);
  const published: PublishedPort = { containerPort: containerPort as number };
  if (parts.length >= 2 && parts.at(-2) !== '') {
    const hostPort = port(parts.at(-2) as string);
    if (hostPort === undefined) fail(field, `${expectedForm}, got "${raw}"`);
    published.hostPort = hostPort;
  }
  if (parts.length === 3) {
    const hostIp = parts[0] as string;
    const octets = ipv4.exec(hostIp)?.slice(1).map(Number);
    if (!octets || octets.some((octet) => octet > 255)) fail(field, `host_ip must be an IPv4 address, got "${hostIp}"`);
    published.hostIp = hostIp;
  }
  return published;
}

export function parsePorts(raw: unknown, fail: FieldFailure): PublishedPort[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return fail('ports', 'must be a list');
  return raw.map((item, index) => parsePort(item, `ports[${index}]`, fail));
}
