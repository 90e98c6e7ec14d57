import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCompose } from '../compose/parse-compose';
import { findProgram, findProgramsOnPath } from './find-program';

describe('finding programs', () => {
  const root = mkdtempSync(join(tmpdir(), 'bulwark-find-program-'));
  const [first, second] = [join(root, 'first'), join(root, 'second')];
  const file = (path: string, mode: number) => {
    writeFileSync(path, '#!/bin/sh\n');
    chmodSync(path, mode);
  };

  beforeAll(() => {
    mkdirSync(first);
    mkdirSync(second);
    file(join(first, 'redis-cli'), 0o644); // not executable: passed over, as spawn does
    file(join(second, 'redis-cli'), 0o755);
    file(join(second, 'redis-server'), 0o755);
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('takes the first executable one along PATH, or a path as it is', () => {
    expect(findProgram('redis-cli', `${first}:${second}`)).toBe(join(second, 'redis-cli'));
    expect(findProgram('redis-server', first)).toBeUndefined();
    expect(findProgram('redis-server', undefined)).toBeUndefined();
    expect(findProgram(join(second, 'redis-server'), '')).toBe(join(second, 'redis-server'));
    expect(findProgram(join(first, 'redis-cli'), second)).toBeUndefined();
  });

  it('looks up the programs image services need, and nothing for build services', () => {
    const compose = parseCompose(
      [
        'services:',
        '  redis:',
        '    image: redis:7',
        '    command: [redis-server]',
        '    healthcheck: {test: [CMD, redis-cli, ping]}',
        '  app:',
        '    build: .',
        '    command: [node, app.js]',
      ].join('\n'),
      '/p',
    );
    expect(findProgramsOnPath(compose, second)).toEqual(new Set(['redis-server', 'redis-cli']));
    expect(findProgramsOnPath(compose, first)).toEqual(new Set());
  });
});
