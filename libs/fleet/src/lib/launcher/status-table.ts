// The table the launcher prints once the fleet is ready, and the prefix of
// relayed output lines, as `docker compose` shows them.
import type { ServiceNote, SkippedService } from '../plan/plan-model';
import type { FleetService } from '../runtime/fleet';

const header = ['NAME', 'PID', 'ADDRESS', 'PUBLISHED', 'STATE'];
const noteMarker = '*';

function addressOf(service: FleetService): string {
  return service.ports.length === 0 ? service.address : `${service.address}:${service.ports.join(',')}`;
}

function publishedOf(service: FleetService): string {
  const ports = service.published.map((port) => `${port.hostIp}:${port.hostPort}->${port.containerPort}`);
  return ports.length === 0 ? '-' : ports.join(', ');
}

/** "redis-1, redis-2, redis-3, which are skipped", or "redis-1, which is skipped". */
export function whichAreSkipped(names: readonly string[]): string {
  return `${names.join(', ')}, which ${names.length === 1 ? 'is' : 'are'} skipped`;
}

/** Why a service is skipped, in a few words: "image only", "redis-server not found on PATH". */
export function skipCause(service: SkippedService): string {
  const { because } = service;
  if (because.kind === 'image-only') return 'image only';
  if (because.kind === 'program-not-found') return `${because.program} not found on PATH`;
  return `needs ${whichAreSkipped(because.services)}`;
}

/**
 * The table, then one line per note under it: a note is a sentence, too long
 * for a column, so its row's state only carries a marker pointing down.
 */
export function formatStatusTable(
  services: readonly FleetService[],
  skipped: readonly SkippedService[],
  notes: readonly ServiceNote[] = [],
): string {
  const noted = new Set(notes.map((note) => note.service));
  const rows = [
    header,
    ...services.map((service) => [
      service.name,
      String(service.pid ?? '-'),
      addressOf(service),
      publishedOf(service),
      noted.has(service.name) ? `${service.state} ${noteMarker}` : service.state,
    ]),
    ...skipped.map((service) => [service.name, '-', '-', '-', `skipped: ${skipCause(service)}`]),
  ];
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] as string).length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('   ')
      .trimEnd(),
  );
  return [...lines, ...notes.map(({ service, note }) => `${noteMarker} ${service}: ${note}`)].join('\n');
}

/** `router-1       | `: names padded to the longest, so relayed lines align. */
export function outputPrefix(service: string, nameWidth: number): string {
  return `${service.padEnd(nameWidth)} | `;
}
