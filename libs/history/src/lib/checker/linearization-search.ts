import { compareNumbers } from '../compare';
import { absent, illegal, type RegisterState, type TimedTransition } from './register-model';
import type { ExhaustionReason, SearchBudget } from './search-budget';

export type SearchOutcome =
  | { readonly verdict: 'linearizable' | 'not-linearizable' }
  | { readonly verdict: 'undecided'; readonly reason: ExhaustionReason };

/** What one memo entry costs beyond its key's characters (Set slot, string header); an estimate. */
const memoEntryOverheadBytes = 48;
/** Characters per String.fromCharCode call, well under engines' argument limits. */
const charCodeChunk = 4096;

/**
 * Call and return events of one key's operations in time order, as a doubly
 * linked list over array slots (slot 0 is the head, and the list is circular)
 * so an operation can be lifted out and put back in O(1).
 */
class EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** For each slot, the operation whose event it holds. */
  readonly operationAt: Int32Array;
  readonly isCall: Uint8Array;
  /** For each operation, the slot of its return event. */
  private readonly returnSlotOf: Int32Array;

  constructor(operations: readonly TimedTransition[]) {
    const count = operations.length;
    const events = Array.from({ length: 2 * count }, (_, index) => index);
    const time = (event: number) => {
      const operation = operations[event >> 1] as TimedTransition;
      return event & 1 ? operation.returnMs : operation.callMs;
    };
    // At equal times calls come first: an operation invoked exactly when
    // another returned counts as concurrent with it, as in Porcupine.
    events.sort((a, b) => compareNumbers(time(a), time(b)) || (a & 1) - (b & 1) || a - b);
    const slots = 2 * count + 1;
    this.next = new Int32Array(slots);
    this.prev = new Int32Array(slots);
    this.operationAt = new Int32Array(slots);
    this.isCall = new Uint8Array(slots);
    this.returnSlotOf = new Int32Array(count);
    events.forEach((event, index) => {
      const slot = index + 1;
      this.operationAt[slot] = event >> 1;
      this.isCall[slot] = event & 1 ? 0 : 1;
      if (event & 1) this.returnSlotOf[event >> 1] = slot;
      this.next[slot] = (slot + 1) % slots;
      this.prev[slot] = slot - 1;
    });
    this.next[0] = slots > 1 ? 1 : 0;
    this.prev[0] = slots - 1;
  }

  /** Takes an operation's call (at `callSlot`) and its return out of the list. */
  lift(callSlot: number): void {
    this.unlink(callSlot);
    this.unlink(this.returnSlotOf[this.operationAt[callSlot] as number] as number);
  }

  /** Undoes the latest lift, which must be of `callSlot` (relinks in reverse order). */
  unlift(callSlot: number): void {
    this.relink(this.returnSlotOf[this.operationAt[callSlot] as number] as number);
    this.relink(callSlot);
  }

  private unlink(slot: number): void {
    const { next, prev } = this;
    next[prev[slot] as number] = next[slot] as number;
    prev[next[slot] as number] = prev[slot] as number;
  }

  private relink(slot: number): void {
    this.next[this.prev[slot] as number] = slot;
    this.prev[this.next[slot] as number] = slot;
  }
}

/** The set of linearized operations, one bit each, readable as a memo key. */
class OperationSet {
  private readonly words: Uint16Array;

  constructor(count: number) {
    this.words = new Uint16Array(Math.ceil(count / 16));
  }

  add(operation: number): void {
    const word = operation >> 4;
    this.words[word] = (this.words[word] as number) | (1 << (operation & 15));
  }

  delete(operation: number): void {
    const word = operation >> 4;
    this.words[word] = (this.words[word] as number) & ~(1 << (operation & 15));
  }

  /** A string unique to (this set, state): two chars for the state, one per 16 operations. */
  keyWith(state: RegisterState): string {
    let key = String.fromCharCode(state & 0xffff, state >>> 16);
    for (let start = 0; start < this.words.length; start += charCodeChunk) {
      key += String.fromCharCode(...this.words.subarray(start, start + charCodeChunk));
    }
    return key;
  }
}

/**
 * Wing & Gong's search with Lowe's memoisation, as in Porcupine: walk the
 * events in time order; at a call, try to linearize that operation now (if
 * the model allows it and this (linearized set, state) was never explored)
 * and restart from the first pending event; at a return of an operation not
 * yet linearized, undo the latest choice. The history is linearizable when
 * every operation has been linearized, or when the walk reaches the return of
 * an operation with an unknown outcome: returns at +Infinity sort last, so by
 * then every known operation is linearized and the unknown ones left may
 * never have taken effect.
 *
 * Memory: the list and stack are O(n); the memo is bounded by
 * budget.memoBytesMax.
 */
export function searchLinearization(operations: readonly TimedTransition[], budget: SearchBudget): SearchOutcome {
  const events = new EventList(operations);
  const { next, operationAt, isCall } = events;
  const linearized = new OperationSet(operations.length);
  const memo = new Set<string>();
  let memoBytes = 0;
  // The choices made so far: which call was lifted, and the state before it.
  const chosenCalls = new Int32Array(operations.length);
  const statesBefore = new Int32Array(operations.length);
  let depth = 0;
  let state = absent;
  let slot = next[0] as number;

  while (slot !== 0) {
    const exhausted = budget.spendStep();
    if (exhausted !== null) return { verdict: 'undecided', reason: exhausted };
    const operationIndex = operationAt[slot] as number;
    const operation = operations[operationIndex] as TimedTransition;
    if (isCall[slot]) {
      const after = operation.apply(state);
      if (after !== illegal) {
        linearized.add(operationIndex);
        const key = linearized.keyWith(after);
        if (!memo.has(key)) {
          memoBytes += 2 * key.length + memoEntryOverheadBytes;
          if (memoBytes > budget.memoBytesMax) {
            budget.exhaustMemo();
            return { verdict: 'undecided', reason: 'memo-bytes' };
          }
          memo.add(key);
          chosenCalls[depth] = slot;
          statesBefore[depth] = state;
          depth += 1;
          state = after;
          events.lift(slot);
          slot = next[0] as number;
          continue;
        }
        linearized.delete(operationIndex);
      }
      slot = next[slot] as number;
    } else {
      if (operation.returnMs === Infinity) return { verdict: 'linearizable' };
      if (depth === 0) return { verdict: 'not-linearizable' };
      depth -= 1;
      slot = chosenCalls[depth] as number;
      state = statesBefore[depth] as number;
      linearized.delete(operationAt[slot] as number);
      events.unlift(slot);
      slot = next[slot] as number;
    }
  }
  return { verdict: 'linearizable' };
}
