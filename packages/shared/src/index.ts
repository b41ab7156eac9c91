export * from './errors/index.js';
export * from './result/index.js';
export * from './audio/index.js';
export * from './sis/index.js';
export * from './storage/index.js';
export * from './speech/index.js';
