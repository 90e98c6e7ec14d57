// The bounds the state machine enforces. The ring's own bounds (weights,
// virtual nodes, points) are @bulwark/partitioning's, used as they are in
// set-ring.ts: a ring the coordinator accepts must be one every router can build.
import { groupsMax } from '@bulwark/partitioning';

/** Member and group ids: 1 to 64 characters of [a-z0-9-], starting with a letter or digit. */
export const idLengthMax = 64;
/** Members of one replica group (coordinator.v1.CreateGroupRequest: 1 to 7). */
export const groupMembersMax = 7;
/** Registered members: 7 replicas for every group the ring can hold, plus the other services. */
export const topologyMembersMax = 8192;
/** Replica groups: as many as one ring can hold. */
export const topologyGroupsMax = groupsMax;
/** Longest primary lease one renewal grants; a longer one would keep a dead primary's group unwritable longer. */
export const leaseMsMax = 60_000;
/** Largest clock-drift margin a failover may add to the old lease; as long as the longest lease. */
export const leaseDriftMsMax = 60_000n;
/**
 * Latest clock value a command may carry: the last instant a JavaScript Date
 * can hold. With the two bounds above it keeps every sum below 2^64, so an
 * expiry always fits the proto's uint64.
 */
export const unixMsMax = 8_640_000_000_000_000n;
/** Events kept for WatchTopology resumption; older revisions are answered with a snapshot. */
export const eventHistoryMax = 10_000;
