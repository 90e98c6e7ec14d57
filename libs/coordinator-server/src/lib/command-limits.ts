// The largest Paxos log entry (encoded coordinator.v1 MetadataCommand) any
// request the coordinator accepts can produce, computed from the field
// limits the metadata core enforces. Requests are checked field by field
// before anything is proposed, and an encoded command above this bound is
// refused, so a persist batch holds at most acceptWindow entries of this
// size, and a peer's receive limit can be set from it.
import {
  addressLengthMax,
  groupMembersMax,
  idLengthMax,
  leaseMsMax,
  requestIdLengthMax,
  topologyGroupsMax,
} from '@bulwark/metadata';
import { virtualNodesPerWeightMax, weightMax } from '@bulwark/partitioning';

/** Bytes of a protobuf varint holding `value`. */
function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

// Every field number in MetadataCommand and its messages is below 16: one tag byte.
const tagBytes = 1;
const lengthDelimited = (payloadBytes: number) => tagBytes + varintBytes(payloadBytes) + payloadBytes;
const uint64Field = tagBytes + 10;
const uint32Field = (max: number) => tagBytes + varintBytes(max);
/** MemberRole and ReplicationMode values are below 128. */
const enumField = tagBytes + 1;
const idField = lengthDelimited(idLengthMax);
/** A request fingerprint: SHA-256 as 64 hex digits. */
const fingerprintField = lengthDelimited(64);

const memberBytes = idField + lengthDelimited(addressLengthMax) + enumField + idField;
const createGroupBytes = idField + groupMembersMax * idField + enumField;
const ringGroupBytes = idField + uint32Field(weightMax);
const setRingBytes =
  uint64Field + uint32Field(virtualNodesPerWeightMax) + topologyGroupsMax * lengthDelimited(ringGroupBytes);
const failoverBytes = idField + uint64Field + idField + uint64Field;
const startHandoverBytes = idField + uint64Field + idField;
const deleteGroupBytes = idField + uint64Field;
const deregisterMemberBytes = idField;
const renewPrimaryLeaseBytes = idField + idField + uint64Field + uint32Field(leaseMsMax);
const updateInSyncSetBytes = idField + uint64Field + idField + groupMembersMax * idField;

/** The largest encoded MetadataCommand a valid request produces (about 71 KiB: a SetRing of every group). */
export const commandBytesMax =
  lengthDelimited(requestIdLengthMax) +
  fingerprintField +
  Math.max(
    ...[
      memberBytes,
      deregisterMemberBytes,
      createGroupBytes,
      deleteGroupBytes,
      setRingBytes,
      failoverBytes,
      startHandoverBytes,
      renewPrimaryLeaseBytes,
      updateInSyncSetBytes,
    ].map(lengthDelimited),
  );
