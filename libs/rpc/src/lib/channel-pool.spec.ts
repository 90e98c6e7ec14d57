import { ChannelPool } from './channel-pool';

class FakeClient {
  closed = false;
  constructor(readonly address: string) {}
  close(): void {
    this.closed = true;
  }
}

function pool(clientsMax?: number) {
  const made: FakeClient[] = [];
  const channels = new ChannelPool(
    (address) => {
      const client = new FakeClient(address);
      made.push(client);
      return client;
    },
    () => new Error('closed'),
    clientsMax,
  );
  return { channels, made };
}

describe('ChannelPool', () => {
  it('makes one client per address on first use and reuses it', () => {
    const { channels, made } = pool();
    const first = channels.get('a:1');
    expect(channels.get('a:1')).toBe(first);
    channels.get('b:2');
    expect(made.map((client) => client.address)).toEqual(['a:1', 'b:2']);
  });

  it('lists addresses least recently used first', () => {
    const { channels } = pool();
    channels.get('a:1');
    channels.get('b:2');
    channels.get('c:3');
    channels.get('a:1');
    expect(channels.addresses()).toEqual(['b:2', 'c:3', 'a:1']);
  });

  it('keeps at most clientsMax clients, closing the least recently used', () => {
    const { channels, made } = pool(2);
    channels.get('a:1');
    channels.get('b:2');
    channels.get('a:1');
    channels.get('c:3');
    expect(channels.addresses()).toEqual(['a:1', 'c:3']);
    expect(made.filter((client) => client.closed).map((client) => client.address)).toEqual(['b:2']);
  });

  it('closes a dropped client, and makes a new one on the next use', () => {
    const { channels, made } = pool();
    const first = channels.get('a:1');
    channels.drop('a:1');
    expect(first.closed).toBe(true);
    expect(channels.addresses()).toEqual([]);
    expect(channels.get('a:1')).not.toBe(first);
    expect(made).toHaveLength(2);
  });

  it('closes every client once, and refuses to make more', () => {
    const { channels, made } = pool();
    channels.get('a:1');
    channels.get('b:2');
    channels.close();
    channels.close();
    expect(made.every((client) => client.closed)).toBe(true);
    expect(channels.isClosed).toBe(true);
    expect(() => channels.get('a:1')).toThrow('closed');
  });
});
