// The iptables chains a chaos run adds its rules to: each named
// <prefix><pid>-<n> and jumped to from the top of one built-in chain, so a
// run's rules are found and removed as one (chain, rules and jump), also by
// a later run when the process that made them is gone.
import { execFileSync } from 'node:child_process';

/** Where a kind of chain lives: its table, the built-in chain that jumps to it, and its name prefix. */
export interface ChainKind {
  readonly table: 'filter' | 'nat';
  readonly hook: 'INPUT' | 'OUTPUT';
  readonly prefix: string;
}

const iptablesTimeoutMs = 10_000;

/** Runs iptables on the kind's table, waiting up to 5 s for the xtables lock. */
export function iptables(kind: ChainKind, args: readonly string[]): string {
  return execFileSync('iptables', ['-w', '5', '-t', kind.table, ...args], {
    encoding: 'utf8',
    timeout: iptablesTimeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function chainsOf(kind: ChainKind): string[] {
  return iptables(kind, ['-S'])
    .split('\n')
    .filter((line) => line.startsWith(`-N ${kind.prefix}`))
    .map((line) => line.slice(3).trim());
}

function removeChain(kind: ChainKind, chain: string): void {
  // Every jump to it first (one per open, but be thorough), then its rules, then the chain.
  while (iptables(kind, ['-S', kind.hook]).includes(`-j ${chain}`)) iptables(kind, ['-D', kind.hook, '-j', chain]);
  iptables(kind, ['-F', chain]);
  iptables(kind, ['-X', chain]);
}

/** Chains of this kind whose process is gone (a run killed before its cleanup): removed, with their jumps. */
export function removeStaleChainsOf(kind: ChainKind): string[] {
  const stale = chainsOf(kind).filter((chain) => !processAlive(Number(chain.slice(kind.prefix.length).split('-')[0])));
  for (const chain of stale) removeChain(kind, chain);
  return stale;
}

/** Chains this process opened so far: each gets its own name, within iptables' 28 characters. */
let chainsOpened = 0;

/** A new empty chain of this process's, jumped to from the top of the kind's hook; stale ones removed first. */
export function openChain(kind: ChainKind): string {
  removeStaleChainsOf(kind);
  const chain = `${kind.prefix}${process.pid}-${++chainsOpened}`;
  iptables(kind, ['-N', chain]);
  iptables(kind, ['-I', kind.hook, '1', '-j', chain]);
  return chain;
}

/** Removes the chain, its rules and its jump, if it is still there. */
export function closeChain(kind: ChainKind, chain: string): void {
  if (chainsOf(kind).includes(chain)) removeChain(kind, chain);
}
