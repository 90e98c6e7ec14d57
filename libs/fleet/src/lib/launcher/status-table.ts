// The table the launcher prints once the fleet is ready, and the prefix of
// relayed output lines, as `docker compose` shows them.
import type { SkippedService } from '../plan/plan-model';
import type { FleetService } from '../runtime/fleet';

const header = ['NAME', 'PID', 'ADDRESS', 'PUBLISHED', 'STATE'];

function addressOf(service: FleetService): string {
  return service.ports.length === 0 ? service.address : `${service.address}:${service.ports.join(',')}`;
}

function publishedOf(service: FleetService): string {
  const ports = service.published.map((port) => `${port.hostIp}:${port.hostPort}->${port.containerPort}`);
  return ports.length === 0 ? '-' : ports.join(', ');
}

export function formatStatusTable(services: readonly FleetService[], skipped: readonly SkippedService[]): string {
  const rows = [
    header,
    ...services.map((service) => [
      service.name,
      String(service.pid ?? '-'),
      addressOf(service),
      publishedOf(service),
      service.state,
    ]),
    ...skipped.map((service) => [service.name, '-', '-', '-', 'skipped: image only']),
  ];
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] as string).length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] as number))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** `router-1       | `: names padded to the longest, so relayed lines align. */
export function outputPrefix(service: string, nameWidth: number): string {
  return `${service.padEnd(nameWidth)} | `;
}
