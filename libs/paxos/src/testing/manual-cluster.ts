// A hand-driven cluster for scenario tests: the test decides when each node
// ticks, which messages are delivered and which links are cut, so edge cases
// read as a script (etcd-raft's interaction tests in spirit).
import { seededUniform } from '@bulwark/random';
import { defaultPaxosSettings, type PaxosSettings } from '../lib/config';
import type { Entry, Message } from '../lib/messages';
import { PaxosNode } from '../lib/node';
import { MemoryStorage } from './memory-storage';
import { MutantPaxosNode, type CoreMutation } from './mutant-node';

/** Rounds of delivery before `deliverAll` gives up: a protocol that never quiets down is a bug. */
const deliveryRoundsMax = 1_000;

export class ManualCluster {
  readonly settings: PaxosSettings;
  readonly storages = new Map<string, MemoryStorage>();
  readonly applied = new Map<string, Entry[]>();
  readonly sent: Message[] = [];
  private readonly nodes = new Map<string, PaxosNode>();
  private readonly cutLinks = new Set<string>();
  private queue: Message[] = [];
  private readonly random: () => number;

  constructor(
    readonly ids: string[],
    settings: Partial<PaxosSettings> = {},
    seed = 1,
    /** A planted bug every node carries (see mutant-node.ts). */
    private readonly mutation?: CoreMutation,
  ) {
    this.settings = { ...defaultPaxosSettings, ...settings };
    this.random = seededUniform(seed);
    for (const id of ids) {
      this.storages.set(id, new MemoryStorage());
      this.start(id);
    }
  }

  node(id: string): PaxosNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`${id} is down`);
    return node;
  }

  isUp(id: string): boolean {
    return this.nodes.has(id);
  }

  leaders(): string[] {
    return [...this.nodes.values()].filter((node) => node.role === 'leader').map((node) => node.id);
  }

  start(id: string): void {
    const storage = this.storages.get(id) as MemoryStorage;
    const node = this.mutation
      ? new MutantPaxosNode(this.mutation, id, this.ids, this.settings, storage.recover(), this.random)
      : new PaxosNode(id, this.ids, this.settings, storage.recover(), this.random);
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.process(node);
  }

  crash(id: string): void {
    this.nodes.delete(id);
    this.queue = this.queue.filter((message) => message.to !== id && message.from !== id);
  }

  /** Cuts both directions between a and b. */
  cut(a: string, b: string): void {
    this.cutLinks.add(`${a}>${b}`);
    this.cutLinks.add(`${b}>${a}`);
  }

  /** Cuts every link of id. */
  isolate(id: string): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
  }

  tick(id: string, times = 1): void {
    for (let i = 0; i < times; i++) {
      const node = this.nodes.get(id);
      if (!node) return;
      node.tick();
      this.process(node);
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.ids) this.tick(id);
  }

  /** Delivers queued messages (and those they cause) until none are left; returns how many. */
  deliverAll(accept: (message: Message) => boolean = () => true): number {
    let delivered = 0;
    for (let round = 0; this.queue.length > 0; round++) {
      if (round >= deliveryRoundsMax) throw new Error('messages never stopped flowing');
      const batch = this.queue;
      this.queue = [];
      for (const message of batch) {
        const node = this.nodes.get(message.to);
        if (!node || this.cutLinks.has(`${message.from}>${message.to}`) || !accept(message)) continue;
        node.receive(message);
        this.process(node);
        delivered++;
      }
    }
    return delivered;
  }

  /** Delivers one message now, as if it had been delayed until this moment. */
  deliverLate(message: Message): void {
    const node = this.node(message.to);
    node.receive(message);
    this.process(node);
  }

  /** Ticks and delivers until one leader serves local reads; throws after maxTicks. */
  electLeader(maxTicks = 200): string {
    for (let tick = 0; tick < maxTicks; tick++) {
      const ready = [...this.nodes.values()].find((node) => node.canReadLocally());
      if (ready) return ready.id;
      this.tickAll();
      this.deliverAll();
    }
    throw new Error(`no leader within ${maxTicks} ticks`);
  }

  propose(id: string, command: string): bigint {
    const result = this.node(id).propose(new TextEncoder().encode(command));
    this.process(this.node(id));
    if (!result.ok) throw new Error(`${id} refused the proposal: ${result.reason}`);
    return result.slot;
  }

  /** The applied commands of a node, no-ops shown as "". */
  log(id: string): string[] {
    return (this.applied.get(id) ?? []).map((entry) => new TextDecoder().decode(entry.command));
  }

  /** Runs the node's Readys as the runner does, each to completion: send, persist, send, apply, advance. */
  private process(node: PaxosNode): void {
    while (node.hasReady()) {
      const ready = node.takeReady();
      this.sent.push(...ready.sendBeforePersist);
      this.queue.push(...ready.sendBeforePersist);
      if (ready.persist) this.storages.get(node.id)?.apply(ready.persist);
      const log = this.applied.get(node.id) as Entry[];
      if (ready.snapshotToApply) {
        const restored = JSON.parse(new TextDecoder().decode(ready.snapshotToApply.data)) as string[];
        log.splice(
          0,
          log.length,
          ...restored.map((command, index) => ({
            slot: BigInt(index + 1),
            command: new TextEncoder().encode(command),
          })),
        );
      }
      log.push(...ready.committed);
      this.sent.push(...ready.messages);
      this.queue.push(...ready.messages);
      node.advance();
    }
  }

  /** Snapshot of a node's applied log (the manual cluster's state machine is the log itself). */
  compact(id: string): void {
    const node = this.node(id);
    const data = new TextEncoder().encode(JSON.stringify(this.log(id)));
    node.compact(node.appliedSlot, data);
    this.process(node);
  }
}
