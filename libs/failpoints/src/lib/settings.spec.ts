import { loadConfig, loadConfigOrExit } from '@bulwark/config';
import { failpointSettings } from './settings';

const replicaConfig = (env: NodeJS.ProcessEnv) => loadConfig(failpointSettings('replica'), env);

describe('failpointSettings', () => {
  it('reads nothing set and no control endpoint when the variables are unset or blank', () => {
    expect(replicaConfig({})).toEqual({ failpoints: [], failpointsAddress: undefined });
    expect(replicaConfig({ BULWARK_FAILPOINTS: ' ', BULWARK_FAILPOINTS_ADDR: '' })).toEqual({
      failpoints: [],
      failpointsAddress: undefined,
    });
  });

  it('reads the failpoints to set at start and the address of the control endpoint', () => {
    const config = replicaConfig({
      BULWARK_FAILPOINTS: 'replica.wal.beforeFsync=crash;replica.acknowledgeBeforeReplicated=on',
      BULWARK_FAILPOINTS_ADDR: '127.77.0.5:0',
    });
    expect(config.failpoints.map((setting) => setting.name)).toEqual([
      'replica.wal.beforeFsync',
      'replica.acknowledgeBeforeReplicated',
    ]);
    expect(config.failpointsAddress).toEqual({ host: '127.77.0.5', port: 0 });
  });

  it.each([
    [
      { BULWARK_FAILPOINTS: 'wal.beforeFsync=crash' },
      /^BULWARK_FAILPOINTS: wal\.beforeFsync: is not a failpoint of the replica; its failpoints are /,
    ],
    [
      { BULWARK_FAILPOINTS: 'replica.wal.beforeFsync=explode' },
      /^BULWARK_FAILPOINTS: replica\.wal\.beforeFsync: must be off, on, crash, .*, got "explode"$/,
    ],
    [
      { BULWARK_FAILPOINTS: 'replica.acknowledgeBeforeReplicated=crash' },
      'BULWARK_FAILPOINTS: replica.acknowledgeBeforeReplicated: takes on or off, got "crash"',
    ],
    [{ BULWARK_FAILPOINTS_ADDR: 'localhost' }, 'BULWARK_FAILPOINTS_ADDR: must be host:port, got "localhost"'],
    [
      { BULWARK_FAILPOINTS_ADDR: '127.0.0.1:70000' },
      'BULWARK_FAILPOINTS_ADDR: port must be between 0 and 65535, got 70000',
    ],
  ])('refuses %j naming the variable and the failpoint', (env, message) => {
    expect(() => replicaConfig(env)).toThrow(message);
  });

  it('makes a service exit 2 with one line naming the variable', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    const written: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
      written.push(String(text));
      return true;
    });
    try {
      expect(() =>
        loadConfigOrExit('coordinator', failpointSettings('coordinator'), {
          BULWARK_FAILPOINTS: 'paxos.wal.beforeFsync=error(EBADF)',
        }),
      ).toThrow('exit 2');
      expect(written).toEqual([
        'coordinator: invalid configuration: BULWARK_FAILPOINTS: paxos.wal.beforeFsync: error takes EIO or ENOSPC, got "error(EBADF)"\n',
      ]);
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
    }
  });
});
