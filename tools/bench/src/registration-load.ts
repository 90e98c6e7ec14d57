// The coordinator benchmarks' load: RegisterMember through the leader from
// `inFlight` concurrent callers, each command a real change (64 members
// re-registered in turn at moving addresses), until `commands` have been
// issued or stop() is called.
import { performance } from 'node:perf_hooks';
import { coordinatorV1 } from '@bulwark/contracts';
import { callUnary } from '@bulwark/rpc';

/** Members re-registered in turn: each command is a real change, yet the topology stays small. */
const loadMembers = 64;

export interface RegistrationLoadOptions {
  inFlight: number;
  /** Commands to issue; unbounded until stop() when absent. */
  commands?: number;
  /** Member ids are `${idPrefix}-N`, addresses from port `portBase` on: loads must not collide. */
  idPrefix: string;
  portBase: number;
}

export interface RegistrationLoad {
  /** Resolves when every command issued has been answered. */
  readonly done: Promise<void>;
  /** Latency of each answered command, in ms, in answer order. */
  readonly latenciesMs: number[];
  committed(): number;
  stop(): Promise<void>;
}

export function startRegistrationLoad(
  client: coordinatorV1.CoordinatorClient,
  options: RegistrationLoadOptions,
): RegistrationLoad {
  const latenciesMs: number[] = [];
  let stopped = false;
  let issued = 0;
  const more = () => !stopped && (options.commands === undefined || issued < options.commands);
  const worker = async () => {
    while (more()) {
      const n = issued++;
      const member = n % loadMembers;
      const sentAt = performance.now();
      await callUnary(
        client,
        client.registerMember,
        {
          member: {
            id: `${options.idPrefix}-${member}`,
            address: `127.0.0.1:${options.portBase + member * 100 + (Math.floor(n / loadMembers) % 100)}`,
            role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
            groupId: '',
            metricsAddress: '',
          },
          requestId: '',
        },
        { deadlineMs: 10_000 },
      );
      latenciesMs.push(performance.now() - sentAt);
    }
  };
  const done = Promise.all(Array.from({ length: options.inFlight }, worker)).then(() => undefined);
  return {
    done,
    latenciesMs,
    committed: () => latenciesMs.length,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}
