import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writableDirectory } from './directory';
import {
  ConfigError,
  hostPort,
  hostPortList,
  int,
  listenAddressOrOff,
  loadConfig,
  memberIdList,
  oneOf,
  peers,
  string,
  memberIdPattern,
} from './config';

const schema = {
  listen: hostPort('T_LISTEN', '0.0.0.0:7001'),
  memberId: string('T_MEMBER_ID', { pattern: memberIdPattern }),
  drainMs: int('T_DRAIN_MS', { min: 0, max: 60_000, default: 5000 }),
  level: oneOf('T_LEVEL', ['debug', 'info', 'warn'] as const, 'info'),
};

function problem(env: NodeJS.ProcessEnv, s: Parameters<typeof loadConfig>[0] = schema): string {
  try {
    loadConfig(s, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('builds a typed, frozen object with defaults', () => {
    const config = loadConfig(schema, { T_MEMBER_ID: 'router-1' });
    expect(config).toEqual({
      listen: { host: '0.0.0.0', port: 7001 },
      memberId: 'router-1',
      drainMs: 5000,
      level: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the variable that is missing, malformed or out of range', () => {
    expect(problem({})).toBe('T_MEMBER_ID: is required but not set');
    expect(problem({ T_MEMBER_ID: 'Router_1' })).toMatch(/^T_MEMBER_ID: must be 1-64 characters/);
    expect(problem({ T_MEMBER_ID: 'r', T_DRAIN_MS: 'soon' })).toBe('T_DRAIN_MS: must be an integer, got "soon"');
    expect(problem({ T_MEMBER_ID: 'r', T_DRAIN_MS: '-1' })).toBe('T_DRAIN_MS: must be between 0 and 60000, got -1');
    expect(problem({ T_MEMBER_ID: 'r', T_LISTEN: 'nope' })).toBe('T_LISTEN: must be host:port, got "nope"');
    expect(problem({ T_MEMBER_ID: 'r', T_LISTEN: 'a:70000' })).toBe(
      'T_LISTEN: port must be between 1 and 65535, got 70000',
    );
    expect(problem({ T_MEMBER_ID: 'r', T_LEVEL: 'loud' })).toBe(
      'T_LEVEL: must be one of debug, info, warn, got "loud"',
    );
  });

  it('parses peer lists and rejects duplicates and bad entries', () => {
    const s = { peers: peers('T_PEERS', { min: 3, max: 5 }) };
    expect(loadConfig(s, { T_PEERS: 'c1=a:1,c2=b:2, c3=[::1]:3' }).peers).toEqual([
      { id: 'c1', address: { host: 'a', port: 1 } },
      { id: 'c2', address: { host: 'b', port: 2 } },
      { id: 'c3', address: { host: '[::1]', port: 3 } },
    ]);
    expect(problem({ T_PEERS: 'c1=a:1,c2=b:2' }, s)).toBe('T_PEERS: must list 3 to 5 peers as id=host:port, got 2');
    expect(problem({ T_PEERS: 'c1=a:1,c1=b:2,c3=c:3' }, s)).toBe('T_PEERS: peer id "c1" appears twice');
    expect(problem({ T_PEERS: 'c1=a:1,c2,c3=c:3' }, s)).toBe('T_PEERS: each peer must be id=host:port, got "c2"');
  });

  it('parses address lists', () => {
    const s = { coordinators: hostPortList('T_COORDS', { min: 1, max: 7 }) };
    expect(loadConfig(s, { T_COORDS: 'a:1,b:2' }).coordinators).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(problem({ T_COORDS: 'a:1,,b:2' }, s)).toBe('T_COORDS: must be host:port, got ""');
  });

  it('parses an optional listen address: port 0 allowed, off, or unset', () => {
    const s = { metrics: listenAddressOrOff('T_METRICS') };
    expect(loadConfig(s, { T_METRICS: '0.0.0.0:9464' }).metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(loadConfig(s, { T_METRICS: '[::1]:0' }).metrics).toEqual({ host: '[::1]', port: 0 });
    expect(loadConfig(s, { T_METRICS: 'off' }).metrics).toBe('off');
    expect(loadConfig(s, { T_METRICS: ' ' }).metrics).toBeUndefined();
    expect(loadConfig(s, {}).metrics).toBeUndefined();
    expect(problem({ T_METRICS: 'on' }, s)).toBe('T_METRICS: must be host:port or off, got "on"');
    expect(problem({ T_METRICS: 'a:65536' }, s)).toBe('T_METRICS: port must be between 0 and 65535, got 65536');
    // Elsewhere port 0 stays refused: a peer or a listen address must name a real port.
    expect(problem({ T_MEMBER_ID: 'r', T_LISTEN: 'a:0' })).toBe('T_LISTEN: port must be between 1 and 65535, got 0');
  });

  it('parses member id lists', () => {
    const s = { members: memberIdList('T_MEMBERS', { min: 1, max: 7, fallback: [] }) };
    expect(loadConfig(s, { T_MEMBERS: 'r1, r2,r3' }).members).toEqual(['r1', 'r2', 'r3']);
    expect(loadConfig(s, {}).members).toEqual([]);
    expect(problem({ T_MEMBERS: 'r1,r1' }, s)).toBe('T_MEMBERS: member id "r1" appears twice');
    expect(problem({ T_MEMBERS: 'r1,R2' }, s)).toBe(
      'T_MEMBERS: member id must be 1-64 characters of a-z, 0-9 and -, got "R2"',
    );
    expect(problem({ T_MEMBERS: 'a,b,c,d,e,f,g,h' }, s)).toBe('T_MEMBERS: must list 1 to 7 member ids, got 8');
  });
});

describe('writableDirectory', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('creates a missing directory', () => {
    const target = join(scratch, 'a', 'b');
    expect(loadConfig({ dir: writableDirectory('T_DIR') }, { T_DIR: target }).dir).toBe(target);
    expect(existsSync(target)).toBe(true);
  });

  it('names the variable when the path is under a file', () => {
    const file = join(scratch, 'file');
    writeFileSync(file, 'x');
    expect(problem({ T_DIR: join(file, 'sub') }, { dir: writableDirectory('T_DIR') })).toMatch(
      /^T_DIR: cannot create or write directory .*file\/sub \(ENOTDIR\)$/,
    );
  });
});
