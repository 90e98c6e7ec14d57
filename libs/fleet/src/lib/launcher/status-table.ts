// The table the launcher prints once the fleet is ready, and the prefix of
// relayed output lines, as `docker compose` shows them.
import type { ServiceNote, ServicePage, SkippedService } from '../plan/plan-model';
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

/** The pages to open, where the launcher published them: `  monitor-1 dashboard   http://127.0.0.1:8080/`. */
function pageLines(services: readonly FleetService[], pages: readonly ServicePage[]): string[] {
  const open = pages.flatMap(({ service, page, containerPort }) => {
    const published = services
      .find((each) => each.name === service)
      ?.published.find((port) => port.containerPort === containerPort);
    return published ? [{ label: `${service} ${page}`, url: `http://${published.hostIp}:${published.hostPort}/` }] : [];
  });
  if (open.length === 0) return [];
  const width = Math.max(...open.map(({ label }) => label.length));
  return ['open in a browser:', ...open.map(({ label, url }) => `  ${label.padEnd(width)}   ${url}`)];
}

/**
 * The table, then one line per note under it (a note is a sentence, too long
 * for a column, so its row's state only carries a marker pointing down),
 * then the pages to open in a browser.
 */
export function formatStatusTable(
  services: readonly FleetService[],
  skipped: readonly SkippedService[],
  notes: readonly ServiceNote[] = [],
  pages: readonly ServicePage[] = [],
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
    ...skipped.map((service) => [
      service.name,
      '-',
      '-',
      '-',
      `skipped: ${skipCause(service)}${service.standIns ? `; your ${service.standIns.join(', ')} instead` : ''}`,
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] as string).length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('   ')
      .trimEnd(),
  );
  return [
    ...lines,
    ...notes.map(({ service, note }) => `${noteMarker} ${service}: ${note}`),
    ...pageLines(services, pages),
  ].join('\n');
}

/** `router-1       | `: names padded to the longest, so relayed lines align. */
export function outputPrefix(service: string, nameWidth: number): string {
  return `${service.padEnd(nameWidth)} | `;
}
