import { formatHostPort, hostPortList, int, oneOf } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerUntilStopped } from '@bulwark/coordinator-client';
import { defaultKvLimits } from '@bulwark/kv-state';
import {
  queuedOperationsMaxDefault,
  readBalancerPolicies,
  Router,
  routerReceiveBytesMax,
} from '@bulwark/router-server';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';

let router: Router | undefined;
const registration = registerUntilStopped(coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER);

void runService({
  service: 'router',
  defaultPort: 7200,
  // BatchPut and Txn carry many values; the streams to replicas cut what they carry at 4 MiB a message.
  receiveMessageBytesMax: routerReceiveBytesMax,
  settings: {
    coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }),
    readBalancer: oneOf('BULWARK_READ_BALANCER', readBalancerPolicies, 'power-of-two-choices'),
    requestTimeoutMs: int('BULWARK_REQUEST_TIMEOUT_MS', { min: 1, max: 300_000, default: 10_000 }),
    replicaQueueMax: int('BULWARK_REPLICA_QUEUE_MAX', { min: 1, max: 1_000_000, default: queuedOperationsMaxDefault }),
    // The same limits as the replicas': a request the router lets through is one a replica accepts.
    // At most 65,535: a scan page token holds its prefix's length in 16 bits.
    keyBytesMax: int('BULWARK_KEY_BYTES_MAX', { min: 1, max: 65_535, default: defaultKvLimits.keyBytesMax }),
    valueBytesMax: int('BULWARK_VALUE_BYTES_MAX', {
      min: 1,
      max: 4 * 1024 * 1024,
      default: defaultKvLimits.valueBytesMax,
    }),
  },
  prepare: async (config, logger) => {
    router = new Router({
      memberId: config.memberId,
      coordinators: config.coordinators.map(formatHostPort),
      logger,
      limits: { ...defaultKvLimits, keyBytesMax: config.keyBytesMax, valueBytesMax: config.valueBytesMax },
      readBalancer: config.readBalancer,
      requestTimeoutMs: config.requestTimeoutMs,
      queuedPerReplicaMax: config.replicaQueueMax,
    });
  },
  services: (kit) => {
    if (!router) throw new Error('prepare creates the router before the services are built');
    return router.services(kit);
  },
  started: (config, logger, server) => {
    registration.started(config, logger, server);
    router?.start(server);
  },
  // Out of the topology as the drain starts: monitors stop probing it and no one is sent to it.
  onDraining: [registration.leave],
  onStopped: [async () => router?.stop(), flushTelemetry],
});
