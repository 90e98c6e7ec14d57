import { seededUniform } from '@bulwark/random';
import type { FailpointName } from './catalog';
import { onPowerLoss, simulatePowerLoss, type CrashAction } from './crash';
import { FailpointRegistry } from './registry';
import { parseFailpointSetting } from './spec';

/** A registry whose crashes are recorded, not done, and whose chances come from a seeded generator. */
function recordingRegistry(seed = 1) {
  const crashes: Array<[FailpointName, CrashAction]> = [];
  const registry = new FailpointRegistry({
    random: seededUniform(seed),
    crash: (name, action) => crashes.push([name, action]),
  });
  const set = (service: string, name: string, term: string) => registry.set(parseFailpointSetting(service, name, term));
  return { registry, crashes, set };
}

/** The error a pass throws, or undefined. */
function thrownBy(pass: () => void): NodeJS.ErrnoException | undefined {
  try {
    pass();
    return undefined;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

describe('FailpointRegistry', () => {
  it('does nothing at any point while nothing is enabled, and lists every point as off', () => {
    const { registry, crashes } = recordingRegistry();
    registry.pass('replica.wal.beforeFsync');
    expect(registry.passAsync('paxos.wal.beforeWrite')).toBeUndefined();
    expect(registry.isOn('replica.acknowledgeBeforeReplicated')).toBe(false);
    expect(crashes).toEqual([]);
    expect(registry.list().every((state) => state.action === 'off' && state.fired === 0)).toBe(true);
  });

  it('crashes at the point it is set on, the way it is told, and nowhere else', () => {
    const { registry, crashes, set } = recordingRegistry();
    set('replica', 'replica.wal.beforeFsync', 'crash-lose-unsynced');
    set('coordinator', 'paxos.ready.beforeSend', 'crash');
    registry.pass('replica.wal.beforeWrite');
    registry.pass('replica.wal.beforeFsync');
    expect(registry.passAsync('paxos.ready.beforeSend')).toBeUndefined();
    expect(crashes).toEqual([
      ['replica.wal.beforeFsync', 'crash-lose-unsynced'],
      ['paxos.ready.beforeSend', 'crash'],
    ]);
  });

  it("throws an error shaped as Node's fs throws it, naming the failpoint, as often as its count says", () => {
    const { registry, set } = recordingRegistry();
    set('replica', 'replica.wal.beforeFsync', '2*error(EIO)');
    const first = thrownBy(() => registry.pass('replica.wal.beforeFsync'));
    expect(first).toBeInstanceOf(Error);
    expect(first?.message).toBe('EIO: i/o error, fdatasync (failpoint replica.wal.beforeFsync)');
    expect({ code: first?.code, errno: first?.errno, syscall: first?.syscall }).toEqual({
      code: 'EIO',
      errno: -5,
      syscall: 'fdatasync',
    });
    expect(thrownBy(() => registry.passAsync('replica.wal.beforeFsync'))?.code).toBe('EIO');
    // The count is used up: off again, and listed as off with what it did.
    expect(thrownBy(() => registry.pass('replica.wal.beforeFsync'))).toBeUndefined();
    expect(registry.list(['replica.wal.beforeFsync'])).toEqual([
      expect.objectContaining({ name: 'replica.wal.beforeFsync', kind: 'io', action: 'off', fired: 2 }),
    ]);
    set('replica', 'file.replace.beforeRename', 'error(ENOSPC)');
    const full = thrownBy(() => registry.pass('file.replace.beforeRename'));
    expect({ code: full?.code, errno: full?.errno, syscall: full?.syscall }).toEqual({
      code: 'ENOSPC',
      errno: -28,
      syscall: 'rename',
    });
  });

  it('fires with the chance it is given, from the generator it is given', () => {
    const { registry, set } = recordingRegistry(7);
    set('replica', 'replica.acknowledgeBeforeReplicated', '30%on');
    let on = 0;
    for (let pass = 0; pass < 10_000; pass++) if (registry.isOn('replica.acknowledgeBeforeReplicated')) on++;
    expect(on).toBeGreaterThan(2_800);
    expect(on).toBeLessThan(3_200);
    expect(registry.list(['replica.acknowledgeBeforeReplicated'])[0]).toMatchObject({ action: '30%on', fired: on });
    // The same seed, the same passes fire.
    const again = recordingRegistry(7);
    again.set('replica', 'replica.acknowledgeBeforeReplicated', '30%on');
    let onAgain = 0;
    for (let pass = 0; pass < 10_000; pass++) if (again.registry.isOn('replica.acknowledgeBeforeReplicated')) onAgain++;
    expect(onAgain).toBe(on);
  });

  it('counts only the passes that fire, with a chance and a count together', () => {
    const { registry, crashes, set } = recordingRegistry(3);
    set('replica', 'replica.ready.beforeSend', '10%3*crash');
    let passes = 0;
    while (crashes.length < 3 && passes < 10_000) {
      registry.pass('replica.ready.beforeSend');
      passes++;
    }
    expect(crashes.length).toBe(3);
    expect(passes).toBeGreaterThan(3);
    for (let pass = 0; pass < 1_000; pass++) registry.pass('replica.ready.beforeSend');
    expect(crashes.length).toBe(3);
  });

  it('turns a point off, and on again with a fresh count, keeping the total it fired', () => {
    const { registry, crashes, set } = recordingRegistry();
    set('replica', 'replica.wal.afterFsync', '1*crash');
    registry.pass('replica.wal.afterFsync');
    set('replica', 'replica.wal.afterFsync', '1*crash');
    set('replica', 'replica.wal.afterFsync', 'off');
    registry.pass('replica.wal.afterFsync');
    set('replica', 'replica.wal.afterFsync', '1*crash');
    registry.pass('replica.wal.afterFsync');
    expect(crashes.length).toBe(2);
    expect(registry.list(['replica.wal.afterFsync'])[0]).toMatchObject({ action: 'off', fired: 2 });
  });

  it('sleeps blocking the process in pass, and only the operation in passAsync', async () => {
    const { registry, set } = recordingRegistry();
    set('replica', 'replica.ready.beforeApply', 'sleep(40)');
    const blockedFrom = performance.now();
    registry.pass('replica.ready.beforeApply');
    expect(performance.now() - blockedFrom).toBeGreaterThanOrEqual(35);

    set('replica', 'replica.wal.beforeWrite', 'sleep(40)');
    const sleptFrom = performance.now();
    const events: string[] = [];
    const slept = registry.passAsync('replica.wal.beforeWrite')?.then(() => events.push('slept'));
    setImmediate(() => events.push('event loop ran'));
    await slept;
    expect(performance.now() - sleptFrom).toBeGreaterThanOrEqual(35);
    expect(events).toEqual(['event loop ran', 'slept']);
  });
});

describe('simulatePowerLoss', () => {
  it('runs every handler, and throws the first failure once all have run', () => {
    const ran: string[] = [];
    onPowerLoss(() => ran.push('first'));
    onPowerLoss(() => {
      throw new Error('EBADF');
    });
    onPowerLoss(() => ran.push('third'));
    expect(() => simulatePowerLoss()).toThrow('EBADF');
    expect(ran).toEqual(['first', 'third']);
  });
});
