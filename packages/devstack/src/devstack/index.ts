export * from './startDevstack.js';
export * from './workerEnv.js';
