// The bounds the state machine enforces. The ring's own bounds (weights,
// virtual nodes, points) are @bulwark/partitioning's, used as they are in
// set-ring.ts: a ring the coordinator accepts must be one every router can build.
import { groupsMax } from '@bulwark/partitioning';

/** Member and group ids: 1 to 64 characters of [a-z0-9-], starting with a letter or digit. */
export const idLengthMax = 64;
/** Longest member address: a DNS name of 253 characters, ':' and a port of 5 digits. */
export const addressLengthMax = 253 + 1 + 5;
/** Members of one replica group (coordinator.v1.CreateGroupRequest: 1 to 7). */
export const groupMembersMax = 7;
/** Registered members: 7 replicas for every group the ring can hold, plus the other services. */
export const topologyMembersMax = 8192;
/** Replica groups: as many as one ring can hold. */
export const topologyGroupsMax = groupsMax;
/** Longest primary lease one renewal grants; a longer one would keep a dead primary's group unwritable longer. */
export const leaseMsMax = 60_000;
/** Events kept for WatchTopology resumption; older revisions are answered with a snapshot. */
export const eventHistoryMax = 10_000;
/** A caller's request_id: 1 to 128 printable ASCII characters without spaces (a UUID is 36). */
export const requestIdLengthMax = 128;
/**
 * Committed requests whose request_id and first outcome are remembered, so a
 * retry is answered instead of applied again; the oldest is forgotten first.
 * At the measured 4,400 commands/s that is over 2 s of history, and far more
 * at the rates members actually change metadata.
 */
export const requestsRememberedMax = 10_000;
/**
 * Bytes the remembered requests may take (estimated from their outcomes,
 * the same way on every replica): a SetRing outcome carries a whole ring of
 * up to ~70 KiB, so a count alone would let the table, and every snapshot,
 * grow to hundreds of MiB. The oldest are forgotten first past either bound.
 */
export const requestsRememberedBytesMax = 8 * 1024 * 1024;
