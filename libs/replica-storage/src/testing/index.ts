export { MemoryReplicaStorage } from './memory-replica-storage';
