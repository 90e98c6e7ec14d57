// The peer transport over real gRPC on loopback: messages a runner sends in
// one turn arrive in order, large ones are split into bounded batches, and a
// peer that restarts is reached again without anyone restarting the sender.
import { Writable } from 'node:stream';
import { paxosV1 } from '@bulwark/contracts';
import { createLogger } from '@bulwark/logging';
import type { Message } from '@bulwark/paxos';
import { startServer, type RunningServer } from '@bulwark/rpc';
import { freePort } from '@bulwark/testing';
import { encodePaxosMessage } from './paxos-codec';
import { batchBytesMax, encodedBytesEstimate, PaxosTransport, peerQueueBytesMax } from './paxos-transport';
import { snapshotChunkBytes } from './snapshot-chunks';

const logger = createLogger({
  service: 'test',
  memberId: 'a',
  level: 'fatal',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});
const ballot = { round: 1n, nodeId: 'a' };

function accept(slot: bigint, commandBytes = 8): Message {
  return {
    type: 'accept',
    from: 'a',
    to: 'b',
    ballot,
    entries: [{ slot, command: new Uint8Array(commandBytes).fill(Number(slot % 251n)) }],
    commitSlot: 0n,
  };
}

/** Member b: a server whose transport delivers into `received`, and waits for a count. */
class Receiver {
  readonly received: Message[] = [];
  private server: RunningServer | undefined;
  private waiting: { count: number; resolve: () => void } | undefined;

  async start(port = 0): Promise<number> {
    const transport = new PaxosTransport('b', [], logger);
    this.server = await startServer({ address: `127.0.0.1:${port}`, logger, drainDeadlineMs: 1_000 }, (kit) => [
      transport.service(kit, (message) => {
        this.received.push(message);
        if (this.waiting && this.received.length >= this.waiting.count) this.waiting.resolve();
      }),
    ]);
    return this.server.port;
  }

  until(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiting = { count, resolve }));
  }

  async stop(): Promise<void> {
    await this.server?.drain('test over');
  }
}

describe('PaxosTransport', () => {
  let receiver: Receiver;
  let sender: PaxosTransport;
  let port: number;

  beforeEach(async () => {
    receiver = new Receiver();
    port = await receiver.start();
    sender = new PaxosTransport('a', [{ id: 'b', address: `127.0.0.1:${port}` }], logger);
  });

  afterEach(async () => {
    sender.close();
    await receiver.stop();
  });

  it('delivers what one turn sends, in order, on the peer stream', async () => {
    const messages = Array.from({ length: 2_000 }, (_, index) => accept(BigInt(index + 1)));
    sender.send(messages);
    await receiver.until(messages.length);
    const slots = receiver.received.map((message) => (message.type === 'accept' ? message.entries[0]!.slot : -1n));
    expect(slots).toEqual(messages.map((_, index) => BigInt(index + 1)));
  });

  it('splits large messages into batches within the byte bound, and still delivers them all', async () => {
    // Three 3 MiB accepts: no two fit one 4 MiB batch (the receiving server refuses a larger
    // message by default), and each still goes, alone.
    const large = [1n, 2n, 3n].map((slot) => accept(slot, 3 * 1024 * 1024));
    expect(encodedBytesEstimate(encodePaxosMessage(large[0]!)) * 2).toBeGreaterThan(batchBytesMax);
    sender.send(large);
    await receiver.until(3);
    expect(
      receiver.received.map((message) => (message.type === 'accept' ? message.entries[0]!.command.byteLength : 0)),
    ).toEqual([3 * 1024 * 1024, 3 * 1024 * 1024, 3 * 1024 * 1024]);
  });

  it('reaches a peer again after it restarts on the same address', async () => {
    sender.send([accept(1n)]);
    await receiver.until(1);
    await receiver.stop();
    const restarted = new Receiver();
    await restarted.start(port);
    receiver = restarted;
    // Paxos resends what matters; here the sender keeps sending until the new server hears it.
    const resend = setInterval(() => sender.send([accept(2n)]), 20);
    try {
      await restarted.until(1);
    } finally {
      clearInterval(resend);
    }
    expect(restarted.received[0]).toMatchObject({ type: 'accept', from: 'a' });
  });

  it('sends a snapshot larger than a chunk in chunks, delivered whole and only once complete', async () => {
    const data = new Uint8Array(snapshotChunkBytes * 5 + 123).map((_, index) => index % 251);
    const snapshot: Message = { type: 'installSnapshot', from: 'a', to: 'b', ballot, snapshot: { lastSlot: 9n, data } };
    // Every chunk passes the receiving server's default 4 MiB limit, which the whole would not.
    sender.send([snapshot, accept(10n)]);
    await receiver.until(2);
    const [installed, after] = receiver.received;
    expect(installed).toMatchObject({ type: 'installSnapshot', snapshot: { lastSlot: 9n } });
    expect(
      installed?.type === 'installSnapshot' && Buffer.from(installed.snapshot.data).equals(Buffer.from(data)),
    ).toBe(true);
    expect(after).toMatchObject({ type: 'accept' });
  });

  it('bounds what it queues for a peer that is away in bytes, dropping the oldest', async () => {
    const away = new PaxosTransport('a', [{ id: 'c', address: `127.0.0.1:${await freePort()}` }], logger);
    try {
      const oneMiB = 1024 * 1024;
      away.send(Array.from({ length: 100 }, (_, index) => ({ ...accept(BigInt(index + 1), oneMiB), to: 'c' })));
      const backlog = away.backlog('c')!;
      expect(backlog.bytes).toBeLessThanOrEqual(peerQueueBytesMax);
      expect(backlog.bytes).toBeGreaterThan(peerQueueBytesMax - 2 * oneMiB);
      expect(backlog.dropped).toBe(100 - backlog.messages);
    } finally {
      away.close();
    }
  });

  it('estimates the encoded size of every kind of message from above', () => {
    const promise: Message = {
      type: 'promise',
      from: 'a',
      to: 'b',
      ballot,
      accepted: [{ slot: 1n, ballot, command: new Uint8Array(10) }],
      commitSlot: 0n,
      logStart: 1n,
    };
    const snapshot: Message = {
      type: 'installSnapshot',
      from: 'a',
      to: 'b',
      ballot,
      snapshot: { lastSlot: 5n, data: new Uint8Array(20) },
    };
    const heartbeat: Message = { type: 'heartbeat', from: 'a', to: 'b', ballot, commitSlot: 0n, sentTick: 1n };
    const accepted: Message = { type: 'accepted', from: 'a', to: 'b', ballot, slots: [1n, 2n, 3n] };
    const manyEntries: Message = {
      type: 'accept',
      from: 'a',
      to: 'b',
      ballot,
      entries: Array.from({ length: 256 }, (_, index) => ({
        slot: 2n ** 40n + BigInt(index),
        command: new Uint8Array(0),
      })),
      commitSlot: 2n ** 40n,
    };
    for (const message of [promise, snapshot, heartbeat, accepted, accept(1n, 30), manyEntries]) {
      const wire = encodePaxosMessage(message);
      expect(encodedBytesEstimate(wire)).toBeGreaterThanOrEqual(paxosV1.Message.encode(wire).finish().byteLength);
    }
  });
});
