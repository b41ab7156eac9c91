export * from './audio/index.js';
export * from './sis/index.js';
export * from './local/index.js';
export * from './transcribe/index.js';
