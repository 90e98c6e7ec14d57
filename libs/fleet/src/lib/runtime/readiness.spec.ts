import { readinessOf } from './readiness';

describe('readinessOf', () => {
  it('is ready when every service is healthy or running without a healthcheck', () => {
    expect(
      readinessOf([
        { name: 'a', state: 'healthy' },
        { name: 'b', state: 'running' },
      ]),
    ).toEqual({ kind: 'ready' });
    expect(readinessOf([])).toEqual({ kind: 'ready' });
  });

  it('waits for services on their way', () => {
    expect(
      readinessOf([
        { name: 'a', state: 'starting' },
        { name: 'b', state: 'restarting' },
        { name: 'c', state: 'created' },
        { name: 'd', state: 'healthy' },
      ]),
    ).toEqual({ kind: 'waiting', names: ['a', 'b', 'c'] });
  });

  it('fails when a service is down for good', () => {
    expect(
      readinessOf([
        { name: 'a', state: 'starting' },
        { name: 'b', state: 'exited' },
        { name: 'c', state: 'stopped' },
      ]),
    ).toEqual({ kind: 'failed', names: ['b', 'c'] });
  });
});
