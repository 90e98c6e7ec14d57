import { rewritePaths } from './rewrite-paths';

const mounts = [
  { containerPath: '/data', hostPath: '/state/data' },
  { containerPath: '/data/logs', hostPath: '/state/logs' },
];

describe('rewritePaths', () => {
  it('rewrites a mount path as a path prefix wherever a path can start', () => {
    expect(rewritePaths('/data', mounts)).toBe('/state/data');
    expect(rewritePaths('/data/wal/0001', mounts)).toBe('/state/data/wal/0001');
    expect(rewritePaths('--dir=/data', mounts)).toBe('--dir=/state/data');
    expect(rewritePaths('/data:/data/x,/data', mounts)).toBe('/state/data:/state/data/x,/state/data');
    expect(rewritePaths('cp /data /tmp', mounts)).toBe('cp /state/data /tmp');
  });

  it('prefers the longest mount', () => {
    expect(rewritePaths('/data/logs/today', mounts)).toBe('/state/logs/today');
  });

  it('leaves other paths alone', () => {
    for (const value of ['/database', '/x/data', 'data', 'http://host/data', '']) {
      expect(rewritePaths(value, mounts)).toBe(value);
    }
  });

  it('uses host paths literally, even with $ in them', () => {
    expect(rewritePaths('/data', [{ containerPath: '/data', hostPath: '/s/$&' }])).toBe('/s/$&');
  });
});
