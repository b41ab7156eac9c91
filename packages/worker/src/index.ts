export * from './metrics/index.js';
export * from './http/index.js';
export * from './transcribe/index.js';
