import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@bulwark/logging';
import { readComposeFile } from '../compose/read-compose-file';
import { planFleet } from '../plan/fleet-plan';
import { reportPlan } from './report-events';

const repoRoot = join(__dirname, '../../../../..');

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      );
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'launcher', memberId: 'test', level: 'info', destination }) };
}

describe('reportPlan', () => {
  it('on docker-compose.yml without redis-server: why lock-2 is skipped, and that lock-1 runs on memory', () => {
    const plan = planFleet(readComposeFile(join(repoRoot, 'docker-compose.yml')), {
      subnet: '127.77.0',
      stateDir: '/state',
      portOffset: 0,
      environment: { PATH: '/usr/bin' },
      programsOnPath: new Set(['redis-cli']),
    });
    const { lines, logger } = capturedLogger();
    reportPlan(plan, logger);
    const redisServers = ['redis-1', 'redis-2', 'redis-3'];
    expect(lines.map(({ level, msg }) => [level, msg])).toEqual([
      ['warn', 'lock-2 skipped: needs redis-1, redis-2, redis-3, which are skipped'],
      ...redisServers.map((name) => ['warn', `${name}: redis-server not found on PATH; skipped`]),
      ['info', 'jaeger skipped: image only, needs Docker'],
      ['info', 'prometheus skipped: image only, needs Docker'],
      [
        'warn',
        'lock-1 runs without redis-1, redis-2, redis-3, which are skipped: ' +
          'falls back to its memory lock backend (one instance, not fault tolerant)',
      ],
      ['warn', 'environment.OTEL_EXPORTER_OTLP_ENDPOINT names jaeger, which is skipped: dropped'],
      ['warn', 'environment.BULWARK_REDIS_SERVERS names redis-1, which is skipped: dropped'],
    ]);
    expect(lines[0]).toMatchObject({ child: 'lock-2', needs: redisServers });
    expect(lines[6]).toMatchObject({
      child: 'lock-1',
      without: redisServers,
      note: 'falls back to its memory lock backend (one instance, not fault tolerant)',
    });
    expect(lines[8]).toMatchObject({ children: ['lock-1'] });
  });
});
