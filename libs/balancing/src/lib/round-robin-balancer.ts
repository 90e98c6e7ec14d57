import { PoolBalancer } from './balancer';

/** Each available candidate in turn, in the order given; an unavailable one is skipped, not waited for. */
export class RoundRobinBalancer extends PoolBalancer {
  /** The candidate index the next turn starts looking at. */
  private cursor = 0;

  protected pickIndex(available: readonly number[]): number {
    const chosen = available.find((index) => index >= this.cursor) ?? (available[0] as number);
    this.cursor = chosen + 1;
    return chosen;
  }
}
