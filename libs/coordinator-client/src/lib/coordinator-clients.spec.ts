import { CoordinatorClients, hintedClientsMax } from './coordinator-clients';

describe('CoordinatorClients', () => {
  it('keeps the configured clients, and only the most recently used hinted ones beyond them', () => {
    const clients = new CoordinatorClients(['127.0.0.1:1', '127.0.0.1:2']);
    try {
      const configured = clients.get('127.0.0.1:1');
      const hinted = Array.from({ length: hintedClientsMax + 1 }, (_, index) => `127.0.0.2:${index + 1}`);
      const [oldest, older] = [clients.get(hinted[0] as string), clients.get(hinted[1] as string)];
      // Used again: the oldest becomes the most recent, so the one after it is the least recently used.
      expect(clients.get(hinted[0] as string)).toBe(oldest);
      for (const address of hinted.slice(2)) clients.get(address);
      // One hinted client too many: the least recently used went (its address gets a new client), no other.
      expect(clients.get(hinted[0] as string)).toBe(oldest);
      expect(clients.get(hinted[1] as string)).not.toBe(older);
      expect(clients.get('127.0.0.1:1')).toBe(configured);
    } finally {
      clients.close();
    }
    expect(clients.isClosed).toBe(true);
    expect(() => clients.get('127.0.0.1:1')).toThrow('closed');
  });
});
