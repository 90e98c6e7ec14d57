// Network faults between the fleet's loopback addresses, with iptables:
// packets really dropped, all of them (a partition, one way or both) or a
// share of them at random (`-m statistic`). Every rule lives in one chain of
// this process's own, jumped to from INPUT: all fleet traffic is local and
// passes INPUT once, on arrival, where a drop is silent as on a network (in
// OUTPUT the sender would get EPERM at once). close() removes the chain and
// the jump; a chain left by a process that died is removed by the next run
// (removeStaleChains). Only addresses of the fleet's range are accepted:
// nothing else on the machine is touched.
import { closeChain, iptables as iptablesOf, openChain, removeStaleChainsOf, type ChainKind } from './iptables-chains';

/** The launcher's loopback range: 127.77.x.y. */
const fleetAddress = /^127\.77\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/;
const faultChains: ChainKind = { table: 'filter', hook: 'INPUT', prefix: 'BWCHAOS-' };
const iptables = (args: readonly string[]) => iptablesOf(faultChains, args);

export type LinkFault =
  /** Every packet from `from` to `to` dropped. */
  | { readonly kind: 'drop'; readonly from: string; readonly to: string }
  /** Each packet from `from` to `to` dropped with this probability (0 < p < 1). */
  | { readonly kind: 'loss'; readonly from: string; readonly to: string; readonly probability: number };

function checkAddress(address: string, field: string): void {
  if (!fleetAddress.test(address)) {
    throw new RangeError(`${field}: ${JSON.stringify(address)} is not a fleet address (127.77.x.y)`);
  }
}

function ruleOf(fault: LinkFault): string[] {
  checkAddress(fault.from, 'from');
  checkAddress(fault.to, 'to');
  const match = ['-s', `${fault.from}/32`, '-d', `${fault.to}/32`];
  if (fault.kind === 'drop') return [...match, '-j', 'DROP'];
  if (!(fault.probability > 0 && fault.probability < 1)) {
    throw new RangeError(`probability: must be above 0 and below 1, got ${fault.probability}`);
  }
  return [...match, '-m', 'statistic', '--mode', 'random', '--probability', String(fault.probability), '-j', 'DROP'];
}

/** Fault chains whose process is gone (a run killed before its cleanup): removed, with their jumps. */
export function removeStaleChains(): string[] {
  return removeStaleChainsOf(faultChains);
}

export class IptablesFaults {
  private readonly active = new Map<string, string[]>();
  private closed = false;

  private constructor(readonly chain: string) {}

  /** This process's chain, created empty and jumped to from the top of INPUT. */
  static open(): IptablesFaults {
    return new IptablesFaults(openChain(faultChains));
  }

  /** Faults in force now, by the key add() returned. */
  get faults(): string[] {
    return [...this.active.keys()];
  }

  /** Puts fault in force; the key heals it. Adding one already in force changes nothing. */
  add(fault: LinkFault): string {
    if (this.closed) throw new Error('these faults are closed');
    const rule = ruleOf(fault);
    const key = rule.join(' ');
    if (this.active.has(key)) return key;
    iptables(['-A', this.chain, ...rule]);
    this.active.set(key, rule);
    return key;
  }

  /** Both directions between every address of `side` and every one of `other` (or only side -> other). */
  partition(side: readonly string[], other: readonly string[], oneWay = false): string[] {
    const keys: string[] = [];
    for (const from of side) {
      for (const to of other) {
        keys.push(this.add({ kind: 'drop', from, to }));
        if (!oneWay) keys.push(this.add({ kind: 'drop', from: to, to: from }));
      }
    }
    return keys;
  }

  heal(key: string): void {
    const rule = this.active.get(key);
    if (!rule) return;
    iptables(['-D', this.chain, ...rule]);
    this.active.delete(key);
  }

  healAll(): void {
    iptables(['-F', this.chain]);
    this.active.clear();
  }

  /** Removes every rule, the jump and the chain; safe to call more than once, and from an exit handler. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.active.clear();
    closeChain(faultChains, this.chain);
  }
}
