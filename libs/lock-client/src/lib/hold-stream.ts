// One Hold stream as two callbacks: each event in order, then exactly one
// end (with the typed error, or undefined for a stream the service ended
// cleanly). grpc-js emits 'error' for a failed status before 'end', and may
// still deliver buffered events between the two; so the error is kept and
// the end reported on 'end', after every event. After close() nothing more
// is reported (the cancelled stream's own error is swallowed).
import type { ServiceError } from '@grpc/grpc-js';
import type { lockV1 } from '@bulwark/contracts';
import type { BulwarkError } from '@bulwark/errors';
import { fromServiceError } from '@bulwark/rpc';

export interface HoldStreamHandlers {
  onEvent(event: NonNullable<lockV1.HoldResponse['event']>): void;
  onEnd(error: BulwarkError | undefined): void;
}

export interface HoldStream {
  send(request: lockV1.HoldRequest): void;
  /**
   * Gives up a pending acquire: ends this side, so the service stops the
   * wait and answers; a grant that won the race comes to onLateGrant (the
   * caller releases it), instead of being kept, unknown here, until its TTL.
   * Nothing else is reported; the stream is cancelled after timeoutMs.
   */
  abandon(onLateGrant: (granted: lockV1.HoldGranted) => void, timeoutMs: number): void;
  /** Cancels the stream (the service leaves the lease to expire); nothing is reported after it. */
  close(): void;
}

export function openHoldStream(client: lockV1.LockClient, handlers: HoldStreamHandlers): HoldStream {
  // No deadline: the stream lives as long as the lock; the holder's own timers bound every wait on it.
  const call = client.hold();
  let open = true;
  let failure: BulwarkError | undefined;
  let lateGrant: ((granted: lockV1.HoldGranted) => void) | undefined;
  call.on('data', (response: lockV1.HoldResponse) => {
    if (open && response.event) handlers.onEvent(response.event);
    else if (lateGrant && response.event?.$case === 'granted') lateGrant(response.event.granted);
  });
  call.on('error', (error: ServiceError) => {
    failure ??= fromServiceError(error);
  });
  call.on('end', () => {
    if (!open) return;
    open = false;
    handlers.onEnd(failure);
  });
  return {
    send(request) {
      if (open) call.write(request);
    },
    abandon(onLateGrant, timeoutMs) {
      if (!open) return;
      open = false;
      lateGrant = onLateGrant;
      const timer = setTimeout(() => call.cancel(), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        lateGrant = undefined;
      };
      call.once('end', done);
      call.once('error', done);
      call.end();
    },
    close() {
      if (!open) return;
      open = false;
      call.cancel();
    },
  };
}
