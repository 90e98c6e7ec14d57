// The smallest real fleet a KV client can use: 3 coordinators (a Paxos
// group needs a majority), one replica group of 3 and routers, each a
// process started from dist/ (run `npm run -s build` first) on a free
// 127.0.0.1 port, with its data in a temporary directory removed by stop().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startService, waitForServing, type ManagedProcess, type ServiceApp } from '@bulwark/testing';
import { KvClient } from '../lib/kv-client';

export const kvFleetGroupId = 'group-a';
const replicaIds = ['replica-1', 'replica-2', 'replica-3'];
const coordinatorIds = ['coordinator-1', 'coordinator-2', 'coordinator-3'];
/** Starting a process, electing a leader, creating the group and putting it on the ring, on a busy 2-core machine. */
const readyTimeoutMs = 60_000;

export interface KvFleetMember {
  readonly id: string;
  readonly address: string;
  readonly process: ManagedProcess;
}

export class KvFleet {
  private constructor(
    /** A directory for the fleet's data and anything else the test keeps until stop(). */
    readonly scratch: string,
    private readonly members: Map<string, KvFleetMember>,
  ) {}

  /** Starts the fleet and waits until a write through every router is answered. */
  static async start(options: { routers?: number } = {}): Promise<KvFleet> {
    const fleet = new KvFleet(mkdtempSync(join(tmpdir(), 'bulwark-kv-fleet-')), new Map());
    try {
      const coordinatorPorts = await Promise.all(coordinatorIds.map(() => freePort()));
      const peers = coordinatorIds.map((id, index) => `${id}=127.0.0.1:${coordinatorPorts[index]}`).join(',');
      for (const [index, id] of coordinatorIds.entries()) {
        fleet.start(id, 'coordinator', coordinatorPorts[index] as number, {
          BULWARK_PEERS: peers,
          BULWARK_DATA_DIR: join(fleet.scratch, id),
        });
      }
      const coordinators = fleet.coordinators.join(',');
      for (const id of replicaIds) {
        fleet.start(id, 'replica', await freePort(), {
          BULWARK_COORDINATORS: coordinators,
          BULWARK_GROUP_ID: kvFleetGroupId,
          BULWARK_GROUP_MEMBERS: replicaIds.join(','),
          BULWARK_DATA_DIR: join(fleet.scratch, id),
        });
      }
      for (let index = 1; index <= (options.routers ?? 2); index++) {
        fleet.start(`router-${index}`, 'router', await freePort(), { BULWARK_COORDINATORS: coordinators });
      }
      await Promise.all(
        [...fleet.members.values()].map((member) =>
          waitForServing(member.address, readyTimeoutMs, { process: member.process }),
        ),
      );
      // A router answers UNAVAILABLE, retrying until the deadline, until its ring names the group and the group
      // has a primary: one answered write per router is the event that says all of that happened.
      for (const router of fleet.routers) {
        const client = new KvClient({ endpoints: [router], callTimeoutMs: readyTimeoutMs });
        try {
          await client.put('kv-fleet/ready', router);
        } finally {
          client.close();
        }
      }
      return fleet;
    } catch (error) {
      await fleet.stop();
      throw error;
    }
  }

  get coordinators(): string[] {
    return coordinatorIds.map((id) => this.member(id).address);
  }

  get routers(): string[] {
    return [...this.members.keys()].filter((id) => id.startsWith('router-')).map((id) => this.member(id).address);
  }

  member(id: string): KvFleetMember {
    const member = this.members.get(id);
    if (!member) throw new Error(`the fleet has no member ${id}`);
    return member;
  }

  /** Starts another service of the fleet (a lock service, a monitor) as member id on a free port, with env added. */
  async add(id: string, app: ServiceApp, env: NodeJS.ProcessEnv): Promise<KvFleetMember> {
    const member = this.start(id, app, await freePort(), env);
    await waitForServing(member.address, readyTimeoutMs, { process: member.process });
    return member;
  }

  /** Kills every process of the fleet and removes its data. */
  async stop(): Promise<void> {
    await Promise.all([...this.members.values()].map((member) => member.process.kill()));
    rmSync(this.scratch, { recursive: true, force: true });
  }

  private start(id: string, app: ServiceApp, port: number, env: NodeJS.ProcessEnv): KvFleetMember {
    const address = `127.0.0.1:${port}`;
    const process = startService(app, {
      BULWARK_MEMBER_ID: id,
      BULWARK_LISTEN_ADDR: address,
      BULWARK_ADVERTISE_ADDR: address,
      BULWARK_METRICS_ADDR: 'off',
      BULWARK_LOG_LEVEL: 'warn',
      ...env,
    });
    const member = { id, address, process };
    this.members.set(id, member);
    return member;
  }
}
