// The leader's own look at a member a monitor reports as suspect
// (ReportSuspect): one grpc.health.v1 Check that waits for a connection up
// to its deadline, so a member that restarted a moment ago (its channel in
// reconnect backoff) is not taken for dead. A failover rests on the probe
// failing too, never on the report alone. Any answer counts as alive, even
// NOT_SERVING: a primary that answers is starting, catching up or draining,
// and one that cannot keep its lease loses it without any report.
import { healthV1 } from '@bulwark/contracts';
import { DeadlineExceededError, NotFoundError, UnavailableError } from '@bulwark/errors';
import { callUnary, ChannelPool, createClient } from '@bulwark/rpc';

export interface MemberProbe {
  /** True when the member at address answers within deadlineMs, whatever its status; never rejects. */
  answers(address: string, deadlineMs: number): Promise<boolean>;
  close(): void;
}

/** Long enough for a loopback or LAN round trip and a reconnect; short beside a primary lease. */
export const suspectProbeDeadlineMs = 300;
/** Channels kept open, one per address; the least recently used is closed beyond it. */
const probeClientsMax = 1_024;

/** Reconnects within tens of ms: the probe waits for a connection within its deadline. */
const channelOptions = {
  'grpc.initial_reconnect_backoff_ms': 20,
  'grpc.max_reconnect_backoff_ms': 250,
};

export class GrpcMemberProbe implements MemberProbe {
  private readonly clients = new ChannelPool(
    (address) => createClient(healthV1.HealthClient, address, channelOptions),
    () => new NotFoundError('address', 'the member probe was closed'),
    probeClientsMax,
  );

  async answers(address: string, deadlineMs: number): Promise<boolean> {
    // Closing: never the reason for a failover.
    if (this.clients.isClosed) return true;
    const client = this.clients.get(address);
    try {
      await callUnary(client, client.check, { service: '' }, { deadlineMs, waitForReady: true });
      return true;
    } catch (error) {
      // An error status is an answer too; only silence or no connection within the deadline is not.
      return !(error instanceof DeadlineExceededError || error instanceof UnavailableError);
    }
  }

  close(): void {
    this.clients.close();
  }
}
