// coordinator.v1.Coordinator and paxos.v1.Paxos. Multi-Paxos and the
// metadata state machine come with the coordinator issue; until then every
// method answers UNIMPLEMENTED through the shared wrapper and error table.
import { coordinatorV1, paxosV1 } from '@bulwark/contracts';
import { UnimplementedError } from '@bulwark/errors';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';

export function coordinatorService(kit: HandlerKit): ServiceBinding {
  const notYet = (method: string) => () => {
    throw new UnimplementedError(`coordinator.v1.Coordinator/${method}`);
  };
  const implementation: coordinatorV1.CoordinatorServer = {
    getLeader: kit.unary(notYet('GetLeader')),
    getTopology: kit.unary(notYet('GetTopology')),
    watchTopology: kit.serverStream(async () => notYet('WatchTopology')()),
    registerMember: kit.unary(notYet('RegisterMember')),
    reportSuspect: kit.unary(notYet('ReportSuspect')),
    failover: kit.unary(notYet('Failover')),
    createGroup: kit.unary(notYet('CreateGroup')),
    deleteGroup: kit.unary(notYet('DeleteGroup')),
    setRing: kit.unary(notYet('SetRing')),
    renewPrimaryLease: kit.unary(notYet('RenewPrimaryLease')),
    updateInSyncSet: kit.unary(notYet('UpdateInSyncSet')),
  };
  return { definition: coordinatorV1.CoordinatorService, implementation };
}

export function paxosService(kit: HandlerKit): ServiceBinding {
  const implementation: paxosV1.PaxosServer = {
    exchange: kit.bidiStream(async () => {
      throw new UnimplementedError('paxos.v1.Paxos/Exchange');
    }),
  };
  return { definition: paxosV1.PaxosService, implementation };
}
