// What a command handler returns. Handlers read the state through a
// StateView and never change it; they throw a domain error to reject, and
// describe a change as the events it makes. apply() alone turns changes into
// a new revision, so "every change is exactly one revision, and its events
// carry it" holds in one place, and the state machine's indexed state and a
// watcher's cached topology follow the same events.
import type { TopologyChange } from '../types';

/** A handler's success: the caller's answer, and what it changed unless the command was a no-op or a repeat. */
export interface Outcome<T> {
  readonly value: T;
  /** The changes, each with frozen values; absent when nothing changed. */
  readonly changes?: readonly TopologyChange[];
}
