// docker-compose.yml stays valid for real Docker hosts: Debian's
// docker-compose checks it without an engine. A broken copy must fail, so
// the check is known to check.
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

describe('docker-compose.yml', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-compose-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes docker-compose config -q', async () => {
    const result = await composeConfig(repoPath('docker-compose.yml'));
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('publishes the ports users keep', () => {
    const compose = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { ports?: string[] }>;
    };
    const published = Object.fromEntries(
      Object.entries(compose.services).map(([name, service]) => [name, service.ports ?? []]),
    );
    expect(published).toMatchObject({
      'coordinator-1': ['7001:7001'],
      'coordinator-2': ['7002:7001'],
      'coordinator-3': ['7003:7001'],
      'router-1': ['7200:7200'],
      'lock-1': ['7300:7300'],
      'monitor-1': ['7400:7400'],
      jaeger: ['16686:16686', '4317:4317'],
    });
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
