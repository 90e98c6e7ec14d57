// docker-compose.yml stays valid for real Docker hosts: Debian's
// docker-compose checks it without an engine. A broken copy must fail, so
// the check is known to check (docker-compose accepts the x-bulwark-launcher
// fields inside services, as it does any x- field). Settings the services
// rely on across entries (published ports, the lock services' Redis servers)
// are checked as data.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoPath } from '@bulwark/testing';

function composeConfig(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) =>
    execFile('docker-compose', ['-f', file, 'config', '-q'], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }),
    ),
  );
}

interface ComposeService {
  build?: string;
  healthcheck?: { test: string[] };
  image?: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  'x-bulwark-launcher'?: Record<string, unknown>;
}

describe('docker-compose.yml', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-compose-'));
  const compose = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, null>;
  };
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes docker-compose config -q', async () => {
    const result = await composeConfig(repoPath('docker-compose.yml'));
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('publishes the ports users keep, and none of the internal Redis servers', () => {
    const published = Object.fromEntries(
      Object.entries(compose.services).map(([name, service]) => [name, service.ports ?? []]),
    );
    expect(published).toMatchObject({
      'coordinator-1': ['7001:7001', '9101:9464'],
      'coordinator-2': ['7002:7001', '9102:9464'],
      'coordinator-3': ['7003:7001', '9103:9464'],
      'replica-a1': ['9111:9464'],
      'replica-a2': ['9112:9464'],
      'replica-a3': ['9113:9464'],
      'replica-b1': ['9114:9464'],
      'replica-b2': ['9115:9464'],
      'replica-b3': ['9116:9464'],
      'replica-c1': ['9117:9464'],
      'replica-c2': ['9118:9464'],
      'replica-c3': ['9119:9464'],
      'router-1': ['7200:7200', '9121:9464'],
      'router-2': ['7201:7201', '9122:9464'],
      'lock-1': ['7300:7300', '9131:9464'],
      'lock-2': ['7301:7300', '9132:9464'],
      'monitor-1': ['7400:7400', '8080:8080', '9141:9464'],
      'monitor-2': ['7401:7400', '8081:8080', '9142:9464'],
      'redis-1': [],
      'redis-2': [],
      'redis-3': [],
      jaeger: ['16686:16686', '4317:4317'],
      prometheus: ['9090:9090'],
    });
    // No host port is published twice.
    const hostPorts = Object.values(published).flatMap((ports) => ports.map((port) => port.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('names only its own services as hosts in every setting, by port they serve', () => {
    const names = new Set(Object.keys(compose.services));
    const hostPort = /(?:^|[=,/])([a-z][a-z0-9-]*):(\d+)/g;
    const named: string[] = [];
    for (const [service, { environment = {} }] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(environment)) {
        for (const [, host, port] of String(value).matchAll(hostPort)) {
          if (host === 'localhost') continue;
          named.push(`${service} ${variable} ${host}:${port}`);
          expect([service, variable, names.has(host as string)]).toEqual([service, variable, true]);
        }
      }
    }
    // The check saw the cross-service settings it is for.
    expect(named).toContain('replica-a1 BULWARK_COORDINATORS coordinator-3:7001');
    expect(named).toContain('lock-2 BULWARK_REDIS_SERVERS redis-3:6379');
    expect(named).toContain('router-1 OTEL_EXPORTER_OTLP_ENDPOINT jaeger:4317');
  });

  it('gives every service a health check, and starts the Bulwark services once the coordinators are healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'jaeger' || name === 'prometheus') continue;
      expect([name, (service.healthcheck?.test.length ?? 0) > 0]).toEqual([name, true]);
      if (service.build === undefined || name.startsWith('coordinator-')) continue;
      expect([name, service.depends_on]).toMatchObject([
        name,
        {
          'coordinator-1': { condition: 'service_healthy' },
          'coordinator-2': { condition: 'service_healthy' },
          'coordinator-3': { condition: 'service_healthy' },
        },
      ]);
    }
  });

  it('runs a Prometheus with prometheus.yml beside the compose file', () => {
    expect(compose.services['prometheus']).toMatchObject({
      image: 'prom/prometheus:latest',
      command: ['--config.file=/etc/prometheus/prometheus.yml'],
      volumes: ['./prometheus.yml:/etc/prometheus/prometheus.yml:ro'],
    });
  });

  it('has every Bulwark service serve metrics on 9464, and prometheus.yml scrape each of them by name there', () => {
    const bulwark = Object.entries(compose.services)
      .filter(([, service]) => service.environment?.BULWARK_MEMBER_ID !== undefined)
      .map(([name]) => name);
    expect(bulwark).toEqual(expect.arrayContaining(['coordinator-1', 'replica-a1', 'router-1', 'lock-1', 'monitor-1']));
    for (const name of bulwark) {
      expect([name, compose.services[name]?.environment?.BULWARK_METRICS_ADDR]).toEqual([name, '0.0.0.0:9464']);
    }
    const prometheus = parse(readFileSync(repoPath('prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((config) => config.targets));
    expect(targets.sort()).toEqual(bulwark.map((name) => `${name}:9464`).sort());
    // One job per kind of service, named as the kind.
    expect(prometheus.scrape_configs.map((job) => job.job_name)).toEqual([
      'coordinator',
      'replica',
      'router',
      'lock',
      'monitor',
    ]);
  });

  it('runs three Redis servers that fsync every write, publish expiry events and admit the lock services, each with its volume', () => {
    for (const name of ['redis-1', 'redis-2', 'redis-3']) {
      expect(compose.services[name]).toEqual({
        image: 'redis:7',
        command: [
          'redis-server',
          '--bind',
          '0.0.0.0',
          '--port',
          '6379',
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--notify-keyspace-events',
          'Ex',
          '--dir',
          '/data',
          '--save',
          '',
          '--protected-mode',
          'no',
        ],
        volumes: [`${name}-data:/data`],
        healthcheck: { test: ['CMD', 'redis-cli', '-p', '6379', 'ping'], interval: '5s', timeout: '3s', retries: 3 },
        restart: 'unless-stopped',
      });
      expect(compose.volumes).toHaveProperty([`${name}-data`]);
    }
  });

  it('has both lock services use all three Redis servers once they are healthy', () => {
    for (const [name, backend] of [
      ['lock-1', 'auto'],
      ['lock-2', 'redis'],
    ] as const) {
      const lock = compose.services[name];
      expect(lock?.environment).toMatchObject({
        BULWARK_MEMBER_ID: name,
        BULWARK_LOCK_BACKEND: backend,
        BULWARK_REDIS_SERVERS: 'redis-1:6379,redis-2:6379,redis-3:6379',
      });
      expect(lock?.depends_on).toEqual({
        'coordinator-1': { condition: 'service_healthy' },
        'coordinator-2': { condition: 'service_healthy' },
        'coordinator-3': { condition: 'service_healthy' },
        'redis-1': { condition: 'service_healthy' },
        'redis-2': { condition: 'service_healthy' },
        'redis-3': { condition: 'service_healthy' },
      });
    }
  });

  // Two lock services on separate memory backends would be two lock tables: no mutual exclusion between them.
  it('has `npm start` run lock-1 alone, on memory, where the Redis servers are skipped', () => {
    const redisServers = ['redis-1', 'redis-2', 'redis-3'];
    expect(compose.services['lock-1']?.['x-bulwark-launcher']).toEqual({
      'note-without': redisServers,
      note: 'falls back to its memory lock backend (one instance, not fault tolerant)',
    });
    expect(compose.services['lock-2']?.['x-bulwark-launcher']).toEqual({ 'skip-without': redisServers });
  });

  it('passes only because x- fields are ignored: without the prefix, docker-compose refuses the field', async () => {
    const unprefixed = join(scratch, 'unprefixed.yml');
    writeFileSync(
      unprefixed,
      readFileSync(repoPath('docker-compose.yml'), 'utf8').replaceAll('x-bulwark-launcher:', 'bulwark-launcher:'),
    );
    const result = await composeConfig(unprefixed);
    expect(result.output).toMatch(/Unsupported config option for services\.lock-[12]: 'bulwark-launcher'/);
    expect(result.code).not.toBe(0);
  });

  it('is rejected when broken', async () => {
    const broken = join(scratch, 'docker-compose.yml');
    const text = readFileSync(repoPath('docker-compose.yml'), 'utf8');
    writeFileSync(
      broken,
      text.replace('services:\n', 'services:\n  broken:\n    image: x\n    ports: ["not-a-port"]\n'),
    );
    const result = await composeConfig(broken);
    expect(result.output).toContain('services.broken.ports contains an invalid type');
    expect(result.code).not.toBe(0);
  });
});
