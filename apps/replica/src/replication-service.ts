// replication.v1.Replication, the primary-to-backup stream. WAL, snapshots
// and catch-up come with the replica issue; until then both methods answer
// UNIMPLEMENTED through the shared wrapper and error table.
import { replicationV1 } from '@bulwark/contracts';
import { notImplemented, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';

export function replicationService(kit: HandlerKit): ServiceBinding {
  const implementation: replicationV1.ReplicationServer = {
    replicate: kit.bidiStream(async () => notImplemented('replication.v1.Replication/Replicate')()),
    fetchSnapshot: kit.serverStream(async () => notImplemented('replication.v1.Replication/FetchSnapshot')()),
    getDurableState: kit.unary(async () => notImplemented('replication.v1.Replication/GetDurableState')()),
  };
  return { definition: replicationV1.ReplicationService, implementation };
}
