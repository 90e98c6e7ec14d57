export * from './lib/coordinator';
export { commandBytesMax } from './lib/command-limits';
export { peerReceiveBytesMax } from './lib/paxos-transport';
