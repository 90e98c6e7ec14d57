import type { ServerUnaryCall } from '@grpc/grpc-js';
import { DeadlineExceededError } from '@bulwark/errors';
import { deadlineOf } from './kv-service';

const callWith = (deadline: Date | number, cancelled = false) =>
  ({ getDeadline: () => deadline, cancelled }) as unknown as ServerUnaryCall<unknown, unknown>;

describe('deadlineOf', () => {
  it('takes the caller’s deadline when it is sooner than the router’s default', () => {
    const before = performance.now();
    const deadline = deadlineOf(callWith(new Date(Date.now() + 2_000)), 10_000);
    expect(deadline - before).toBeGreaterThan(1_000);
    expect(deadline - before).toBeLessThanOrEqual(2_000 + (performance.now() - before));
  });

  it('uses the router’s default when the caller set none or a later one', () => {
    const before = performance.now();
    for (const deadline of [Infinity, new Date(Date.now() + 60_000)]) {
      const routed = deadlineOf(callWith(deadline), 300);
      expect(routed - before).toBeLessThanOrEqual(300 + (performance.now() - before));
      expect(routed - before).toBeGreaterThan(0);
    }
  });

  it('refuses a call whose deadline has passed already, or that was cancelled', () => {
    expect(() => deadlineOf(callWith(new Date(Date.now() - 1)), 10_000)).toThrow(DeadlineExceededError);
    expect(() => deadlineOf(callWith(Date.now() - 5), 10_000)).toThrow(/grpc-timeout/);
    expect(() => deadlineOf(callWith(Infinity, true), 10_000)).toThrow(DeadlineExceededError);
  });
});
