export * from './mutant-node';
export * from './register-machine';
export * from './sim-coordinator';
export * from './sim-storage';
export * from './simulator';
export * from './manual-group';
