// Container healthcheck and launcher probe: `node dist/tools/health-probe/main.js HOST:PORT [SERVICE]`
// exits 0 when grpc.health.v1 answers SERVING within the deadline, 1 otherwise
// (printing why), 2 on bad arguments.
import { parseHostPort } from '@bulwark/config';
import { healthV1 } from '@bulwark/contracts';
import { callUnary, createClient } from '@bulwark/rpc';

const probeDeadlineMs = 3_000;

async function main(): Promise<number> {
  const [target, service = ''] = process.argv.slice(2);
  if (!target || typeof parseHostPort(target) === 'string') {
    process.stderr.write('usage: health-probe HOST:PORT [SERVICE]\n');
    return 2;
  }
  const client = createClient(healthV1.HealthClient, target);
  try {
    const { status } = await callUnary(client, client.check, { service }, { deadlineMs: probeDeadlineMs });
    const name = healthV1.healthCheckResponse_ServingStatusToJSON(status);
    process.stdout.write(`${target} ${service || '(overall)'}: ${name}\n`);
    return status === healthV1.HealthCheckResponse_ServingStatus.SERVING ? 0 : 1;
  } catch (error) {
    process.stdout.write(`${target} ${service || '(overall)'}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}

void main().then((code) => process.exit(code));
