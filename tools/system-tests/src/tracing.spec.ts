// A call from one service to another is one trace: the router's client span
// for RegisterMember is the parent of the coordinator's server span, both
// exported over OTLP/gRPC to a receiver in this test; inside the router, a
// kv.v1 call's routing span is a child of its server span. Health checks
// stay out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { healthV1, kvV1 } from '@bulwark/contracts';
import { callUnary, createClient } from '@bulwark/rpc';
import { freePort, killAllProcesses, OtlpReceiver, startService, waitForServing } from '@bulwark/testing';

const registerMethod = 'grpc.coordinator.v1.Coordinator/RegisterMember';

describe('tracing across services', () => {
  let receiver: OtlpReceiver;
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-tracing-'));

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
  });

  afterAll(async () => {
    await killAllProcesses();
    await receiver.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('links the caller and callee spans of an inter-service call in one trace', async () => {
    const coordinatorAddress = `127.0.0.1:${await freePort()}`;
    const routerAddress = `127.0.0.1:${await freePort()}`;
    // Export every 100 ms so the test can wait for spans as they arrive.
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
    const coordinator = startService('coordinator', {
      ...otel,
      OTEL_SERVICE_NAME: 'coordinator',
      BULWARK_MEMBER_ID: 'c1',
      BULWARK_LISTEN_ADDR: coordinatorAddress,
      BULWARK_PEERS: `c1=${coordinatorAddress},c2=127.0.0.1:2,c3=127.0.0.1:3`,
      BULWARK_DATA_DIR: join(scratch, 'c1'),
    });
    await waitForServing(coordinatorAddress, 30_000, { process: coordinator });
    const router = startService('router', {
      ...otel,
      OTEL_SERVICE_NAME: 'router',
      BULWARK_MEMBER_ID: 'router-1',
      BULWARK_LISTEN_ADDR: routerAddress,
      BULWARK_COORDINATORS: coordinatorAddress,
    });
    await waitForServing(routerAddress, 30_000, { process: router });
    // Probes through health Check too: these must not become spans.
    const health = createClient(healthV1.HealthClient, routerAddress);
    await callUnary(health, health.check, { service: '' }, { deadlineMs: 5_000 });
    health.close();

    // The router registers with the coordinator at start: the first inter-service call.
    await receiver.waitFor(
      (spans) =>
        spans.some(
          (span) => span.service === 'coordinator' && span.kind === 'SERVER' && span.name === registerMethod,
        ) || undefined,
      10_000,
    );
    // A kv.v1 call is traced inside the router: its routing span is a child of the call's server span.
    const kv = createClient(kvV1.KVClient, routerAddress);
    await callUnary(kv, kv.locate, { key: 'traced' }, { deadlineMs: 5_000 }).catch(() => undefined);
    kv.close();

    // SIGTERM flushes each exporter before exit: any health span would be here by then.
    router.signal('SIGTERM');
    coordinator.signal('SIGTERM');
    expect((await router.waitForExit(15_000)).code).toBe(0);
    expect((await coordinator.waitForExit(15_000)).code).toBe(0);
    const clients = receiver.spans.filter(
      (span) => span.service === 'router' && span.kind === 'CLIENT' && span.name === registerMethod,
    );
    const servers = receiver.spans.filter(
      (span) => span.service === 'coordinator' && span.kind === 'SERVER' && span.name === registerMethod,
    );
    expect(servers.length).toBeGreaterThan(0);
    // Every server span is the child of a router client span, in the same trace.
    for (const server of servers) {
      const parent = clients.find((client) => client.spanId === server.parentSpanId);
      expect(parent?.traceId).toBe(server.traceId);
      expect(parent?.instance).toBe('router-1');
      expect(server.instance).toBe('c1');
    }
    expect(receiver.spans.filter((span) => span.name.includes('grpc.health.v1'))).toEqual([]);
    const locateServer = receiver.spans.find(
      (span) => span.service === 'router' && span.kind === 'SERVER' && span.name === 'grpc.kv.v1.KV/Locate',
    );
    const locateRouting = receiver.spans.find(
      (span) => span.service === 'router' && span.name === 'bulwark.router/Locate',
    );
    expect(locateServer).toBeDefined();
    expect(locateRouting).toBeDefined();
    expect(locateRouting?.parentSpanId).toBe(locateServer?.spanId);
    expect(locateRouting?.traceId).toBe(locateServer?.traceId);
  });
});
