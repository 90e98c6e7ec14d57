export * from './browser';
export * from './event-stream-reader';
export * from './manual-source';
export * from './sample-snapshot';
