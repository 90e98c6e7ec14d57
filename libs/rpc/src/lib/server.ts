// Server bootstrap shared by every service: bindAsync on the configured
// address, health and reflection registered beside the app's services (all
// of their methods in the gRPC metrics from the start), and a
// drain that marks everything NOT_SERVING, asks long-lived streams to end,
// waits for in-flight calls (tryShutdown) and forces the rest at a deadline.
import { setMaxListeners } from 'node:events';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { descriptorSetBase64, healthV1, reflectionV1, reflectionV1alpha } from '@bulwark/contracts';
import type { Logger } from '@bulwark/logging';
import { DescriptorIndex } from './descriptor-index';
import { initializeGrpcMetrics } from './grpc-metrics';
import { createHandlerKit, type HandlerKit } from './handlers';
import { HealthRegistry, overallService, ServingStatus } from './health';
import { reflectionV1alphaImplementation, reflectionV1Implementation } from './reflection';

export interface ServiceBinding {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface ServerOptions {
  /** host:port to listen on; port 0 picks a free port. */
  address: string;
  logger: Logger;
  /** How long draining waits for in-flight calls before forcing them closed. */
  drainDeadlineMs: number;
  /** Services marked NOT_SERVING at start; the app flips them when ready. */
  startNotServing?: string[];
  /** Largest message accepted, bytes (grpc-js default 4 MiB). */
  receiveMessageBytesMax?: number;
}

export interface RunningServer {
  /** The port actually bound. */
  readonly port: number;
  readonly health: HealthRegistry;
  readonly kit: HandlerKit;
  /** Stops accepting calls and waits (bounded) for in-flight ones; idempotent. */
  drain(reason: string): Promise<void>;
}

let descriptorIndex: DescriptorIndex | undefined;

/** Parsed once per process: every server serves the same contracts. */
export function contractsIndex(): DescriptorIndex {
  descriptorIndex ??= new DescriptorIndex(Buffer.from(descriptorSetBase64, 'base64'));
  return descriptorIndex;
}

/** The fully qualified service name of a generated definition ("kv.v1.KV"). */
export function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('service definition has no methods');
  return first.path.split('/')[1] as string;
}

/**
 * Starts a server. `register` receives the handler kit (bound to this
 * server's shutdown signal) and returns the app's services.
 */
export async function startServer(
  options: ServerOptions,
  register: (kit: HandlerKit) => ServiceBinding[],
): Promise<RunningServer> {
  const { logger } = options;
  const shutdownController = new AbortController();
  // Every call in flight listens for the shutdown (and stops listening when it ends): past Node's default of 10
  // listeners that is load, not a leak, so Node's leak warning is off for this signal.
  setMaxListeners(0, shutdownController.signal);
  const kit = createHandlerKit(logger, shutdownController.signal);
  const health = new HealthRegistry();
  const index = contractsIndex();
  const server = new Server({
    'grpc.max_receive_message_length': options.receiveMessageBytesMax ?? 4 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
    // Channelz keeps per-call counters and traces nobody reads here: measurable CPU on every call.
    'grpc.enable_channelz': 0,
  });

  const appServices = register(kit);
  const bindings: ServiceBinding[] = [
    ...appServices,
    { definition: healthV1.HealthService, implementation: health.implementation(kit) },
  ];
  const served = () => bindings.map((binding) => serviceNameOf(binding.definition));
  bindings.push(
    {
      definition: reflectionV1.ServerReflectionService,
      implementation: reflectionV1Implementation(kit, index, served),
    },
    {
      definition: reflectionV1alpha.ServerReflectionService,
      implementation: reflectionV1alphaImplementation(kit, index, served),
    },
  );
  for (const binding of bindings) {
    // Reflection can describe only what proto/ defines: fail at start, not at the first grpcurl.
    const name = serviceNameOf(binding.definition);
    if (!index.fileContainingSymbol(name)) throw new Error(`service ${name} is not in the contracts descriptor set`);
    server.addService(binding.definition, binding.implementation);
  }
  initializeGrpcMetrics(bindings.map((binding) => binding.definition));

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    ),
  );

  const notServing = new Set(options.startNotServing ?? []);
  for (const name of appServices.map((binding) => serviceNameOf(binding.definition))) {
    health.set(name, notServing.has(name) ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
  }
  health.set(overallService, notServing.size > 0 ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
  logger.info({ address: options.address, port, services: served() }, 'serving');

  let drained: Promise<void> | undefined;
  return {
    port,
    health,
    kit,
    drain(reason) {
      drained ??= new Promise<void>((resolve) => {
        logger.info({ reason, deadlineMs: options.drainDeadlineMs }, 'draining');
        health.setAll(ServingStatus.NOT_SERVING);
        shutdownController.abort();
        const force = setTimeout(() => {
          logger.warn('drain deadline passed: closing remaining calls');
          server.forceShutdown();
        }, options.drainDeadlineMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          logger.info('drained');
          resolve();
        });
      });
      return drained;
    },
  };
}
