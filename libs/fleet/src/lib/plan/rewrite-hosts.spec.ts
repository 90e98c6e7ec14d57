import { rewriteHosts, type HostContext } from './rewrite-hosts';

const context: HostContext = {
  ownName: 'coordinator-1',
  ownAddress: '127.77.0.2',
  addresses: new Map([
    ['coordinator-1', '127.77.0.2'],
    ['coordinator-2', '127.77.0.3'],
    ['coordinator-10', '127.77.0.11'],
  ]),
  skipped: new Set(['jaeger']),
};

const rewrite = (value: string) => rewriteHosts(value, context).value;

describe('rewriteHosts', () => {
  it('rewrites another service named before a port, after //, or as the whole value', () => {
    expect(rewrite('coordinator-2:7001')).toBe('127.77.0.3:7001');
    expect(rewrite('grpc://coordinator-2')).toBe('grpc://127.77.0.3');
    expect(rewrite('http://coordinator-2:7001/path')).toBe('http://127.77.0.3:7001/path');
    expect(rewrite('coordinator-2')).toBe('127.77.0.3');
  });

  it('rewrites 0.0.0.0, localhost and 127.0.0.1 to the own address and reports the port', () => {
    expect(rewriteHosts('0.0.0.0:7001', context)).toEqual({
      value: '127.77.0.2:7001',
      skippedServices: [],
      ownPorts: [7001],
    });
    expect(rewrite('localhost:7100')).toBe('127.77.0.2:7100');
    expect(rewrite('http://127.0.0.1:9000')).toBe('http://127.77.0.2:9000');
    expect(rewrite('localhost')).toBe('127.77.0.2');
  });

  it('keeps a peer id before = and rewrites only the host after it', () => {
    expect(rewrite('coordinator-1=coordinator-1:7001,coordinator-2=coordinator-2:7001')).toBe(
      'coordinator-1=127.77.0.2:7001,coordinator-2=127.77.0.3:7001',
    );
  });

  it('tells coordinator-1 from coordinator-10', () => {
    expect(rewrite('coordinator-10:7001,coordinator-1:7001')).toBe('127.77.0.11:7001,127.77.0.2:7001');
  });

  it('keeps the own name as a whole value (an identity such as BULWARK_MEMBER_ID) but rewrites it as a host', () => {
    expect(rewrite('coordinator-1')).toBe('coordinator-1');
    expect(rewriteHosts('coordinator-1:7001', context)).toMatchObject({ value: '127.77.0.2:7001', ownPorts: [7001] });
  });

  it('leaves names that are not in a host position or are parts of longer words alone', () => {
    for (const value of [
      'coordinator-2-data',
      'x-coordinator-2',
      'coordinator-2 is up',
      'http:coordinator-2',
      'coordinator-2.example:7001',
      'localhost.localdomain',
      '10.0.0.0:7001',
      'coordinator',
      '--name=coordinator-2',
    ]) {
      expect(rewrite(value)).toBe(value);
    }
  });

  it('reports skipped services named as hosts and leaves the value to the caller', () => {
    expect(rewriteHosts('http://jaeger:4317', context)).toEqual({
      value: 'http://jaeger:4317',
      skippedServices: ['jaeger'],
      ownPorts: [],
    });
    expect(rewriteHosts('jaeger-ui', context).skippedServices).toEqual([]);
  });
});
