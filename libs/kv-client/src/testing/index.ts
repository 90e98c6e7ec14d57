export { KvFleet, kvFleetGroupId, type KvFleetMember } from './kv-fleet';
export { ScriptedRouter, type KvMethodName, type ReceivedCall } from './scripted-router';
