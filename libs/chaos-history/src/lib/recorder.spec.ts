import { InvalidArgumentError } from '@bulwark/errors';
import { indexChaosHistory } from './history-index';
import { parseChaosHistory } from './json-lines';
import { ChaosRecorder } from './recorder';
import type { ChaosRecord } from './records';

function recorder() {
  let monoMs = 0;
  const records: ChaosRecord[] = [];
  const lines: string[] = [];
  const chaos = new ChaosRecorder({ wallMs: () => 1_000_000 + monoMs, monoMs: () => monoMs }, (record, line) => {
    records.push(record);
    lines.push(line);
  });
  return { chaos, records, lines, advance: (ms: number) => (monoMs += ms) };
}

describe('ChaosRecorder', () => {
  it('records operations, faults and final reads as they happen, each line readable back', () => {
    const { chaos, records, lines, advance } = recorder();
    const write = chaos.invoke('c1', { kind: 'put', key: 'k', value: 'a', durability: 'sync' });
    const read = chaos.invoke('c2', { kind: 'get', key: 'k', consistency: 'strong' });
    advance(5);
    const fault = chaos.startFault('pause', [{ member: 'replica-a1', group: 'group-a', primary: true }], 'SIGSTOP');
    write.ok({ kind: 'put', succeeded: true, version: 1n, group: 'group-a' });
    advance(2.5);
    read.unknown('deadline-exceeded: after 8000 ms');
    fault.end('SIGCONT');
    chaos.invoke('c3', { kind: 'lock-acquire', name: 'L', owner: 'o', ttlMs: 100 });
    chaos.finalRead('group-a', 'replica-a1', 'd1', new Map([['k', 'a']]));
    chaos.finalReadFailed('group-a', 'replica-a2', 'unavailable');

    expect(records.map((record) => [record.type, record.monoMs])).toEqual([
      ['invoke', 0],
      ['invoke', 0],
      ['fault', 5],
      ['ok', 5],
      ['unknown', 7.5],
      ['fault', 7.5],
      ['invoke', 7.5],
      ['final-read', 7.5],
      ['final-read-failed', 7.5],
    ]);
    expect([write.opId, read.opId, fault.faultId]).toEqual([1, 2, 1]);
    expect(records[3]).toMatchObject({ type: 'ok', opId: 1, client: 'c1', wallMs: 1_000_005 });
    expect(parseChaosHistory(lines.join('\n'))).toEqual(records);
    expect(indexChaosHistory(records).operations[2]?.outcome).toBe('unknown');
  });

  it('takes one outcome per operation and one end per fault', () => {
    const { chaos, records } = recorder();
    const write = chaos.invoke('c1', { kind: 'delete', key: 'k', durability: 'async' });
    write.fail('failed-precondition: fence.token');
    expect(() => write.ok({ kind: 'delete', succeeded: true, existed: false, group: 'g' })).toThrow(
      'already has an outcome',
    );
    const fault = chaos.startFault('kill', [], 'SIGKILL');
    fault.end('restarted');
    expect(() => fault.end('again')).toThrow('already ended');
    expect(records).toHaveLength(4);
  });

  it('refuses a record that could not be read back, naming the field, and writes nothing for it', () => {
    const { chaos, records } = recorder();
    expect(() => chaos.invoke('c1', { kind: 'get', key: '', consistency: 'strong' })).toThrow(
      new InvalidArgumentError('invoke record field "op.key"', 'must not be empty'),
    );
    const acquire = chaos.invoke('c1', { kind: 'lock-acquire', name: 'L', owner: 'o', ttlMs: 100 });
    expect(() => acquire.ok({ kind: 'lock-acquire', acquired: true, token: 1n, validUntilMonoMs: NaN })).toThrow(
      'ok record field "result.validUntilMonoMs": must be a finite number',
    );
    // The operation may still be completed properly.
    acquire.ok({ kind: 'lock-acquire', acquired: true, token: 1n, validUntilMonoMs: 99 });
    expect(() => chaos.startFault('Kill -9', [], '')).toThrow('fault record field "kind"');
    expect(records.map((record) => record.type)).toEqual(['invoke', 'ok']);
  });
});
