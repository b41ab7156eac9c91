export * from './fileStore.js';
export * from './keyedMutex.js';
export * from './names.js';
export * from './types.js';
