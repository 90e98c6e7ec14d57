// One way for a streaming handler to wait until its call is over: the client
// ended or cancelled it, it closed, or the server started draining. Every
// listener is removed when it resolves, so long-lived servers with many
// short-lived streams do not accumulate closures on the shutdown signal.
import type { EventEmitter } from 'node:events';

export function untilCallEnds<Message>(
  call: EventEmitter,
  shutdown: AbortSignal,
  onData?: (message: Message) => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    if (shutdown.aborted) return resolve();
    const events = ['end', 'cancelled', 'close', 'error'] as const;
    const finish = () => {
      for (const event of events) call.off(event, finish);
      if (onData) call.off('data', onData);
      shutdown.removeEventListener('abort', finish);
      resolve();
    };
    if (onData) call.on('data', onData);
    for (const event of events) call.once(event, finish);
    shutdown.addEventListener('abort', finish, { once: true });
  });
}
