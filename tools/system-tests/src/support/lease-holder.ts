// The coordinator that serves linearizable reads: the leader under its
// lease. An election has no event a test can await, so this polls
// GetTopology on every member (bounded in time).
import type { coordinatorV1 } from '@bulwark/contracts';
import { callUnary } from '@bulwark/rpc';

const pollMs = 50;

/** The name of the member whose GetTopology is answered, within `timeoutMs`. */
export async function leaseHolder(
  clients: ReadonlyMap<string, coordinatorV1.CoordinatorClient>,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const holder = await Promise.any(
      [...clients].map(([name, client]) =>
        callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 }).then(() => name),
      ),
    ).catch(() => undefined);
    if (holder !== undefined) return holder;
    if (Date.now() > deadline) throw new Error(`no coordinator served a linearizable read within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
