import { ChaosHistoryBuilder, put, txnOk, txnPutAll } from '../../testing';
import { indexChaosHistory, recordsOf } from '../history-index';
import type { ChaosRecord, FinalReadRecord } from '../records';
import { checkTransactionAtomicity } from './transaction-atomicity';

const pair = ['chaos-txn/{3}/a', 'chaos-txn/{3}/b'];
const [a, b] = pair as [string, string];
/** The workload's pair txn: compares the first key, puts the value to both. */
const pairTxn = (value: string) =>
  txnPutAll(pair, value, { compares: [{ key: a, target: 'version', operator: 'greater', version: 0n }] });

function recordsOfOps(records: readonly ChaosRecord[], opIds: readonly number[]): ChaosRecord[] {
  const history = indexChaosHistory(records);
  return history.operations.filter((operation) => opIds.includes(operation.opId)).flatMap(recordsOf);
}

const finalReadOf = (records: readonly ChaosRecord[], member: string) =>
  records.find((record): record is FinalReadRecord => record.type === 'final-read' && record.member === member);

describe('checkTransactionAtomicity', () => {
  it('reports a final read that holds part of a pair transaction, with the transactions of the values it holds', () => {
    const history = new ChaosHistoryBuilder();
    const first = history.ok('c1', pairTxn('t1'), [0, 10], txnOk(true));
    const second = history.ok('c2', pairTxn('t2'), [20, 30], txnOk(true));
    history.finalRead('group-a', 'replica-a1', 100, 'd1', { [a]: 't2', [b]: 't2', other: 'x' });
    history.finalRead('group-a', 'replica-a2', 100, 'd2', { [a]: 't2', [b]: 't1', other: 'x' });
    const records = history.records;

    const result = checkTransactionAtomicity(records);

    expect(result).toEqual({
      anomalies: [
        {
          kind: 'torn-transaction',
          description:
            'group-a: the final read of replica-a2 holds a torn transaction over "chaos-txn/{3}/a", ' +
            '"chaos-txn/{3}/b", which only transactions of all of them wrote: "chaos-txn/{3}/a" holds "t2" ' +
            '(txn #2 by c2), "chaos-txn/{3}/b" holds "t1" (txn #1 by c1)',
          records: [...recordsOfOps(records, [first, second]), finalReadOf(records, 'replica-a2')],
          keys: pair,
          group: 'group-a',
          member: 'replica-a2',
          values: ['t2', 't1'],
          opIds: [second, first],
        },
      ],
      anomalyCount: 1,
      keySetsChecked: 1,
      keySetsSkipped: 0,
      finalReadsChecked: 2,
    });
  });

  it('reports a larger set with a key left absent, and a value no transaction of the set wrote', () => {
    const history = new ChaosHistoryBuilder();
    const keys = ['s/x', 's/y', 's/z'];
    const only = history.ok('c1', txnPutAll(keys, 'v1'), [0, 10], txnOk(true));
    history.finalRead('group-b', 'replica-b1', 100, 'd', { 's/x': 'v1', 's/y': null, 's/z': 'ghost' });
    const records = history.records;

    const [anomaly] = checkTransactionAtomicity(records).anomalies;

    expect(anomaly).toMatchObject({ keys, group: 'group-b', values: ['v1', null, 'ghost'], opIds: [only] });
    expect(anomaly?.description).toContain(
      '"s/x" holds "v1" (txn #1 by c1), "s/y" holds absent, "s/z" holds "ghost" (which no transaction of the set wrote)',
    );
    expect(anomaly?.records).toEqual([...recordsOfOps(records, [only]), finalReadOf(records, 'replica-b1')]);
  });

  it('accepts whole transactions: applied, never applied, unknown either way, refused, or a compare that failed', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', pairTxn('t1'), [0, 10], txnOk(true));
    // Its compare failed, and its failure branch is empty: it wrote nothing.
    history.ok('c2', pairTxn('t2'), [20, 30], txnOk(false));
    history.unknown('c3', pairTxn('t3'), [40, 50]);
    history.fail('c4', pairTxn('t4'), [60, 70]);
    history.finalRead('group-a', 'replica-a1', 100, 'd', { [a]: 't1', [b]: 't1' });
    history.finalRead('group-a', 'replica-a2', 100, 'd', { [a]: 't3', [b]: 't3' });
    history.finalRead('group-a', 'replica-a3', 100, 'd', { [a]: null, [b]: null });
    history.finalReadFailed('group-a', 'replica-a4', 100);

    expect(checkTransactionAtomicity(history.records)).toEqual({
      anomalies: [],
      anomalyCount: 0,
      keySetsChecked: 1,
      keySetsSkipped: 0,
      finalReadsChecked: 3,
    });
  });

  it('skips a set that another write may have touched: a put, another set, a failure branch that may have been written', () => {
    const history = new ChaosHistoryBuilder();
    const torn = { [a]: 't1', [b]: 'other' };
    // A put of one key of the pair.
    history.ok('c1', pairTxn('t1'), [0, 10], txnOk(true));
    history.unknown('c2', put(b, 'other'), [20, null]);
    // Two sets sharing key m/2.
    history.ok('c1', txnPutAll(['m/1', 'm/2'], 'm'), [0, 10], txnOk(true));
    history.ok('c1', txnPutAll(['m/2', 'm/3'], 'n'), [20, 30], txnOk(true));
    // A failure branch an unknown transaction may have written instead.
    const failure = [{ type: 'put' as const, key: 'f/1', value: 'half' }];
    history.unknown('c3', txnPutAll(['f/1', 'f/2'], 'f', { failure }), [0, null]);
    // A transaction that writes two values, or deletes, is no set either; nor is one key.
    history.ok(
      'c1',
      {
        kind: 'txn',
        compares: [],
        success: [
          { type: 'put', key: 'u/1', value: 'u' },
          { type: 'put', key: 'u/2', value: 'w' },
          { type: 'delete', key: 'u/3' },
        ],
        failure: [],
        durability: 'sync',
      },
      [0, 10],
      txnOk(true),
    );
    history.ok('c1', txnPutAll(['single'], 's'), [0, 10], txnOk(true));
    history.finalRead('group-a', 'replica-a1', 100, 'd', {
      ...torn,
      'm/1': 'm',
      'm/2': 'n',
      'm/3': 'n',
      'f/1': 'half',
      'f/2': null,
      'u/1': 'u',
      'u/2': 'w',
      'u/3': null,
      single: 's',
    });

    expect(checkTransactionAtomicity(history.records)).toEqual({
      anomalies: [],
      anomalyCount: 0,
      keySetsChecked: 0,
      keySetsSkipped: 4,
      finalReadsChecked: 0,
    });
  });

  it('checks a set whose transactions may have written a failure branch of other keys', () => {
    const history = new ChaosHistoryBuilder();
    const failure = [{ type: 'put' as const, key: 'log', value: 'refused' }];
    history.ok('c1', txnPutAll(pair, 't1', { failure }), [0, 10], txnOk(false));
    const maybe = history.unknown('c2', txnPutAll(pair, 't2', { failure }), [20, null]);
    history.finalRead('group-a', 'replica-a1', 100, 'd', { [a]: null, [b]: 't2', log: 'refused' });
    expect(checkTransactionAtomicity(history.records)).toMatchObject({
      anomalies: [{ kind: 'torn-transaction', values: [null, 't2'], opIds: [maybe] }],
      keySetsChecked: 1,
      keySetsSkipped: 0,
      finalReadsChecked: 1,
    });
  });

  it('checks only final reads that hold every key of the set', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', pairTxn('t1'), [0, 10], txnOk(true));
    history.finalRead('group-a', 'replica-a1', 100, 'd', { [a]: 't1' });
    history.finalRead('group-b', 'replica-b1', 100, 'd', { elsewhere: 'x' });
    expect(checkTransactionAtomicity(history.records)).toMatchObject({
      anomalyCount: 0,
      keySetsChecked: 1,
      finalReadsChecked: 0,
    });
  });

  it('keeps the first anomaliesMax and counts them all', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', pairTxn('t1'), [0, 10], txnOk(true));
    for (const member of ['replica-a1', 'replica-a2', 'replica-a3']) {
      history.finalRead('group-a', member, 100, 'd', { [a]: 't1', [b]: null });
    }
    const result = checkTransactionAtomicity(history.records, { anomaliesMax: 1 });
    expect(result.anomalyCount).toBe(3);
    expect(result.anomalies.map(({ member }) => member)).toEqual(['replica-a1']);
  });
});
