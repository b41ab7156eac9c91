export * from './metrics/index.js';
export * from './http/index.js';
