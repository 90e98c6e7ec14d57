// Starting Bulwark services as real processes, exactly as the compose file
// and the launcher do: the telemetry preload, then the bundled main.
import { healthV1 } from '@bulwark/contracts';
import { createClient } from '@bulwark/rpc';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { repoPath } from './paths';
import { startProcess, type ManagedProcess } from './processes';

export const serviceApps = ['coordinator', 'replica', 'router', 'lock', 'monitor'] as const;
export type ServiceApp = (typeof serviceApps)[number];

/** Only what a service needs from the host; tests add the BULWARK_* and OTEL_* they mean. */
export function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'], HOME: process.env['HOME'] };
}

export function startService(app: ServiceApp, env: NodeJS.ProcessEnv): ManagedProcess {
  return startProcess({
    command: process.execPath,
    args: ['--require', repoPath('dist/libs/telemetry/register.js'), repoPath('dist', 'apps', app, 'main.js')],
    env: { ...baseEnv(), ...env },
  });
}

export interface HealthWaitOptions {
  /** The service to watch; "" (the default) is the overall status. */
  service?: string;
  /** The process serving at address: if it exits first, the wait fails at once with its output. */
  process?: ManagedProcess;
}

/**
 * Resolves when grpc.health.v1 at address reports SERVING for the service,
 * using the streaming Watch so no polling interval is needed.
 */
export function waitForServing(address: string, timeoutMs: number, options: HealthWaitOptions = {}): Promise<void> {
  return waitForHealth(address, timeoutMs, healthV1.HealthCheckResponse_ServingStatus.SERVING, options);
}

/** Resolves when grpc.health.v1 at address reports `status` for the service, through the streaming Watch. */
export function waitForHealth(
  address: string,
  timeoutMs: number,
  status: healthV1.HealthCheckResponse_ServingStatus,
  { service = '', process: serving }: HealthWaitOptions = {},
): Promise<void> {
  const client = createClient(healthV1.HealthClient, address);
  const name = healthV1.HealthCheckResponse_ServingStatus[status];
  return new Promise<void>((resolve, reject) => {
    const metadata = new Metadata({ waitForReady: true });
    const stream = client.watch({ service }, metadata, { deadline: Date.now() + timeoutMs });
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      stream.cancel();
      client.close();
      if (error) reject(error);
      else resolve();
    };
    stream.on('data', (response: healthV1.HealthCheckResponse) => {
      if (response.status === status) finish();
    });
    stream.on('error', (error: ServiceError) => {
      const output = serving ? `; output:\n${serving.output()}` : '';
      finish(new Error(`${address} not ${name} within ${timeoutMs} ms: ${error.message}${output}`));
    });
    // Once its output has ended: the line saying why it could not serve is in it.
    void serving?.closed.then((exit) =>
      finish(new Error(`${address} exited (${exit.code ?? exit.signal}) before ${name}:\n${serving.output()}`)),
    );
  });
}
