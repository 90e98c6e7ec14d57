// A kv.v1.KV server whose answers a test scripts, on a free loopback port:
// for what real routers do not do on demand (refuse with UNAVAILABLE once,
// hang, answer a given error) and to see exactly what a client sent.
import { kvV1 } from '@bulwark/contracts';
import { UnimplementedError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { startServer, type RunningServer } from '@bulwark/rpc';

type Service = typeof kvV1.KVService;
export type KvMethodName = keyof Service;
type RequestOf<M extends KvMethodName> = Parameters<Service[M]['requestSerialize']>[0];
type ResponseOf<M extends KvMethodName> = ReturnType<Service[M]['responseDeserialize']>;
type Handler<M extends KvMethodName> = (request: RequestOf<M>) => Promise<ResponseOf<M>> | ResponseOf<M>;

export interface ReceivedCall {
  readonly method: KvMethodName;
  readonly request: unknown;
}

export class ScriptedRouter {
  private constructor(
    private readonly server: RunningServer,
    /** Every request received, in order. */
    readonly received: ReceivedCall[],
    private readonly handlers: Map<KvMethodName, Handler<KvMethodName>>,
  ) {}

  static async start(): Promise<ScriptedRouter> {
    const logger = createLogger({ service: 'scripted-router', memberId: 'scripted-router', level: 'fatal' });
    const received: ReceivedCall[] = [];
    const handlers = new Map<KvMethodName, Handler<KvMethodName>>();
    const server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 100 }, (kit) => {
      const method = <M extends KvMethodName>(name: M) =>
        kit.unary(async (request: RequestOf<M>) => {
          received.push({ method: name, request });
          const handler = handlers.get(name) as Handler<M> | undefined;
          if (!handler) throw new UnimplementedError(`kv.v1.KV/${name} (not scripted)`);
          return handler(request);
        });
      const implementation: kvV1.KVServer = {
        put: method('put'),
        get: method('get'),
        delete: method('delete'),
        batchGet: method('batchGet'),
        scan: method('scan'),
        batchPut: method('batchPut'),
        txn: method('txn'),
        locate: method('locate'),
      };
      return [{ definition: kvV1.KVService, implementation }];
    });
    return new ScriptedRouter(server, received, handlers);
  }

  get address(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** Requests of one method, in order. */
  requests<M extends KvMethodName>(method: M): RequestOf<M>[] {
    return this.received.filter((call) => call.method === method).map((call) => call.request as RequestOf<M>);
  }

  /** Answers method's calls with handler from now on; a handler that throws a BulwarkError fails the call with its status. */
  answer<M extends KvMethodName>(method: M, handler: Handler<M>): void {
    this.handlers.set(method, handler as unknown as Handler<KvMethodName>);
  }

  /** Stops serving; calls still running are cut after 100 ms. */
  stop(): Promise<void> {
    return this.server.drain('test done');
  }
}
