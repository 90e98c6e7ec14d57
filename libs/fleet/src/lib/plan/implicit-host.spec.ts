import { nameImplicitHost } from './implicit-host';

describe('nameImplicitHost', () => {
  it('names localhost for redis-cli, which would reach 127.0.0.1, and reports the port it reaches', () => {
    expect(nameImplicitHost(['redis-cli', 'ping'])).toEqual({
      argv: ['redis-cli', '-h', 'localhost', 'ping'],
      ownPorts: [6379],
    });
    expect(nameImplicitHost(['/usr/bin/redis-cli', '-p', '6380', 'ping'])).toEqual({
      argv: ['/usr/bin/redis-cli', '-h', 'localhost', '-p', '6380', 'ping'],
      ownPorts: [6380],
    });
  });

  it('leaves a target that is already named to rewriteHosts', () => {
    for (const argv of [
      ['redis-cli', '-h', 'redis-2', 'ping'],
      ['redis-cli', '-u', 'redis://localhost:6379', 'ping'],
      ['redis-cli', '-s', '/data/redis.sock', 'ping'],
    ]) {
      expect(nameImplicitHost(argv)).toEqual({ argv, ownPorts: [] });
    }
  });

  it('leaves other programs alone, and reports no port it cannot read', () => {
    const probe = ['node', 'dist/tools/health-probe/main.js', 'localhost:7001'];
    expect(nameImplicitHost(probe)).toEqual({ argv: probe, ownPorts: [] });
    expect(nameImplicitHost(['redis-cli', '-p', 'six', 'ping']).ownPorts).toEqual([]);
  });
});
