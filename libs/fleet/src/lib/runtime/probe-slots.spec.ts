import { ProbeSlots } from './probe-slots';

describe('ProbeSlots', () => {
  it('hands a released slot to the next waiter, in order', async () => {
    const slots = new ProbeSlots(1);
    const signal = new AbortController().signal;
    const order: string[] = [];
    const releaseFirst = await slots.acquire(signal);
    const second = slots.acquire(signal).then((release) => {
      order.push('second');
      return release;
    });
    const third = slots.acquire(signal).then((release) => {
      order.push('third');
      release();
    });
    releaseFirst();
    releaseFirst(); // a second release changes nothing
    (await second)();
    await third;
    expect(order).toEqual(['second', 'third']);
    // Every slot is free again: two acquisitions with one slot would block.
    (await slots.acquire(signal))();
  });

  it('lets an aborted waiter go without taking a slot', async () => {
    const slots = new ProbeSlots(1);
    const release = await slots.acquire(new AbortController().signal);
    const aborted = new AbortController();
    const waiting = slots.acquire(aborted.signal);
    aborted.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    release();
    (await slots.acquire(new AbortController().signal))();
  });
});
