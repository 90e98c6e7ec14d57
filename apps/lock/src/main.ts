import { ConfigError, formatHostPort, hostPortList, int, oneOf } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerUntilStopped } from '@bulwark/coordinator-client';
import { defaultWaiterLeaseMs, LockNode, memoryBackend, redisBackend } from '@bulwark/lock-service';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';

let node: LockNode | undefined;
const backendReadyTimeoutMs = 5_000;

const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK);

void runService({
  service: 'lock',
  defaultPort: 7300,
  settings: {
    coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }),
    // redis when servers are listed, memory (one instance, not fault tolerant) when not.
    backend: oneOf('BULWARK_LOCK_BACKEND', ['auto', 'redis', 'memory'], 'auto'),
    redisServers: hostPortList('BULWARK_REDIS_SERVERS', { min: 1, max: 9, default: [] }),
    // Generous for a loaded machine: a call that times out counts its server as unavailable for that round.
    redisTimeoutMs: int('BULWARK_REDIS_TIMEOUT_MS', { min: 10, max: 10_000, default: 500 }),
    waiterLeaseMs: int('BULWARK_LOCK_WAITER_LEASE_MS', { min: 300, max: 60_000, default: defaultWaiterLeaseMs }),
  },
  validate: (config) => {
    if (config.backend === 'redis' && config.redisServers.length === 0) {
      throw new ConfigError('BULWARK_REDIS_SERVERS', 'is required with BULWARK_LOCK_BACKEND=redis');
    }
    // A waiter renews its place before any step of its wait that could outlast it (three rounds at most, each up
    // to the timeout): that holds while lease >= 5 x timeout + 5% of the lease (libs/lock-service waiter-place.ts).
    if (config.waiterLeaseMs < 6 * config.redisTimeoutMs) {
      throw new ConfigError(
        'BULWARK_LOCK_WAITER_LEASE_MS',
        `must be at least 6 times BULWARK_REDIS_TIMEOUT_MS (${6 * config.redisTimeoutMs}), got ${config.waiterLeaseMs}`,
      );
    }
    if (config.backend === 'memory' && config.redisServers.length > 0) {
      throw new ConfigError('BULWARK_REDIS_SERVERS', 'must be empty with BULWARK_LOCK_BACKEND=memory');
    }
  },
  prepare: async (config, logger) => {
    const useRedis = config.backend === 'redis' || (config.backend === 'auto' && config.redisServers.length > 0);
    const backend = useRedis
      ? redisBackend({ servers: config.redisServers, callTimeoutMs: config.redisTimeoutMs, logger })
      : memoryBackend();
    if (useRedis) {
      const servers = config.redisServers.map(formatHostPort);
      logger.info({ backend: 'redis', servers, faultTolerant: backend.quorum.faultTolerant }, 'lock backend');
      if (!backend.quorum.faultTolerant) {
        logger.warn(
          { servers },
          `${servers.length} Redis server(s) are not fault tolerant: losing one stops the locks`,
        );
      }
    } else {
      logger.warn(
        { backend: 'memory' },
        'lock backend: memory (this instance only, forgotten at exit, not fault tolerant); set BULWARK_REDIS_SERVERS for Redis',
      );
    }
    // Calls fail at once while no majority is connected with its mark: give the servers a moment, but start either way.
    if (!(await backend.ready(backendReadyTimeoutMs))) {
      logger.warn(
        { timeoutMs: backendReadyTimeoutMs },
        'no majority of lock servers connected with their mark yet; calls fail until one is',
      );
    }
    node = new LockNode({ memberId: config.memberId, backend, logger, waiterLeaseMs: config.waiterLeaseMs });
  },
  services: (kit) => {
    if (!node) throw new Error('prepare creates the lock node before the services are built');
    return node.services(kit);
  },
  started: registration.started,
  // Out of the topology as the drain starts: monitors stop probing it and no one is sent to it.
  onDraining: [registration.leave],
  onStopped: [async () => node?.stop(), flushTelemetry],
});
