import { occurrence } from './occurrence';

describe('occurrence', () => {
  it('resolves with the first signal, and later signals change nothing', async () => {
    const arrived = occurrence<string>();
    arrived.signal('first');
    arrived.signal('second');
    await expect(arrived.happened).resolves.toBe('first');
  });

  it('stays pending until signalled', async () => {
    const arrived = occurrence();
    const settled = await Promise.race([arrived.happened.then(() => 'signalled'), Promise.resolve('pending')]);
    expect(settled).toBe('pending');
    arrived.signal();
    await expect(arrived.happened).resolves.toBeUndefined();
  });
});
